"""``evalscope remote``: run evaluations and load tests on an ``evalscope service`` and follow them.

``remote eval`` / ``remote perf`` take exactly the flags of the local ``evalscope eval`` / ``evalscope perf``
(the same argument functions, so they cannot drift), plus where the service is (``--server``, token) and
how to wait; ``remote jobs|show|wait|cancel|fetch`` manage jobs. The CI gates (``--fail-under``,
``--slo``, ``--junit-xml``) are the local commands' (``evalscope/gates.py``).

Exit codes: 0 done (every gate passed); 1 the job failed, was cancelled or interrupted, or the service
could not be reached or answered an error; 2 bad flags (or the service refused a field: the message
names the flag); 3 a gate was missed; 4 gave up waiting (``--wait-timeout``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

EXIT_WAIT_TIMEOUT = 4
S = argparse.SUPPRESS


def _connection_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("service")
    g.add_argument(
        "--server",
        default=None,
        metavar="URL",
        help="the service's base URL, e.g. http://127.0.0.1:9000 (default: $EVALSCOPE_SERVICE_URL)",
    )
    g.add_argument(
        "--token",
        default=None,
        help="bearer token; shows in `ps`: prefer --token-file or $EVALSCOPE_AUTH_TOKEN (the service's own)",
    )
    g.add_argument("--token-file", default=None, metavar="PATH", help="file holding the bearer token")


def _endpoint_argument(p: argparse.ArgumentParser, url_flag: str) -> None:
    """``--endpoint NAME``: a model registered on the service (its URL, model id and key); then the
    local command's ``--model`` and ``url_flag`` are not required (the service refuses them with it)."""
    for action in p._actions:
        if action.dest in ("model", url_flag.lstrip("-").replace("-", "_")):
            action.required = False
    group = next((g for g in p._action_groups if g.title == "service"), p)
    group.add_argument(
        "--endpoint",
        default=None,
        metavar="NAME",
        help=f"a named endpoint registered on the service: it sets --model, {url_flag} and the API key",
    )


def _need_model(args: argparse.Namespace, url_field: str, kind: str) -> dict[str, str]:
    """Without ``--endpoint``, ``--model`` and the URL flag are required as in the local command; with
    it, the stand-ins the config is validated with here (never sent: evalscope.remote.client)."""
    from evalscope.remote.client import endpoint_placeholders

    if args.endpoint is None:
        for field in ("model", url_field):
            if getattr(args, field, None) is None:
                flag = "--" + field.replace("_", "-")
                raise ValueError(
                    f"{flag}: required (or name a model registered on the service: --endpoint NAME)"
                )
        return {}
    return {k: v for k, v in endpoint_placeholders(kind).items() if getattr(args, k, None) is None}


