"""The bubblewrap command line of one run, the launcher inside it, and the "can bwrap run here?" probe.

Layout of the sandbox (nothing of the host is visible unless listed here):

- ``/usr`` and the ``/bin``, ``/sbin``, ``/lib*`` links or folders, read-only; of ``/etc`` only the
  dynamic loader's cache and config, the time zone and ``alternatives``; the interpreter's own prefix
  read-only when it lives outside ``/usr`` (a pyenv under ``/root``: only that prefix, not ``/root``);
- ``/sandbox``: the work folder and cwd, a private tmpfs of ``disk_mb`` holding ``main.py``;
  ``/tmp`` links to it (one size bound for both);
- a fresh ``/proc`` (the program's own PID namespace) and a minimal ``/dev``;
- new PID, network (loopback only, down), IPC, UTS and cgroup namespaces; a new session (no
  TIOCSTI into the caller's terminal); killed with its parent; an empty environment.

Process count: as root RLIMIT_NPROC is not enforced, so bwrap keeps CAP_SETUID/CAP_SETGID and the
launcher drops to a uid of its own for this run (random in a range no real account uses) before
setting foot in the program: the kernel then counts that uid's processes, which are this run's
only.  As another user bwrap makes a user namespace, in which RLIMIT_NPROC counts the namespace's
processes only (Linux >= 5.14 counts rlimits per user namespace), again this run's only.

The launcher is trusted code run by the sandbox's interpreter: it sets the rlimits, drops the uid,
says "started" on a status pipe (closed on exec) and execs the program.  A failure before the exec
is written to that pipe, so a sandbox failure is never mistaken for the program's.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from evalscope.sandbox.models import Limits, SandboxUnavailable
from evalscope.settings import settings

WORK = "/sandbox"
#: uids a root-run sandbox may take: far above any account or container id range
UID_RANGE = (1 << 30, (1 << 31) - 2)
#: what to tell the user when bwrap cannot be used
INSTALL_HINT = (
    "install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap) "
    "or set EVALSCOPE_BWRAP to its path; to run the code WITHOUT isolation (unsafe, for a trusted "
    "model on a throw-away machine only) choose the sandbox backend 'unsafe_no_isolation'"
)
STARTED = b"S"
FAILED = b"E"

# Runs as ``python -I -S -c LAUNCHER <json> <status fd>``: the program's first ancestor inside the sandbox.
LAUNCHER = r"""
import json, os, resource, sys
fd = int(sys.argv[2])
try:
    a = json.loads(sys.argv[1])
    for name, soft, hard in a["rlimits"]:
        resource.setrlimit(getattr(resource, name), (soft, hard))
    if a["uid"] is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(a["uid"], a["uid"], a["uid"])
        os.setresuid(a["uid"], a["uid"], a["uid"])
    os.write(fd, b"S")
    os.set_inheritable(fd, False)
    os.execv(a["argv"][0], a["argv"])
except BaseException as exc:
    os.write(fd, b"E" + repr(exc).encode()[:2000])
    os._exit(125)
"""


def rlimits(limits: Limits, *, nproc: bool = True) -> list[tuple[str, int, int]]:
    """(resource name, soft, hard) of each limit the launcher sets."""
    cpu = max(1, int(limits.cpu_s + 0.999))
    memory = limits.memory_mb << 20
    fsize = limits.file_size_mb << 20
    out = [
        ("RLIMIT_CPU", cpu, cpu + 1),  # SIGXCPU at the soft limit, SIGKILL at the hard one
        ("RLIMIT_AS", memory, memory),
        ("RLIMIT_FSIZE", fsize, fsize),
        ("RLIMIT_CORE", 0, 0),
    ]
    if nproc:
        out.append(("RLIMIT_NPROC", limits.processes, limits.processes))
    return out


def launcher_args(argv: list[str], limits: Limits, uid: int | None, *, nproc: bool = True) -> str:
    """The launcher's first argument."""
    return json.dumps({"rlimits": rlimits(limits, nproc=nproc), "uid": uid, "argv": argv})


def sandbox_python() -> str:
    """The interpreter that runs sandboxed code: ``EVALSCOPE_SANDBOX_PYTHON`` or this process's base one."""
    chosen = settings().sandbox_python
    return os.path.realpath(chosen or sys.executable)


def python_prefix(python: str) -> str:
    """The folder to expose for ``python``: this process's base prefix when it is that interpreter, else
    the folder above its ``bin/``."""
    base = os.path.realpath(sys.base_prefix)
    if python.startswith(base + os.sep):
        return base
    return str(Path(python).parent.parent)


