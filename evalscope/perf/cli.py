"""``evalscope perf``: EvalScope's flags, validated by ``PerfArguments``."""

from __future__ import annotations

import argparse
import logging
import sys
import typing
from typing import Any

from pydantic import ValidationError

from evalscope.errors import RunFailed
from evalscope.perf.arguments import DATASETS, PerfArguments
from evalscope.perf.prompts import PromptSourceError

S = argparse.SUPPRESS  # a flag not given is left out, so PerfArguments' default applies
#: flags that are no PerfArguments field: the terminal's progress bar and the CI gates (evalscope/gates.py)
CLI_ONLY = ("func", "command", "no_progress", "slo_percentile", "junit_xml")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``perf`` subcommand."""
    p = subparsers.add_parser(
        "perf",
        help="load-test a model endpoint (latency, throughput, TTFT, TPOT, ITL)",
        description="Load-test an OpenAI/Anthropic/Gemini/DashScope endpoint and report EvalScope's metrics.",
        argument_default=S,
    )
    add_perf_arguments(p)
    from evalscope.gates import add_perf_gate_arguments

    add_perf_gate_arguments(p)
    p.set_defaults(func=run_cli)


def add_perf_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of a run (one per ``PerfArguments`` field, plus ``--no-progress``), on a parser made
    with ``argument_default=SUPPRESS``: shared by ``evalscope perf`` and ``evalscope remote perf``."""
    g = p.add_argument_group("target")
    g.add_argument("--model", required=True, help="model name sent in each request")
    g.add_argument("--url", required=True, help="endpoint URL; a bare base URL gets the API's path appended")
    g.add_argument(
        "--api",
        choices=list(typing.get_args(PerfArguments.model_fields["api"].annotation)),
        help="wire protocol (openai); openai_embedding/embedding: POST /v1/embeddings, "
        "openai_rerank/rerank: POST /v1/rerank (both never streamed); "
        "openai_responses/openai_response/responses: POST /v1/responses",
    )
    g.add_argument("--api-key", help="API key (sent in a header only, never written to disk)")
    g.add_argument("--headers", nargs="+", metavar="KEY=VALUE", help="extra request headers")
    g = p.add_argument_group("load")
    g.add_argument("--number", nargs="+", type=int, metavar="N", help="requests per sweep point (1000)")
    g.add_argument("--parallel", nargs="+", type=int, metavar="P", help="concurrency per sweep point (1)")
    g.add_argument("--rate", type=float, help="requests per second, Poisson arrivals (-1: no limit)")
    g.add_argument("--burstiness", type=float, help="gamma shape of arrivals under --rate (1 = Poisson)")
    g.add_argument("--warmup-num", type=int, help="requests sent before measuring (0)")
    g.add_argument("--sleep-interval", type=float, help="seconds between sweep points (5)")
    g.add_argument("--duration", type=float, help="stop sending new requests after this many seconds")
    g.add_argument(
        "--ramp-up",
        type=float,
        metavar="S",
        help="concurrency (or --rate) grows linearly over S seconds first; those requests are recorded "
        "(ramp) but left out of the metrics (0)",
    )
    g.add_argument("--workers", type=int, help="client processes (default: automatic)")
    g.add_argument("--connect-timeout", type=float, help="seconds (600)")
    g.add_argument("--read-timeout", type=float, help="seconds between two reads (600)")
    g.add_argument("--total-timeout", type=float, help="seconds per request (21600)")
    g = p.add_argument_group("prompts")
    g.add_argument("--dataset", help=f"one of {', '.join(DATASETS)} (openqa)")
    g.add_argument("--dataset-path", help="local file of the dataset")
    g.add_argument("--tokenizer-path", help="local Hugging Face tokenizer (dir or tokenizer.json)")
    g.add_argument(
        "--min-prompt-length", type=int, help="shortest prompt kept (chars, or tokens with a tokenizer)"
    )
    g.add_argument("--max-prompt-length", type=int, help="longest prompt kept")
    g.add_argument("--prefix-length", type=int, help="shared prefix tokens of random prompts")
    g.add_argument(
        "--prefix-count", type=int, help="random: distinct prefixes; prompt i gets prefix i %% count (1)"
    )
    g.add_argument(
        "--cache-bust",
        action="store_true",
        help="start each request's prompt with a marker unique to it ([rid:...]): no shared cached prefix",
    )
    g.add_argument(
        "--trace-speedup",
        type=float,
        metavar="X",
        help="workload_trace: send at the trace's times divided by X (1)",
    )
    g.add_argument(
        "--trace-match-output",
        action="store_true",
        help="workload_trace rows with EvalScope's body: max_tokens = completion_tokens, ignore_eos",
    )
    g.add_argument("--prompt", help="one fixed prompt for every request (@file reads a file)")
    g.add_argument(
        "--query-template", help="'{prompt}' text template, or a JSON body with %%p/%%m (@file ok)"
    )
    g = p.add_argument_group("multi-turn sessions")
    g.add_argument(
        "--multi-turn",
        action="store_true",
        help="sessions: --number counts conversations, --parallel concurrent ones; each turn sends the "
        "history with the model's real replies (datasets share_gpt_en_multi_turn, share_gpt_zh_multi_turn, "
        "random_multi_turn, custom_multi_turn)",
    )
    g.add_argument("--min-turns", type=int, help="fewest turns of a random_multi_turn session (1)")
    g.add_argument(
        "--max-turns", type=int, help="most turns per session (random_multi_turn: required; others truncate)"
    )
    g.add_argument(
        "--think-time",
        nargs="+",
        type=float,
        metavar="S",
        help="seconds before each later turn: one value (fixed) or two (uniform MIN MAX)",
    )
    g = p.add_argument_group("generation")
    g.add_argument("--max-tokens", type=int, help="(2048)")
    g.add_argument("--min-tokens", type=int)
    g.add_argument("--temperature", type=float, help="(0.0)")
    g.add_argument("--top-p", type=float)
    g.add_argument("--top-k", type=int)
    g.add_argument("--stop", nargs="+")
    g.add_argument("--seed", type=int)
    g.add_argument("--stream", action=argparse.BooleanOptionalAction, help="stream responses (default: on)")
    g.add_argument("--extra-args", help="JSON object merged into every request body")
    g = p.add_argument_group("output")
    g.add_argument(
        "--slo",
        nargs="+",
        metavar="NAME:VALUE",
        help="SLOs: ttft, tpot, e2el, itl, optionally at a percentile or the mean (ttft_p99, e2el_mean); "
        "values in ms, or with ms/s: ttft:500 ttft_p99:500ms e2el_p95:10s (goodput, gates, --search)",
    )
    g.add_argument("--outputs-dir", help="base output folder (outputs)")
    g.add_argument("--name", help="run name (default: the model name)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument(
        "--no-test-connection",
        action="store_true",
        help="skip the one-request connection test before the run",
    )
    g.add_argument(
        "--server-metrics",
        action=argparse.BooleanOptionalAction,
        help="scrape the server's Prometheus metrics during the run (default: on; --no-server-metrics: off)",
    )
    g.add_argument("--server-metrics-url", help="metrics endpoint (default: /metrics on the host of --url)")
    g.add_argument("--server-metrics-interval", type=float, help="seconds between two scrapes (1.0)")
    g.add_argument("--debug", action="store_true", help="tracebacks on errors")
    _add_search_arguments(p)


