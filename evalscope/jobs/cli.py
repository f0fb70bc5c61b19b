"""`evalscope worker`: a Celery worker that runs the service's eval and perf jobs (``[celery]`` extra)."""

from __future__ import annotations

import argparse
import logging
import sys

from pydantic import ValidationError

from evalscope.fieldnames import cli_message, field_errors

ENV_BROKER = "EVALSCOPE_BROKER_URL"
ENV_DATABASE = "EVALSCOPE_DATABASE_URL"
ENV_TOKEN = "EVALSCOPE_SERVICE_TOKEN"
ENV_AUTH_TOKEN = "EVALSCOPE_AUTH_TOKEN"  # the service's own variable: one env file serves both


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "worker",
        help="run a Celery worker for a service started with --executor celery",
        description="Take jobs from the broker (Redis), run them in warm worker processes, and write "
        "their state, progress and results into the service's job store.",
    )
    # The variables are read when the command runs (evalscope.settings), not here: --help stays light.
    p.add_argument(
        "--broker-url", default=None, help=f"Celery broker, e.g. redis://127.0.0.1:6379/0 (or ${ENV_BROKER})"
    )
    p.add_argument(
        "--database-url",
        default=None,
        help=f"the service's job store, e.g. postgresql+psycopg://user:pw@host/db (or ${ENV_DATABASE})",
    )
    p.add_argument("--concurrency", type=int, default=2, help="jobs (or perf shards) run at once (default 2)")
    p.add_argument(
        "--heartbeat",
        type=float,
        default=5.0,
        help="seconds between heartbeats and cancel checks (default 5; the service's "
        "--heartbeat-timeout must be several times larger)",
    )
    p.add_argument(
        "--files",
        choices=["shared", "upload"],
        default="shared",
        help="how job folders reach the service: 'shared' (same path mounted here) or "
        "'upload' (written under --work-dir, then sent to --service-url)",
    )
    p.add_argument("--work-dir", default=None, help="upload mode: local folder for running jobs")
    p.add_argument("--service-url", default=None, help="upload mode: the service's base URL")
    p.add_argument(
        "--service-token",
        default=None,
        help=f"upload mode: the service's bearer token (or ${ENV_AUTH_TOKEN} / ${ENV_TOKEN}: "
        "a token on the command line shows in `ps`)",
    )
    p.add_argument("--keep-files", action="store_true", help="upload mode: keep the local copy after upload")
    p.add_argument("--queue", default="evalscope", help="queue to consume (default evalscope)")
    p.add_argument("--hostname", default=None, help="worker name (default evalscope@<host>)")
    p.add_argument("--debug", action="store_true", help="debug logging")
    p.set_defaults(func=run_cli)


def _settings(args: argparse.Namespace):  # -> WorkerSettings
    from evalscope.jobs.celery.files import FilesConfig
    from evalscope.jobs.celery.worker import WorkerSettings
    from evalscope.settings import settings

    try:
        env = settings()
    except ValueError as exc:  # an invalid EVALSCOPE_* variable, named
        raise _Bad(str(exc)) from None
    broker_url = args.broker_url or env.broker_url
    database_url = args.database_url or env.database_url
    if not broker_url:
        raise _Bad(f"--broker-url: required (or set {ENV_BROKER})")
    if not database_url:
        raise _Bad(f"--database-url: required (or set {ENV_DATABASE})")
    try:
        files = FilesConfig(
            mode=args.files,
            work_dir=args.work_dir,
            service_url=args.service_url,
            service_token=args.service_token or env.secret("auth_token"),
            keep_local=args.keep_files,
        )
    except ValidationError as exc:
        raise _Bad(cli_message(field_errors(exc)[0])) from None
    options = {
        "broker_url": broker_url,
        "database_url": database_url,
        "concurrency": args.concurrency,
        "heartbeat": args.heartbeat,
        "files": files,
        "queue": args.queue,
    }
    if args.hostname:
        options["hostname"] = args.hostname
    try:
        return WorkerSettings(**options)
    except ValidationError as exc:
        raise _Bad(cli_message(field_errors(exc)[0])) from None


class _Bad(ValueError):
    """A bad flag: the message is the CLI error line (``--flag: reason``)."""


def run_cli(args: argparse.Namespace) -> int:
    try:
        import celery  # noqa: F401
    except ImportError:
        print(
            "error: evalscope worker needs the celery extra: pip install 'evalscope[celery]'", file=sys.stderr
        )
        return 2
    try:
        settings = _settings(args)
    except _Bad as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from evalscope.jobs.celery.app import make_celery
    from evalscope.jobs.celery.worker import WorkerRuntime, register_tasks

    try:
        runtime = WorkerRuntime(settings)
    except Exception as exc:  # noqa: BLE001 - e.g. the database is unreachable
        if args.debug:
            raise
        print(
            f"error: --database-url: cannot open the job store ({type(exc).__name__}: {exc})", file=sys.stderr
        )
        return 2
    app = make_celery(settings.broker_url, queue=settings.queue)
    register_tasks(app, runtime)
    runtime.start()
    try:
        app.worker_main(
            [
                "worker",
                "--pool=threads",
                f"--concurrency={settings.concurrency}",
                f"--hostname={settings.hostname}",
                "-Q",
                settings.queue,
                f"--loglevel={'DEBUG' if args.debug else 'INFO'}",
                "--without-gossip",
                "--without-mingle",
            ]
        )
    finally:
        runtime.shutdown()
    return 0