def _wait_arguments(p: argparse.ArgumentParser, submit: bool) -> None:
    g = p.add_argument_group("waiting")
    if submit:
        g.add_argument(
            "--no-wait",
            action="store_true",
            default=False,
            help="print the job id and exit once it is queued",
        )
    g.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        metavar="S",
        help="give up (exit 4) after S seconds; the job keeps running",
    )
    g.add_argument(
        "--reconnect-timeout",
        type=float,
        default=300.0,
        metavar="S",
        help="keep retrying a service that went away (a restart) for S seconds (300)",
    )
    g.add_argument(
        "--resume-interrupted",
        type=int,
        default=0,
        metavar="N",
        help="resume the job up to N times when a service restart interrupts it (0)",
    )
    g.add_argument(
        "--fetch", default=None, metavar="DIR", help="download the job's files into DIR once it is over"
    )
    if "json" not in {a.dest for a in p._actions}:
        g.add_argument("--json", action="store_true", default=False, help="print the final job as JSON")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``evalscope remote`` and its subcommands."""
    from evalscope.eval.cli import add_eval_arguments
    from evalscope.gates import add_eval_gate_arguments, add_perf_gate_arguments
    from evalscope.perf.cli import add_perf_arguments

    r = subparsers.add_parser(
        "remote",
        help="run and follow evaluations and load tests on an evalscope service (CI gates, JUnit XML)",
        description="Submit to an `evalscope service`, follow the job, gate on its results.",
    )
    r.set_defaults(func=lambda args: _usage(r))
    sub = r.add_subparsers(dest="remote_command", metavar="COMMAND")

    e = sub.add_parser("eval", help="evaluate on the service: the flags of `evalscope eval`")
    add_eval_arguments(e)
    add_eval_gate_arguments(e)
    _connection_arguments(e)
    _endpoint_argument(e, "--api-url")
    _wait_arguments(e, submit=True)
    e.set_defaults(func=eval_cli)

    p = sub.add_parser(
        "perf", help="load-test on the service: the flags of `evalscope perf`", argument_default=S
    )
    before = {a.dest for a in p._actions}
    add_perf_arguments(p)
    # the run's own fields, sent to the service (no --no-progress: the service shows no progress bar)
    p.set_defaults(perf_fields=sorted({a.dest for a in p._actions} - before - {"no_progress"}))
    add_perf_gate_arguments(p)
    _connection_arguments(p)
    _endpoint_argument(p, "--url")
    _wait_arguments(p, submit=True)
    p.set_defaults(func=perf_cli)

    j = sub.add_parser("jobs", help="list the service's jobs, newest first")
    j.add_argument("--state", default=None, help="queued, running, succeeded, failed, cancelled, interrupted")
    j.add_argument("--kind", default=None, help="eval, perf, ...")
    j.add_argument("--limit", type=int, default=20)
    j.add_argument("--offset", type=int, default=0)
    j.add_argument("--json", action="store_true", help="print JSON")
    _connection_arguments(j)
    j.set_defaults(func=jobs_cli)

    s = sub.add_parser("show", help="one job: state, progress, result, error")
    s.add_argument("job_id")
    s.add_argument("--json", action="store_true", help="print JSON")
    _connection_arguments(s)
    s.set_defaults(func=show_cli)

    w = sub.add_parser("wait", help="follow a job until it is over; gate on its result")
    w.add_argument("job_id")
    add_eval_gate_arguments(w)
    w.add_argument(
        "--slo-percentile",
        type=int,
        default=99,
        metavar="P",
        help="perf jobs: gate on the job's own --slo at this percentile (99)",
    )
    _connection_arguments(w)
    _wait_arguments(w, submit=False)
    w.set_defaults(func=wait_cli)

    c = sub.add_parser("cancel", help="cancel a queued or running job")
    c.add_argument("job_id")
    _connection_arguments(c)
    c.set_defaults(func=cancel_cli)

    f = sub.add_parser("fetch", help="download a job's files (reports, predictions, logs, report.html)")
    f.add_argument("job_id")
    f.add_argument("--output", "-o", default=None, metavar="DIR", help="destination folder (./<job id>)")
    f.add_argument("--path", nargs="+", default=None, help="only these files (paths in the job's folder)")
    _connection_arguments(f)
    f.set_defaults(func=fetch_cli)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


# -- plumbing ------------------------------------------------------------------------------------
def _client(args: argparse.Namespace) -> Any:
    from evalscope.remote.client import ServiceClient, resolve_token
    from evalscope.settings import settings

    server = args.server or settings().service_url
    if not server:
        raise ValueError("--server: required (or set $EVALSCOPE_SERVICE_URL)")
    token = resolve_token(args.token, args.token_file) or ""
    reconnect = getattr(args, "reconnect_timeout", 300.0)
    if reconnect is not None and reconnect < 0:
        raise ValueError("--reconnect-timeout: must be >= 0")
    return ServiceClient(server, token, reconnect_s=reconnect)


def _guard(fn: Any, args: argparse.Namespace) -> int:
    """Run a subcommand; expected failures are one line on stderr and an exit code, never a traceback."""
    from evalscope.remote.client import RemoteError, ServiceError, WaitTimeout

    try:
        return int(fn(args))
    except ValueError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except WaitTimeout as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return EXIT_WAIT_TIMEOUT
    except ServiceError as exc:
        if getattr(args, "debug", False):
            raise
        if exc.status == 400 and exc.errors:
            from evalscope.fieldnames import cli_message

            for err in exc.errors:  # the service names HTTP fields; a flag is what the user typed
                field = "" if err.get("field") == "body" else str(err.get("field", ""))
                print(f"error: {cli_message((field, str(err.get('reason', ''))))}", file=sys.stderr)
            return 2
        print(f"error: {exc.message} (HTTP {exc.status})", file=sys.stderr)
        return 2 if exc.status in (400, 413) else 1
    except RemoteError as exc:
        if getattr(args, "debug", False):
            raise
        print(f"error: {exc.message}", file=sys.stderr)
        return 1


class _Progress:
    """Progress lines on stderr: at each state change and each tenth of the way (never a flood)."""

    def __init__(self) -> None:
        self.state = ""
        self.tenth = -1

    def __call__(self, job: Any) -> None:
        p = job.progress
        tenth = int(p.percent // 10) if p.percent is not None else -1
        if job.state != self.state:
            self.state, self.tenth = job.state, tenth
        elif tenth > self.tenth:
            self.tenth = tenth
        else:
            return
        done = f" {p.done}/{p.total}" if p.total else (f" {p.done}" if p.done else "")
        pct = f" ({p.percent:.0f}%)" if p.percent is not None else ""
        print(f"job {job.id}: {job.state}{done}{pct}", file=sys.stderr, flush=True)


def _event(kind: str, text: str) -> None:
    print(f"{'warning' if kind == 'lost' else 'note'}: {text}", file=sys.stderr, flush=True)


def _follow(svc: Any, job: Any, args: argparse.Namespace, secrets: dict[str, Any] | None) -> Any:
    if args.wait_timeout is not None and args.wait_timeout < 0:
        raise ValueError("--wait-timeout: must be >= 0")
    if args.resume_interrupted < 0:
        raise ValueError("--resume-interrupted: must be >= 0")
    progress = _Progress()
    if job.state:  # a job just submitted: say so before the stream's first event
        progress(job)
    return svc.wait(
        job.id,
        timeout=args.wait_timeout,
        on_update=progress,
        on_event=_event,
        resume_interrupted=args.resume_interrupted,
        resume_secrets=secrets,
    )


def _finish(
    svc: Any, job: Any, args: argparse.Namespace, fail_under: dict[str, float], percentile: int
) -> int:
    """Print the outcome, fetch files if asked, apply the gates; the exit code."""
    from evalscope import gates

    if args.json:
        print(job.model_dump_json(indent=2))
    elif job.result and job.kind in ("eval", "perf"):
        _print_summary(job)
    if args.fetch:
        written = svc.fetch(job.id, args.fetch)
        print(f"fetched {len(written)} files into {args.fetch}", file=sys.stderr)
    suite = f"evalscope remote {job.kind} {job.model}"
    if job.state != "succeeded":
        why = f"job {job.id} {job.state}" + (f": {job.error}" if job.error else "")
        names = list(job.config.get("datasets") or []) if job.kind == "eval" else []
        gates.conclude(
            gates.run_failed_checks(job.kind, names, why, job.model), args.junit_xml, suite, job.duration_s
        )
        hint = f"; resume it: POST /api/v1/jobs/{job.id}/resume" if job.state == "interrupted" else ""
        print(f"error: {why}{hint}", file=sys.stderr)
        return 1
    print(
        f"job {job.id} succeeded in {job.duration_s or 0:.1f} s; output on the service: {job.output_dir}",
        file=sys.stderr,
    )
    result = job.result or {}
    if job.kind == "eval":
        checks = gates.eval_checks(result, fail_under, job.model)
    elif job.kind == "perf":
        slo = job.config.get("slo") or {}
        if not slo and not args.junit_xml:
            return 0
        checks = gates.perf_checks(result, slo, percentile, job.model)
    else:
        return 0
    return gates.conclude(checks, args.junit_xml, suite, job.duration_s)


def _print_summary(job: Any) -> None:
    from rich.console import Console

    console = Console(width=max(Console().width, 120))
    result = job.result or {}
    if job.kind == "eval":
        from evalscope.eval.report import summary_table

        console.print(summary_table(result.get("result") or {}))
    else:
        from evalscope.perf.console import print_result

        for key, point in (result.get("results") or {}).items():
            print_result(console, key, point.get("metrics") or {}, point.get("percentiles") or {})
    for warning in result.get("warnings") or []:
        console.print(f"warning: {warning}", markup=False, soft_wrap=True)


# -- subcommands ---------------------------------------------------------------------------------
def eval_cli(args: argparse.Namespace) -> int:
    """``evalscope remote eval``."""
    return _guard(_eval, args)


def _eval(args: argparse.Namespace) -> int:
    from evalscope import gates
    from evalscope.eval.cli import build_config

    for field, stand_in in _need_model(args, "api_url", "eval").items():
        setattr(args, field, stand_in)
    cfg = build_config(args)  # ValueError "--flag: reason", as the local command
    fail_under = gates.parse_fail_under(args.fail_under, cfg.datasets)
    with _client(args) as svc:
        job = svc.submit_eval(cfg, endpoint=args.endpoint)
        what = f"endpoint {args.endpoint}" if args.endpoint else cfg.model
        print(f"job {job.id} queued on {svc.server} (eval, {what})", file=sys.stderr, flush=True)
        if args.no_wait:
            print(job.id)
            return 0
        secrets = {"api_key": cfg.api_key} if cfg.api_key and cfg.api_key != "EMPTY" else None
        job = _follow(svc, job, args, secrets)
        return _finish(svc, job, args, fail_under, 99)


def perf_cli(args: argparse.Namespace) -> int:
    """``evalscope remote perf``."""
    return _guard(_perf, args)


def _perf(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from evalscope import gates
    from evalscope.perf.arguments import PerfArguments

    values = {k: getattr(args, k) for k in args.perf_fields if hasattr(args, k)}
    values.update(_need_model(args, "url", "perf"))
    try:
        perf_args = PerfArguments.model_validate(values)
    except ValidationError as exc:
        from evalscope.fieldnames import cli_message, field_errors

        raise ValueError(cli_message(field_errors(exc)[0])) from None
    percentile = gates.check_percentile(args.slo_percentile)
    with _client(args) as svc:
        job = svc.submit_perf(perf_args, endpoint=args.endpoint)
        what = f"endpoint {args.endpoint}" if args.endpoint else perf_args.model
        print(f"job {job.id} queued on {svc.server} (perf, {what})", file=sys.stderr, flush=True)
        if args.no_wait:
            print(job.id)
            return 0
        secrets: dict[str, Any] = {}
        if perf_args.api_key:
            secrets["api_key"] = perf_args.api_key
        if perf_args.headers:
            secrets["headers"] = dict(perf_args.headers)
        job = _follow(svc, job, args, secrets or None)
        return _finish(svc, job, args, {}, percentile)


def wait_cli(args: argparse.Namespace) -> int:
    """``evalscope remote wait ID``."""
    return _guard(_wait, args)


def _wait(args: argparse.Namespace) -> int:
    from evalscope import gates
    from evalscope.remote.models import RemoteJob

    percentile = gates.check_percentile(args.slo_percentile)
    gates.parse_fail_under(args.fail_under)  # the syntax now; the benchmarks once the job is known
    with _client(args) as svc:
        # Straight to the event stream (its first event is the job as it is): a service that is away
        # (restarting) when the wait starts is waited for too, as one lost while waiting.
        job = _follow(svc, RemoteJob(id=args.job_id, kind="", state=""), args, None)
        if args.fail_under and job.kind != "eval":
            raise ValueError(f"--fail-under: job {job.id} is a {job.kind} job, not an evaluation")
        fail_under = gates.parse_fail_under(args.fail_under, job.config.get("datasets") or [])
        return _finish(svc, job, args, fail_under, percentile)


def jobs_cli(args: argparse.Namespace) -> int:
    """``evalscope remote jobs``."""
    return _guard(_jobs, args)


def _jobs(args: argparse.Namespace) -> int:
    with _client(args) as svc:
        listing = svc.list_jobs(state=args.state, kind=args.kind, limit=args.limit, offset=args.offset)
    if args.json:
        print(listing.model_dump_json(indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Jobs ({len(listing.items)} of {listing.total})")
    for col in ("Id", "Kind", "State", "Progress", "Model", "Created", "Duration (s)"):
        table.add_column(col, overflow="fold")
    for j in listing.items:
        p = j.progress
        table.add_row(
            j.id,
            j.kind,
            j.state,
            f"{p.done}/{p.total}" if p.total else str(p.done),
            j.model,
            j.created_at.isoformat(timespec="seconds") if j.created_at else "",
            f"{j.duration_s:.1f}" if j.duration_s is not None else "",
        )
    Console(width=max(Console().width, 140)).print(table)
    return 0


def show_cli(args: argparse.Namespace) -> int:
    """``evalscope remote show ID``."""
    return _guard(_show, args)


def _show(args: argparse.Namespace) -> int:
    with _client(args) as svc:
        job = svc.get_job(args.job_id)
    if args.json:
        print(job.model_dump_json(indent=2))
        return 0
    p = job.progress
    lines = {
        "id": job.id,
        "kind": job.kind,
        "state": job.state,
        "progress": f"{p.done}/{p.total}" if p.total else str(p.done),
        "model": job.model,
        "created": job.created_at,
        "started": job.started_at,
        "finished": job.finished_at,
        "duration_s": job.duration_s,
        "attempts": job.attempts,
        "output_dir": job.output_dir,
        "error": job.error,
    }
    for key, value in lines.items():
        if value not in (None, ""):
            print(f"{key}: {value}")
    if job.result and job.kind in ("eval", "perf"):
        _print_summary(job)
    return 0


def cancel_cli(args: argparse.Namespace) -> int:
    """``evalscope remote cancel ID``."""
    return _guard(_cancel, args)


def _cancel(args: argparse.Namespace) -> int:
    with _client(args) as svc:
        job = svc.cancel(args.job_id)
    print(f"job {job.id}: {job.state}")
    return 0


def fetch_cli(args: argparse.Namespace) -> int:
    """``evalscope remote fetch ID``."""
    return _guard(_fetch, args)


def _fetch(args: argparse.Namespace) -> int:
    with _client(args) as svc:
        dest = args.output or args.job_id
        written = svc.fetch(args.job_id, dest, args.path)
    for path in written:
        print(path)
    print(f"fetched {len(written)} files into {dest}", file=sys.stderr)
    return 0
