"""`evalscope service`: start the HTTP service."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "service",
        help="run the HTTP service (eval and perf over HTTP, with a job API)",
        description="Serve /health, /api/v1/eval, /api/v1/perf and the job API /api/v1/jobs.",
    )
    # A flag not given is left out (None): ServiceSettings reads $EVALSCOPE_<FIELD>, else its default.
    p.add_argument("--host", default=None, help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=None, help="port (default 9000)")
    p.add_argument(
        "--debug", action="store_true", default=None, help="debug logging; tracebacks in error answers"
    )
    p.add_argument(
        "--work-dir", default=None, help="base output folder; one folder per job inside (default outputs)"
    )
    p.add_argument(
        "--max-concurrent-jobs",
        type=int,
        default=None,
        help="jobs running at once (warm worker processes); the rest wait in order",
    )
    p.add_argument(
        "--database-url",
        default=None,
        help="SQLAlchemy URL of the job store (default: SQLite file <work-dir>/service.db)",
    )
    p.add_argument(
        "--auth-token",
        default=None,
        help="require 'Authorization: Bearer TOKEN'; /health stays open. A token on the command "
        "line shows in `ps`: prefer --auth-token-file or $EVALSCOPE_AUTH_TOKEN",
    )
    p.add_argument(
        "--auth-token-file",
        default=None,
        metavar="PATH",
        help="read the bearer token from this file (one line; chmod 600). Without either flag "
        "the token is read from $EVALSCOPE_AUTH_TOKEN (or $EVALSCOPE_SERVICE_TOKEN), if set",
    )
    p.add_argument(
        "--cors-origins", default=None, help="comma-separated origins allowed by CORS (default: off)"
    )
    p.add_argument("--max-body-bytes", type=int, default=None, help="largest request body (default 1 MiB)")
    p.add_argument(
        "--data-dir",
        action="append",
        default=None,
        dest="data_dirs",
        help="a folder requests may name as local data (repeatable)",
    )
    p.add_argument(
        "--dataset-dir",
        default=None,
        metavar="DIR",
        help="shared dataset folder, as $EVALSCOPE_DATASET_DIR: benchmarks find local copies there "
        "(DIR/gsm8k/test.jsonl, DIR/openqa/open_qa.jsonl) and requests may name files in it",
    )
    p.add_argument(
        "--executor",
        choices=["local", "celery"],
        default=None,
        help="local (default): jobs run in worker processes here; celery: jobs go through "
        "--broker-url to `evalscope worker` processes (needs the celery extra)",
    )
    p.add_argument(
        "--broker-url",
        default=None,
        help="Celery broker for --executor celery, e.g. redis://127.0.0.1:6379/0",
    )
    p.add_argument(
        "--heartbeat-timeout",
        type=float,
        default=None,
        help="celery: seconds without a worker heartbeat before a running job is interrupted (default 30)",
    )
    p.add_argument(
        "--max-running-per-user",
        type=int,
        default=None,
        help="jobs one user may run at once; the rest wait while other users take turns (default: no limit)",
    )
    p.add_argument(
        "--endpoint-isolation",
        choices=["perf_and_eval", "perf", "off"],
        default=None,
        help="perf_and_eval (default): load tests of one model server never overlap and evaluations "
        "of it wait while it is under a load test; perf: only load tests are serialised; off: neither",
    )
    p.set_defaults(func=run_cli)
    from evalscope.service.users_cli import register_users

    register_users(p)


#: the ServiceSettings fields that are flags (tests/test_cli_flags.py checks them against the model)
FLAGS = (
    "host",
    "port",
    "debug",
    "work_dir",
    "max_concurrent_jobs",
    "database_url",
    "auth_token",
    "auth_token_file",
    "cors_origins",
    "max_body_bytes",
    "data_dirs",
    "dataset_dir",
    "executor",
    "broker_url",
    "heartbeat_timeout",
    "max_running_per_user",
    "endpoint_isolation",
)


def run_cli(args: argparse.Namespace) -> int:
    from evalscope.service import run_service
    from evalscope.service.settings import ServiceSettings

    options: dict[str, Any] = {}
    for name in FLAGS:
        value = getattr(args, name)
        if value is not None:
            options[name] = Path(value) if name == "work_dir" else value
    try:
        ServiceSettings(**options)
    except ValidationError as exc:
        from evalscope.fieldnames import cli_message, field_errors

        field, reason = field_errors(exc)[0]
        head = field.partition(".")[0]
        env = ServiceSettings.env_names().get(head)
        # a value that came from the environment is named as its variable, not as the flag
        line = f"{env[0]}: {reason}" if env and head not in options else cli_message((field, reason))
        print(f"error: {line}", file=sys.stderr)
        return 2
    except ValueError as exc:  # an invalid EVALSCOPE_* variable, named
        print(f"error: {exc}", file=sys.stderr)
        return 2
    run_service(**options)
    return 0