def find_bwrap() -> str:
    """The bwrap binary's path, or SandboxUnavailable saying what to install."""
    name = settings().bwrap
    found = shutil.which(name)
    if found is None:
        raise SandboxUnavailable(
            f"the code sandbox needs bubblewrap, and {name!r} was not found: {INSTALL_HINT}"
        )
    return found


def _root_mounts() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    args += ["--perms", "0755", "--dir", "/etc"]  # bwrap would make it 0700: closed to the run's uid
    for etc in (
        "/etc/ld.so.cache",
        "/etc/ld.so.conf",
        "/etc/ld.so.conf.d",
        "/etc/localtime",
        "/etc/alternatives",
    ):
        args += ["--ro-bind-try", etc, etc]
    return args


def _prefix_mounts(prefix: str) -> list[str]:
    """Bind the interpreter's prefix when /usr does not hold it, creating its parents world-readable
    (bwrap would make them 0700, which the dropped uid cannot cross)."""
    if prefix == "/usr" or prefix.startswith("/usr/"):
        return []
    args: list[str] = []
    for parent in reversed(Path(prefix).parents):
        if str(parent) != "/":
            args += ["--perms", "0755", "--dir", str(parent)]
    return args + ["--ro-bind", prefix, prefix]


def bwrap_argv(
    bwrap: str, python: str, limits: Limits, *, code_fd: int, status_fd: int, uid: int | None
) -> list[str]:
    """The whole command line of one run: bwrap's options, then the launcher."""
    as_root = uid is not None
    args = [bwrap, *_root_mounts(), *_prefix_mounts(python_prefix(python))]
    args += ["--proc", "/proc", "--dev", "/dev"]
    args += ["--perms", "1777", "--size", str(limits.disk_mb << 20), "--tmpfs", WORK]
    args += ["--symlink", WORK, "/tmp"]
    args += ["--perms", "0644", "--file", str(code_fd), f"{WORK}/main.py", "--chdir", WORK]
    args += ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try"]
    # As root the launcher needs these two to drop to the run's uid (gone at that setresuid); as any
    # other user bwrap is unprivileged and makes a user namespace.
    args += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"] if as_root else ["--unshare-user"]
    args += ["--hostname", "sandbox", "--die-with-parent", "--new-session", "--clearenv"]
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": WORK,
        "TMPDIR": "/tmp",
        "LANG": "C.UTF-8",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    for key, value in env.items():
        args += ["--setenv", key, value]
    program = [python, "-s", "main.py"]
    launcher = launcher_args(program, limits, uid)
    return [*args, "--", python, "-I", "-S", "-c", LAUNCHER, launcher, str(status_fd)]


def run_uid() -> int | None:
    """A fresh uid for one run when this process is root (None otherwise: bwrap makes a user namespace)."""
    if os.geteuid() != 0:
        return None
    low, high = UID_RANGE
    return low + secrets.randbelow(high - low)


_probed: dict[tuple[str, str], str | None] = {}
_probe_lock = threading.Lock()


def probe(bwrap: str, python: str) -> None:
    """Run ``print(6 * 7)`` in the sandbox once per (bwrap, python) in this process; SandboxUnavailable
    with bwrap's own words when it cannot (user namespaces disabled, no /proc mount allowed, ...)."""
    key = (bwrap, python)
    with _probe_lock:
        if key not in _probed:
            _probed[key] = _probe_once(bwrap, python)
        problem = _probed[key]
    if problem is not None:
        raise SandboxUnavailable(problem)


def _probe_once(bwrap: str, python: str) -> str | None:
    code_r = os.memfd_create("main.py")
    status_r, status_w = os.pipe()
    try:
        os.write(code_r, b"print(6 * 7)\n")
        os.lseek(code_r, 0, os.SEEK_SET)
        argv = bwrap_argv(bwrap, python, Limits(), code_fd=code_r, status_fd=status_w, uid=run_uid())
        try:
            done = subprocess.run(
                argv, pass_fds=(code_r, status_w), capture_output=True, timeout=60, start_new_session=True
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"bubblewrap ({bwrap}) could not start a sandbox: {exc}; {INSTALL_HINT}"
        if done.returncode == 0 and done.stdout.strip() == b"42":
            return None
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        why = said[-1] if said else f"exit status {done.returncode}"
        return (
            f"bubblewrap ({bwrap}) cannot make a sandbox on this machine: {why} (user namespaces "
            f"disabled? in a container, allow them or run bwrap on the host); {INSTALL_HINT}"
        )
    finally:
        for fd in (code_r, status_r, status_w):
            os.close(fd)
