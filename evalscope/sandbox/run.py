"""Running one program: :func:`run_python` (either backend), :class:`SandboxPool`, :func:`check_available`.

The caller's side of a run: spawn (bwrap, or the plain subprocess of the unsafe backend) in a
session of its own, feed stdin, read stdout and stderr up to ``output_bytes`` together, kill the
whole session at the wall-clock limit or the output bound, then say which limit the program hit.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import tempfile
import time
from dataclasses import dataclass, field

from evalscope._cpus import usable_cpus
from evalscope.sandbox import bwrap as bw
from evalscope.sandbox.models import BACKENDS, UNSAFE, LimitName, Limits, RunResult, SandboxError

log = logging.getLogger("evalscope.sandbox")

#: how long pipes may stay open after the program ended or was killed (a daemon of the unsafe backend)
DRAIN_S = 2.0
CHUNK = 65536
UNSAFE_WARNING = (
    "SANDBOX DISABLED: backend 'unsafe_no_isolation' runs model-written code as a plain subprocess of "
    "this user, with rlimits only: it can read and write this user's files, use the network and leave "
    "processes behind. Use it only for trusted code on a throw-away machine."
)
# How a Python program reports the limits it ran into (the last lines of its stderr).
_MEMORY_MARKS = ("MemoryError", "Cannot allocate memory", "[Errno 12]", "std::bad_alloc")
_PROCESS_MARKS = ("Resource temporarily unavailable", "[Errno 11]", "can't start new thread")
_FSIZE_MARKS = ("File too large", "[Errno 27]")


def check_available(backend: str = "bwrap") -> None:
    """Raise SandboxUnavailable (what to install, how to opt out) unless ``backend`` can run here now.

    Call it before a run asks the model anything.  ``bwrap`` is probed once per process by running a
    tiny program in a real sandbox; the unsafe backend is always available (and says so loudly).
    """
    _check_backend(backend)
    if backend == UNSAFE:
        log.warning(UNSAFE_WARNING)
        return
    bw.probe(bw.find_bwrap(), bw.sandbox_python())


def _check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ValueError(f"sandbox backend: {backend!r} is not one of {', '.join(BACKENDS)}")


async def run_python(
    code: str, *, stdin: str = "", limits: Limits | None = None, backend: str = "bwrap"
) -> RunResult:
    """Run ``code`` as ``main.py`` in a fresh sandbox with ``stdin``; never raises for what the program
    does.  SandboxUnavailable when bwrap cannot run here, SandboxError when the sandbox itself failed."""
    _check_backend(backend)
    limits = limits or Limits()
    if backend == UNSAFE:
        log.warning(UNSAFE_WARNING)
        return await _run_unsafe(code, stdin, limits)
    binary = bw.find_bwrap()
    python = bw.sandbox_python()
    await asyncio.to_thread(bw.probe, binary, python)  # cached after the first run
    return await _run_bwrap(binary, python, code, stdin, limits)


class SandboxPool:
    """Runs many programs at once, at most ``size`` (default: the usable CPUs) at a time."""

    def __init__(self, size: int | None = None, *, backend: str = "bwrap", limits: Limits | None = None):
        _check_backend(backend)
        self.size = max(1, size or usable_cpus())
        self.backend = backend
        self.limits = limits or Limits()
        self._slots = asyncio.Semaphore(self.size)

    async def run_python(
        self, code: str, *, stdin: str = "", limits: Limits | None = None, backend: str | None = None
    ) -> RunResult:
        """:func:`run_python` once a slot is free (the pool's backend and limits unless given)."""
        async with self._slots:
            return await run_python(
                code, stdin=stdin, limits=limits or self.limits, backend=backend or self.backend
            )


@dataclass
class _Capture:
    limit: int
    out: bytearray = field(default_factory=bytearray)
    err: bytearray = field(default_factory=bytearray)
    total: int = 0
    over: asyncio.Event = field(default_factory=asyncio.Event)

    async def pump(self, stream: asyncio.StreamReader | None, into: bytearray) -> None:
        if stream is None:
            return
        while chunk := await stream.read(CHUNK):
            room = self.limit - len(self.out) - len(self.err)
            into += chunk[: max(0, room)]
            self.total += len(chunk)
            if self.total > self.limit:
                self.over.set()  # keep reading, discarding: a pipe left full never reaches its end


async def _feed(pipe: asyncio.StreamWriter | None, data: bytes) -> None:
    if pipe is None:
        return
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        if data:
            pipe.write(data)
            await pipe.drain()
        pipe.close()
        await pipe.wait_closed()


def _kill(proc: asyncio.subprocess.Process) -> None:
    # The run is a session (and process group) of its own: the whole group goes.  Under bwrap killing
    # bwrap ends the sandbox's PID namespace, every process in it included.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        proc.kill()


async def _supervise(
    proc: asyncio.subprocess.Process, stdin: str, limits: Limits, started: float
) -> tuple[_Capture, LimitName | None]:
    """Wait for the end, the wall clock or the output bound, whichever comes first."""
    cap = _Capture(limits.output_bytes)
    pumps = [
        asyncio.create_task(cap.pump(proc.stdout, cap.out)),
        asyncio.create_task(cap.pump(proc.stderr, cap.err)),
    ]
    feeder = asyncio.create_task(_feed(proc.stdin, stdin.encode("utf-8", "surrogateescape")))
    ended = asyncio.create_task(proc.wait())
    over = asyncio.create_task(cap.over.wait())
    hit: LimitName | None = None
    try:
        left = max(0.0, started + limits.wall_s - time.monotonic())
        done, _ = await asyncio.wait({ended, over}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
        if over in done:
            hit = "output"
        elif ended not in done:
            hit = "time"
        if hit is None:  # ended: take what is still in the pipes, within the wall clock
            left = max(0.0, started + limits.wall_s - time.monotonic())
            await asyncio.wait(pumps, timeout=min(left, DRAIN_S) or 0.01)
            if cap.total > limits.output_bytes:
                hit = "output"
    finally:
        _kill(proc)  # also ends what a program of the unsafe backend left behind in its group
        done, _ = await asyncio.wait({ended}, timeout=DRAIN_S)
        if not done:
            # asyncio's wait() ends only once the pipes close: a process of the unsafe backend that left
            # the group (setsid) may hold them open; close our ends, the kill already happened
            transport = getattr(proc, "_transport", None)
            if transport is not None:
                transport.close()
            await asyncio.wait({ended}, timeout=DRAIN_S)
        await asyncio.wait(pumps, timeout=DRAIN_S)
        for task in (*pumps, feeder, over, ended):
            task.cancel()
        await asyncio.gather(*pumps, feeder, over, ended, return_exceptions=True)
    return cap, hit


def _classify(
    code: int | None, signum: int | None, stderr: str, duration: float, limits: Limits
) -> LimitName | None:
    """Which limit an ended program hit, from how it ended and what it said last."""
    if signum == signal.SIGXCPU or (signum == signal.SIGKILL and duration >= limits.cpu_s):
        return "cpu"  # SIGXCPU at the soft limit; SIGKILL at the hard one when SIGXCPU was caught
    if signum == signal.SIGXFSZ:
        return "file_size"
    if code == 0 or (code is None and signum is None):
        return None
    tail = stderr[-4000:]
    for name, marks in (
        ("memory", _MEMORY_MARKS),
        ("processes", _PROCESS_MARKS),
        ("file_size", _FSIZE_MARKS),
    ):
        if any(mark in tail for mark in marks):
            return name  # type: ignore[return-value]
    return None


def _result(
    returncode: int | None,
    cap: _Capture,
    hit: LimitName | None,
    limits: Limits,
    started: float,
    backend: str,
    *,
    shell_signals: bool,
) -> RunResult:
    duration = time.monotonic() - started
    stdout = cap.out.decode("utf-8", "replace")
    stderr = cap.err.decode("utf-8", "replace")
    signum: int | None = None
    code = returncode
    if hit is not None:
        code = None
    elif code is not None and code < 0:
        signum, code = -code, None
    elif shell_signals and code is not None and 128 < code < 128 + 65:
        # bwrap reports a program killed by signal n as exit status 128 + n
        signum, code = code - 128, None
    limit = hit or _classify(code, signum, stderr, duration, limits)
    return RunResult(
        stdout=stdout,
        stderr=stderr,
        exit_code=code,
        limit=limit,
        duration_s=round(duration, 4),
        signal=signum,
        backend=backend,
    )


def _launch_failure(status: bytes, stderr: bytearray, returncode: int | None) -> str | None:
    """Why the sandbox failed before the program started, or None when the program did start."""
    if status == bw.STARTED:
        return None
    if bw.FAILED in status[:2]:
        return f"the sandbox's launcher failed: {status.split(bw.FAILED, 1)[1].decode('utf-8', 'replace')}"
    said = stderr.decode("utf-8", "replace").strip().splitlines()
    return f"the sandbox did not start (exit status {returncode}): {said[-1] if said else 'no message'}"


def _read_status(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = []
    with contextlib.suppress(BlockingIOError):
        while chunk := os.read(fd, 4096):
            chunks.append(chunk)
    return b"".join(chunks)


async def _run_bwrap(binary: str, python: str, code: str, stdin: str, limits: Limits) -> RunResult:
    code_fd = os.memfd_create("main.py")
    status_r, status_w = os.pipe()
    try:
        os.write(code_fd, code.encode("utf-8", "surrogateescape"))
        os.lseek(code_fd, 0, os.SEEK_SET)
        argv = bw.bwrap_argv(binary, python, limits, code_fd=code_fd, status_fd=status_w, uid=bw.run_uid())
        started = time.monotonic()
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                pass_fds=(code_fd, status_w),
                start_new_session=True,
                env={"PATH": "/usr/bin:/bin"},  # bwrap is an absolute path; --clearenv inside
            )
        except OSError as exc:
            raise SandboxError(f"could not start bubblewrap ({binary}): {exc}") from exc
        os.close(status_w)
        status_w = -1
        cap, hit = await _supervise(proc, stdin, limits, started)
        status = _read_status(status_r)
        if hit is None:
            problem = _launch_failure(status, cap.err, proc.returncode)
            if problem is not None:
                raise SandboxError(problem)
        return _result(proc.returncode, cap, hit, limits, started, "bwrap", shell_signals=True)
    finally:
        for fd in (code_fd, status_r, status_w):
            if fd >= 0:
                os.close(fd)


async def _run_unsafe(code: str, stdin: str, limits: Limits) -> RunResult:
    python = bw.sandbox_python()
    status_r, status_w = os.pipe()
    try:
        with tempfile.TemporaryDirectory(prefix="evalscope-unsafe-") as work:
            with open(os.path.join(work, "main.py"), "w", encoding="utf-8", errors="surrogateescape") as f:
                f.write(code)
            # RLIMIT_NPROC is left out: it would count every process of this user (and root ignores it)
            launcher = bw.launcher_args([python, "-s", "main.py"], limits, None, nproc=False)
            started = time.monotonic()
            try:
                proc = await asyncio.create_subprocess_exec(
                    python,
                    "-I",
                    "-S",
                    "-c",
                    bw.LAUNCHER,
                    launcher,
                    str(status_w),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    pass_fds=(status_w,),
                    start_new_session=True,
                    cwd=work,
                    env={
                        "PATH": "/usr/local/bin:/usr/bin:/bin",
                        "HOME": work,
                        "TMPDIR": work,
                        "LANG": "C.UTF-8",
                        "PYTHONDONTWRITEBYTECODE": "1",
                    },
                )
            except OSError as exc:
                raise SandboxError(f"could not start {python}: {exc}") from exc
            os.close(status_w)
            status_w = -1
            cap, hit = await _supervise(proc, stdin, limits, started)
            status = _read_status(status_r)
            if hit is None:
                problem = _launch_failure(status, cap.err, proc.returncode)
                if problem is not None:
                    raise SandboxError(problem)
            return _result(proc.returncode, cap, hit, limits, started, UNSAFE, shell_signals=False)
    finally:
        for fd in (status_r, status_w):
            if fd >= 0:
                os.close(fd)