def _add_search_arguments(p: argparse.ArgumentParser) -> None:
    """The SLO search's flags (perf/slo_search.py), and EvalScope's --sla-* spelling of it."""
    g = p.add_argument_group("SLO search (the largest load meeting every --slo)")
    g.add_argument(
        "--search",
        choices=["concurrency", "rate"],
        help="search the largest concurrency (closed loop) or rate (open loop) meeting every --slo",
    )
    g.add_argument("--search-min", type=float, metavar="X", help="smallest load tried (1)")
    g.add_argument("--search-max", type=float, metavar="X", help="largest load tried (100000 / 1e6 req/s)")
    g.add_argument("--search-start", type=float, metavar="X", help="first load tried (--search-min)")
    g.add_argument(
        "--search-requests",
        type=int,
        metavar="N",
        help="requests per round at one load (200; at least 2 per client, or 2 s of the rate)",
    )
    g.add_argument(
        "--search-max-rounds",
        type=int,
        metavar="N",
        help="rounds at one load while its decision is unclear (5)",
    )
    g.add_argument(
        "--search-max-requests", type=int, metavar="N", help="request budget of the search (20000)"
    )
    g.add_argument(
        "--search-max-time", type=float, metavar="S", help="time budget of the search, seconds (3600)"
    )
    g.add_argument(
        "--search-confidence", type=float, metavar="C", help="confidence of each percentile's interval (0.95)"
    )
    g.add_argument(
        "--search-tolerance",
        type=float,
        metavar="F",
        help="stop when the failing load is within this fraction of the passing one (0.05; concurrency: 1)",
    )
    # EvalScope 1.14's names, mapped onto the above by PerfArguments (evalscope/slo.py fold_evalscope_sla)
    g.add_argument("--sla-auto-tune", action="store_true", help="EvalScope's spelling of --search")
    g.add_argument("--sla-variable", choices=["parallel", "rate"], help="parallel: --search concurrency")
    g.add_argument("--sla-params", help='EvalScope\'s bounds as JSON, e.g. \'[{"p99_ttft": "<=500ms"}]\'')
    g.add_argument("--sla-upper-bound", type=float, help="--search-max")
    g.add_argument("--sla-lower-bound", type=float, help="--search-min")
    g.add_argument("--sla-fixed-parallel", type=int, help="--parallel under a rate search")
    g.add_argument("--sla-num-runs", type=int, help="accepted; repeats come from the confidence interval")
    g.add_argument("--sla-number-multiplier", type=float, help="accepted; see --search-requests")


