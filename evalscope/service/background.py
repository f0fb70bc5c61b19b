"""Serve the app in a background thread of the calling process: for notebooks, scripts and tests.

Like ``MockServer(mode="thread")``: ``with BackgroundService(work_dir=...) as svc: svc.url``.
"""

from __future__ import annotations

import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class BackgroundService:
    """``create_app(**settings)`` under uvicorn in a daemon thread; ``.url`` once entered.

    ``port=0`` picks a free port. Entering waits until ``/health`` answers (or raises after
    ``start_timeout`` seconds); leaving asks uvicorn to exit and joins the thread.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        start_timeout: float = 60.0,
        stop_timeout: float = 20.0,
        **settings: Any,
    ) -> None:
        import uvicorn

        from evalscope.service import create_app

        self.settings = settings
        self.app = create_app(**settings)
        self.port = port or free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.start_timeout, self.stop_timeout = start_timeout, stop_timeout
        self.server = uvicorn.Server(uvicorn.Config(self.app, host=host, port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, name="evalscope-service", daemon=True)

    def start(self) -> BackgroundService:
        """Start serving and wait until ``/health`` answers."""
        self.thread.start()
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if not self.thread.is_alive():
                raise RuntimeError(f"service on port {self.port} exited during start-up")
            try:
                with urllib.request.urlopen(self.url + "/health", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError(
            f"service on port {self.port} did not answer /health within {self.start_timeout:g} s"
        )

    def stop(self) -> None:
        """Ask uvicorn to exit (the app's shutdown stops its workers) and wait for the thread."""
        self.server.should_exit = True
        self.thread.join(timeout=self.stop_timeout)

    def __enter__(self) -> BackgroundService:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
