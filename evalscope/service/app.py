"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse
from fastapi_offline import FastAPIOffline

from evalscope import __version__
from evalscope.jobs import Executor, JobManager, JobStore, LocalProcessExecutor, all_kinds, users
from evalscope.jobs.scheduler import Scheduler
from evalscope.service import errors
from evalscope.service.audit import AuditLog
from evalscope.service.context import ServiceContext
from evalscope.service.middleware import AuthMiddleware, BodyLimitMiddleware
from evalscope.service.named import EndpointMiddleware
from evalscope.service.notifier import JobNotifier
from evalscope.service.openapi import install_openapi
from evalscope.service.routers import compare, compat, files, health, jobs, metrics, seed, teams
from evalscope.service.settings import ServiceSettings
from evalscope.service.web import mount_web

log = logging.getLogger("evalscope.service")

DESCRIPTION = """\
Evaluation (`/api/v1/eval`) and load testing (`/api/v1/perf`) of OpenAI-compatible models over HTTP.
Both seed routes block until their job ends; every call is a job underneath, which the job API
(`/api/v1/jobs`) lets you submit without waiting, list, follow (server-sent events), cancel,
resume and download files from.
"""


DOCS_ASSETS = "/static/docs"
FAVICON_URL = "/favicon.ico"
FAVICON_FILE = Path(fastapi_offline.__file__).parent / "static" / "favicon.png"


def create_app(settings: ServiceSettings | None = None, **overrides: Any) -> FastAPI:
    """Build the app; workers start when the app starts (lifespan), not here."""
    if settings is None:
        settings = ServiceSettings(**overrides)
    elif overrides:
        settings = settings.model_copy(update=overrides)
    kinds = all_kinds(settings.job_kinds)
    routers = [
        health.router,
        seed.router,
        jobs.router,
        files.router,
        compare.router,
        metrics.router,
        compat.router,
        teams.router,
    ]
    unlimited = None
    if settings.executor == "celery":  # the [celery] extra: imported only when used
        from evalscope.jobs.celery import DISTRIBUTED_PERF
        from evalscope.service.routers import workers

        kinds[DISTRIBUTED_PERF.name] = DISTRIBUTED_PERF
        unlimited = workers.UNLIMITED_PATHS
        # First: the job API's POST /api/v1/jobs/{kind} would also match /api/v1/jobs/perf_distributed.
        routers.insert(0, workers.router)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        base = settings.base_dir
        base.mkdir(parents=True, exist_ok=True)
        store = JobStore(settings.db_url)
        preload = sorted({m for k in kinds.values() for m in k.preload})
        executor: Executor
        if settings.executor == "celery":
            from evalscope.jobs.celery import CeleryExecutor

            assert settings.broker_url  # ServiceSettings requires it with the celery executor
            executor = CeleryExecutor(
                settings.broker_url, store, heartbeat_timeout=settings.heartbeat_timeout
            )
        else:
            executor = LocalProcessExecutor(
                settings.max_concurrent_jobs, preload=preload, start_method=settings.start_method
            )
        scheduler = Scheduler(executor.capacity(), settings.max_running_per_user, settings.endpoint_isolation)
        manager = JobManager(store, executor, kinds, scheduler)
        notifier = JobNotifier(asyncio.get_running_loop())
        manager.add_listener(notifier.publish)
        requeued = await asyncio.to_thread(manager.start)
        app.state.ctx = ServiceContext(settings, manager, notifier, AuditLog(base))
        auth_on = bool(settings.auth_token) or await asyncio.to_thread(users.any_active, store)
        log.info(
            "evalscope service: work dir %s, %d workers, store %s, %d job(s) re-queued, auth %s",
            base,
            settings.max_concurrent_jobs,
            _safe_url(settings.db_url),
            len(requeued),
            "on" if auth_on else "off",
        )
        try:
            yield
        finally:
            await asyncio.to_thread(manager.shutdown)
            store.close()

    # /docs and /redoc load Swagger UI and ReDoc from the package (fastapi-offline), never from a CDN:
    # they work without internet. Their assets sit under /static/, which needs no token.
    app = FastAPIOffline(
        title="EvalScope service",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        debug=False,
        static_url=DOCS_ASSETS,
        favicon_url=FAVICON_URL,
    )
    errors.install(app, settings.debug)
    install_openapi(app)  # no 422 in the document: bad input answers 400
    for router in routers:  # one per resource (evalscope.service.routers); compat: EvalScope 1.14's routes
        app.include_router(router)

    @app.get(FAVICON_URL, include_in_schema=False)
    def favicon() -> FileResponse:
        """So browsers showing the pages log no 404."""
        return FileResponse(FAVICON_FILE, media_type="image/png")

    mount_web(app)  # the web page at / (evalscope.service.web)
    # Middleware added last runs first: size limit, then auth, then CORS (so preflights pass), then
    # named endpoints (the caller is known by then).
    app.add_middleware(EndpointMiddleware)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.cors_origins, allow_methods=["*"], allow_headers=["*"]
        )
    # Always on: it lets everyone in as before while no token and no user is configured.
    app.add_middleware(AuthMiddleware, token=settings.auth_token)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes, unlimited=unlimited)
    return app


def _safe_url(url: str) -> str:
    # Never log a database password.
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "<database url>"