def format_validation_error(exc: ValidationError) -> str:
    """One line per problem, naming the flag: ``error: --number: ...``."""
    from evalscope.fieldnames import cli_message, field_errors

    return "\n".join(f"error: {cli_message(e)}" for e in field_errors(exc))


def run_cli(ns: argparse.Namespace) -> int:
    """Validate the flags, run the sweep, print the tables; 2 on bad input, 1 when the model could not
    be reached or every request failed."""
    values: dict[str, Any] = {k: v for k, v in vars(ns).items() if k not in CLI_ONLY}
    debug = bool(values.get("debug"))
    logging.basicConfig(level=logging.DEBUG if debug else logging.WARNING, format="%(levelname)s %(message)s")
    try:
        args = PerfArguments.model_validate(values)
    except ValidationError as exc:
        print(format_validation_error(exc), file=sys.stderr)
        return 2
    from evalscope import gates

    try:
        percentile = gates.check_percentile(getattr(ns, "slo_percentile", 99))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    junit = getattr(ns, "junit_xml", None)
    if args.search is not None and percentile != 99:  # an SLO without its own percentile: --slo-percentile's
        from evalscope.slo import specs

        args.slo = {s.at(percentile).name: s.threshold_ms for s in specs(args.slo)}
    from evalscope.fieldnames import cli_style
    from evalscope.perf.api import run_perf

    try:
        with cli_style():  # errors name the flags (--dataset-path), not the fields
            result = run_perf(
                args,
                show_progress=sys.stdout.isatty() and not getattr(ns, "no_progress", False),
                show_summary=True,
            )
    except (PromptSourceError, ValueError) as exc:
        if debug:
            raise
        msg = str(exc)
        print(msg if msg.startswith("error:") else f"error: {msg}", file=sys.stderr)
        return 2
    except RunFailed as exc:  # the model could not be reached, or every request failed
        if debug:
            raise
        if exc.output_dir:
            _print_outputs(exc.output_dir, exc.result)
        print(f"error: {exc.message}", file=sys.stderr)
        failed = gates.run_failed_checks("perf", [], f"run failed: {exc.message}", args.model)
        gates.conclude(failed, junit, f"evalscope perf {args.model}")
        return 1
    _print_outputs(result["output_dir"], result)
    if args.search is not None:
        return _search_outcome(result, junit, args.model)
    if not args.slo and not junit:
        return 0
    # CI gates (--slo, --junit-xml): the same rule as `evalscope remote perf` (evalscope/gates.py)
    checks = gates.perf_checks(result, args.slo, percentile, args.model)
    return gates.conclude(checks, junit, f"evalscope perf {args.model}")


def _search_outcome(result: dict[str, Any], junit: str | None, model: str) -> int:
    """An SLO search's answer on the console; 0 when a load meets every SLO, 3 when none does (the
    gate: not even --search-min meets them), with one JUnit case for the capacity."""
    from evalscope import gates
    from evalscope.perf.slo_search import SloSearchResult

    search = SloSearchResult.model_validate(result.get("slo_search") or {})
    print("\n".join(search.console().splitlines()[-2:]))  # the points were printed as they ended
    cap = search.capacity
    found = cap is not None and cap.value is not None
    message = (
        f"capacity {cap.value:g} {cap.unit} ({search.slo_text})"
        if cap is not None and cap.value is not None
        else f"no load meets {search.slo_text} ({search.stop_detail})"
    )
    check = gates.Check(
        suite=f"perf.{model}.search",
        name="capacity",
        kind="slo",
        passed=found,
        value=cap.value if cap is not None else None,
        message=message,
    )
    return gates.conclude([check], junit, f"evalscope perf {model}")


def _print_outputs(output_dir: str, result: dict[str, Any] | None) -> None:
    """The output folder, the report's path and, when requests failed, how many and why."""
    from evalscope.report import report_line

    print(f"outputs: {output_dir}")
    print(report_line(output_dir))
    counts = (result or {}).get("error_counts") or {}
    if counts.get("failed"):
        reasons = ", ".join(f"{k} x{v}" for k, v in counts["by_reason"].items())
        print(f"warning: {counts['failed']} of {counts['total']} requests failed ({reasons})")
