"""`evalscope service`: the seed's HTTP API (FastAPI) over the job system.

``create_app(settings)`` builds the app; ``run_service(host, port, debug, **settings)`` serves it.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from evalscope.service.settings import ServiceSettings

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def create_app(settings: ServiceSettings | None = None, **overrides: Any) -> Any:
    """Build the FastAPI app (see :func:`evalscope.service.app.create_app`)."""
    from evalscope.service.app import create_app as _create

    return _create(settings, **overrides)


def run_service(
    host: str | None = None, port: int | None = None, debug: bool | None = None, **settings: Any
) -> None:
    """Serve the API until interrupted.  ``settings`` are :class:`ServiceSettings` fields
    (``work_dir``, ``max_concurrent_jobs``, ``database_url``, ``auth_token``, ``cors_origins``, ...);
    one not given (``host``, ``port`` and ``debug`` included) comes from ``$EVALSCOPE_<FIELD>``, else
    its default (0.0.0.0, 9000, off).

    Safe at a script's top level without an ``if __name__ == "__main__":`` guard: the service's own
    workers never re-import the script, and any other multiprocessing child that re-imports it
    (spawn or forkserver start methods) returns from here at once instead of serving a second time."""
    import multiprocessing

    # multiprocessing sets this while a child process re-imports the parent's main script.
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        return
    import uvicorn

    given: dict[str, Any] = {
        k: v for k, v in (("host", host), ("port", port), ("debug", debug)) if v is not None
    }
    cfg = ServiceSettings(**given, **settings)
    if cfg.dataset_dir is not None:
        # The engines (in worker processes started later, which inherit it) look for local copies of
        # benchmark data in $EVALSCOPE_DATASET_DIR: the flag means exactly that for this process.
        os.environ["EVALSCOPE_DATASET_DIR"] = str(Path(cfg.dataset_dir).expanduser().resolve())
    logging.basicConfig(level=logging.DEBUG if cfg.debug else logging.INFO, format=LOG_FORMAT)
    app = create_app(cfg)
    uvicorn.run(
        app,
        host=cfg.host,
        port=cfg.port,
        log_level="debug" if cfg.debug else "info",
        timeout_graceful_shutdown=5,
    )


def __getattr__(name: str) -> Any:
    # Lazy, so `import evalscope.service` stays light for the CLI.
    if name == "BackgroundService":
        from evalscope.service.background import BackgroundService

        return BackgroundService
    raise AttributeError(name)


__all__ = ["BackgroundService", "ServiceSettings", "create_app", "run_service"]
