"""``MockServer``: run the mock in a background thread or a child process, on a free port."""

from __future__ import annotations

import asyncio
import json
import select
import subprocess
import sys
import threading
import urllib.request
from typing import Any, Literal

from aiohttp import web

from evalscope.mock.app import create_app
from evalscope.mock.config import MockConfig

_SHUTDOWN_TIMEOUT = 1.0  # seconds open streams get at stop(); mock replies are disposable


async def start_site(cfg: MockConfig, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Start serving ``cfg`` on ``host:port`` in the running loop; returns the runner and real port."""
    runner = web.AppRunner(create_app(cfg), access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT)
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, bound


def install_uvloop() -> bool:
    """Use uvloop for new event loops when it is installed (``evalscope[perf]``); True if it is."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def child_main() -> None:
    """Entry point of a process-mode server (``python -m evalscope.mock``).

    Reads ``{"cfg": ..., "host": ..., "port": ..., "uvloop": ...}`` as one JSON line on stdin,
    prints the bound port on stdout, and serves until stdin closes (the parent stopping, or dying).
    """
    spec = json.loads(sys.stdin.readline())
    if spec.get("uvloop"):
        install_uvloop()
    cfg = MockConfig.model_validate(spec["cfg"])

    async def main() -> None:
        try:
            runner, bound = await start_site(cfg, spec["host"], spec["port"])
        except OSError as exc:
            print(f"error {exc}", flush=True)
            return
        print(f"port {bound}", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        await runner.cleanup()

    asyncio.run(main())


class MockServer:
    """The mock model server as a context manager.

    ``mode="thread"`` serves from a background thread of this process (cheap; for unit tests).
    ``mode="process"`` serves from a child process, so it does not share the caller's GIL (for perf
    tests and benchmarks); it uses uvloop when installed unless ``uvloop=False``.
    """

    def __init__(
        self,
        cfg: MockConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        mode: Literal["thread", "process"] = "thread",
        uvloop: bool | None = None,
    ) -> None:
        if mode not in ("thread", "process"):
            raise ValueError(f"mode: must be 'thread' or 'process', not {mode!r}")
        self.cfg = cfg if cfg is not None else MockConfig()
        self.host = host
        self.port = port
        self.mode = mode
        self.uvloop = (mode == "process") if uvloop is None else uvloop
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        """Base URL without a trailing slash and without ``/v1``, e.g. ``http://127.0.0.1:8801``."""
        if not self.port:
            raise RuntimeError("the mock server is not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> MockServer:
        """Start serving; returns once the port accepts connections."""
        if self._thread is not None or self._proc is not None:
            raise RuntimeError("the mock server is already started")
        if self.mode == "thread":
            self._start_thread()
        else:
            self._start_process()
        return self

    def _start_thread(self) -> None:
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                self._runner, self.port = loop.run_until_complete(start_site(self.cfg, self.host, self.port))
            except BaseException as exc:  # reported to the caller of start()
                failure.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup())
            loop.close()

        self._thread = threading.Thread(target=run, name="evalscope-mock", daemon=True)
        self._thread.start()
        ready.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]

    def _start_process(self) -> None:
        # a plain subprocess rather than multiprocessing: "spawn" would re-import the caller's
        # __main__, which breaks scripts without an `if __name__ == "__main__"` guard
        payload = self.cfg.model_dump(mode="json")
        if self.cfg.api_key is not None:  # the secret travels over the pipe, never to disk
            payload["api_key"] = self.cfg.api_key.get_secret_value()
        payload["required_headers"] = {k: v.get_secret_value() for k, v in self.cfg.required_headers.items()}
        spec = {"cfg": payload, "host": self.host, "port": self.port, "uvloop": self.uvloop}
        proc = subprocess.Popen(
            [sys.executable, "-m", "evalscope.mock"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(spec) + "\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline().strip() if ready else ""
        if not line.startswith("port "):
            proc.kill()
            proc.wait()
            reason = line.removeprefix("error ") or "it did not start within 60 s"
            raise OSError(f"mock server could not listen on {self.host}:{self.port}: {reason}")
        self.port = int(line.split()[1])
        self._proc = proc

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        if self._thread is not None:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
            self._thread = None
        if self._proc is not None:
            proc, self._proc = self._proc, None
            if proc.stdin is not None:  # closing it is the child's signal to stop
                proc.stdin.close()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _call(self, method: str, path: str) -> dict[str, Any]:
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        """The server's counters (``GET /mock/stats``)."""
        return self._call("GET", "/mock/stats")

    def reset_stats(self) -> None:
        """Zero the counters, scripted failure counts and timings (``POST /mock/reset``)."""
        self._call("POST", "/mock/reset")

    def requests(self) -> list[dict[str, Any]]:
        """What each request carried and what it was answered, in arrival order (``GET /mock/requests``;
        needs ``record_requests``): ``{"path", "messages", "reply"}`` per request."""
        return self._call("GET", "/mock/requests")["requests"]

    def timings(self) -> dict[str, Any]:
        """Per-request server timestamps (``GET /mock/timings``; needs ``record_timings``)."""
        return self._call("GET", "/mock/timings")["requests"]
