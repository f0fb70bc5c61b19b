"""``evalscope eval`` and ``evalscope benchmarks`` (flag spellings follow EvalScope's CLI)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from pydantic import ValidationError


def _json_or_kv(text: str) -> dict[str, Any]:
    """``'{"temperature": 0}'`` or ``temperature=0,max_tokens=64`` (values read as JSON when they parse)."""
    text = text.strip()
    if text.startswith("{"):
        value = json.loads(text)
        if not isinstance(value, dict):
            raise ValueError("expected a JSON object")
        return value
    out: dict[str, Any] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        if "=" not in part:
            raise ValueError(f"expected key=value, got {part!r}")
        key, raw = part.split("=", 1)
        try:
            out[key.strip()] = json.loads(raw)
        except json.JSONDecodeError:
            out[key.strip()] = raw
    return out


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``eval`` and ``benchmarks`` subcommands."""
    p = subparsers.add_parser(
        "eval", help="evaluate a model served behind an OpenAI-compatible API on benchmarks"
    )
    add_eval_arguments(p)
    from evalscope.gates import add_eval_gate_arguments

    add_eval_gate_arguments(p)
    p.set_defaults(func=run_cli)

    b = subparsers.add_parser("benchmarks", help="list the benchmarks with their subsets and defaults")
    b.add_argument("--json", action="store_true", help="print JSON")
    b.add_argument("name", nargs="?", help="show one benchmark in full")
    b.set_defaults(func=benchmarks_cli)


def add_eval_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of a run (one per ``TaskConfig`` field, read by :func:`build_config`): shared by
    ``evalscope eval`` and ``evalscope remote eval``, so the two cannot drift."""
    p.add_argument("--model", required=True, help="model name sent in each request")
    p.add_argument("--api-url", required=True, help="base URL (.../v1) or full .../chat/completions URL")
    p.add_argument("--api-key", default="EMPTY", help="API key (never written to disk)")
    p.add_argument("--api", default="openai", help="wire protocol: openai, dashscope, anthropic, gemini")
    p.add_argument(
        "--datasets", nargs="+", required=True, help="benchmark names (see `evalscope benchmarks`)"
    )
    p.add_argument(
        "--dataset-args", default=None, help="JSON: {name: {subset_list, few_shot_num, local_path, ...}}"
    )
    p.add_argument(
        "--judge-strategy",
        default="auto",
        choices=["auto", "rule", "llm", "llm_recall"],
        help="which answers a judge model grades: auto (the benchmark's default), rule, llm, llm_recall",
    )
    p.add_argument(
        "--judge-model-args",
        default=None,
        help='JSON: the judge model, {"model_id": ..., "api_url": ..., "api_key": ..., "generation_config": {...}}',
    )
    p.add_argument("--dataset-dir", default=None, help="folder holding local copies of the datasets")
    p.add_argument(
        "--dataset-hub", default="modelscope", help="hub to download from: modelscope, huggingface"
    )
    p.add_argument("--limit", default=None, help="samples per subset: a count, or a fraction such as 0.1")
    p.add_argument(
        "--repeats", type=int, default=1, help="answers asked per question (avg@k, pass@k, maj@k; default 1)"
    )
    p.add_argument("--eval-batch-size", type=int, default=1, help="concurrent requests (default 1)")
    p.add_argument(
        "--generation-config", default=None, help="JSON or k=v,k=v: temperature, max_tokens, top_p, ..."
    )
    p.add_argument("--timeout", type=float, default=300.0, help="per-request timeout in seconds")
    p.add_argument("--max-retries", type=int, default=3, help="retries on 429/5xx/connection errors/timeouts")
    p.add_argument("--stream", action="store_true", help="stream responses")
    p.add_argument("--work-dir", default="./outputs", help="where run folders are created")
    p.add_argument(
        "--use-cache", default=None, help="a previous run folder to resume (finished samples are kept)"
    )
    p.add_argument("--seed", type=int, default=42)
    p.add_argument(
        "--no-test-connection",
        action="store_true",
        help="skip the one-request connection test before the run",
    )
    p.add_argument(
        "--sandbox-type",
        default="bwrap",
        choices=["bwrap", "unsafe_no_isolation"],
        help="where code benchmarks run the model's code: bwrap (isolated, default) or "
        "unsafe_no_isolation (a plain subprocess of this machine; only for code you trust)",
    )
    p.add_argument(
        "--sandbox-pool-size", type=int, default=None, help="code programs run at once (default: the CPUs)"
    )
    p.add_argument(
        "--sandbox-memory-mb", type=int, default=512, help="memory of each sandboxed process, MiB (512)"
    )
    p.add_argument("--debug", action="store_true", help="tracebacks and debug logging")
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a table")


def _fail(flag: str, reason: str) -> int:
    print(f"error: {flag}: {reason}", file=sys.stderr)
    return 2


def build_config(args: argparse.Namespace):
    """TaskConfig from parsed flags; raises ValueError("--flag: reason") on bad input."""
    from evalscope.eval.config import TaskConfig

    data: dict[str, Any] = {
        "model": args.model,
        "api_url": args.api_url,
        "api_key": args.api_key,
        "api": args.api,
        "datasets": args.datasets,
        "dataset_dir": args.dataset_dir,
        "dataset_hub": args.dataset_hub,
        "repeats": args.repeats,
        "eval_batch_size": args.eval_batch_size,
        "timeout": args.timeout,
        "max_retries": args.max_retries,
        "stream": args.stream,
        "work_dir": args.work_dir,
        "use_cache": args.use_cache,
        "seed": args.seed,
        "debug": args.debug,
        "no_test_connection": args.no_test_connection,
        "judge_strategy": args.judge_strategy,
        "sandbox_type": args.sandbox_type,
        "sandbox_pool_size": args.sandbox_pool_size,
        "sandbox_memory_mb": args.sandbox_memory_mb,
    }
    if args.limit is not None:
        data["limit"] = args.limit
    if args.judge_model_args is not None:
        try:
            data["judge_model_args"] = json.loads(args.judge_model_args)
        except json.JSONDecodeError as exc:
            raise ValueError(f"--judge-model-args: not valid JSON: {exc}") from None
    for flag, key in (("--dataset-args", "dataset_args"), ("--generation-config", "generation_config")):
        raw = getattr(args, key)
        if raw is None:
            continue
        try:
            data[key] = json.loads(raw) if key == "dataset_args" else _json_or_kv(raw)
        except (ValueError, json.JSONDecodeError) as exc:
            raise ValueError(
                f"{flag}: not valid {'JSON' if key == 'dataset_args' else 'JSON or k=v,k=v'}: {exc}"
            ) from None
    try:
        return TaskConfig.model_validate(data)
    except ValidationError as exc:
        from evalscope.fieldnames import cli_message, field_errors

        raise ValueError(cli_message(field_errors(exc)[0])) from None


def run_cli(args: argparse.Namespace) -> int:
    """Entry point of ``evalscope eval``."""
    from evalscope import gates
    from evalscope.datasets import DatasetNotFoundError
    from evalscope.errors import RunFailed
    from evalscope.eval.api import run_task
    from evalscope.eval.loading import DatasetFormatError
    from evalscope.eval.runner import EvalError

    try:
        cfg = build_config(args)
        fail_under = gates.parse_fail_under(args.fail_under, cfg.datasets)
    except ValueError as exc:  # "--flag: reason", or the reason alone when no flag is named
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from evalscope.fieldnames import cli_style

    try:
        with cli_style():  # errors name the flags (--dataset-args gsm8k.local_path), not the fields
            result = run_task(cfg)
    except (DatasetNotFoundError, DatasetFormatError, EvalError) as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except RunFailed as exc:
        # Nothing could be scored: show what was written (the n/a table, the folder), then say why.
        if exc.result is not None:
            _print_result(exc.result, args.json)
        elif exc.output_dir:
            print(f"output: {exc.output_dir}")
        print(f"error: {exc.message}", file=sys.stderr)
        failed = gates.run_failed_checks("eval", cfg.datasets, f"run failed: {exc.message}", cfg.model)
        gates.conclude(failed, args.junit_xml, f"evalscope eval {cfg.model}")
        return 1
    _print_result(result, args.json)
    # CI gates (--fail-under, --junit-xml): the same rule as `evalscope remote eval` (evalscope/gates.py)
    checks = gates.eval_checks(result, fail_under, cfg.model)
    return gates.conclude(checks, args.junit_xml, f"evalscope eval {cfg.model}")


def _print_result(result: dict[str, Any], as_json: bool) -> None:
    """The summary table (or the JSON), then the warnings of a partly failed run and the folder."""
    from rich.console import Console
    from rich.markup import escape

    from evalscope.eval.report import summary_table

    if as_json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return
    console = Console(width=max(Console().width, 120))
    console.print(summary_table(result["result"]))
    for warning in result.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {escape(warning)}", soft_wrap=True)
    counts = result.get("error_counts") or {}
    if counts.get("failed"):
        reasons = ", ".join(f"{k} x{v}" for k, v in counts["by_reason"].items())
        console.print(
            f"[yellow]failed samples:[/] {counts['failed']} of {counts['total']} ({escape(reasons)})",
            soft_wrap=True,
        )
    console.print(f"output: {result['output_dir']}", soft_wrap=True)
    from evalscope.report import report_line

    console.print(escape(report_line(result["output_dir"])), soft_wrap=True)


def benchmarks_cli(args: argparse.Namespace) -> int:
    """Entry point of ``evalscope benchmarks``."""
    from evalscope.eval.benchmarks import get_benchmark, list_benchmarks

    if args.name:
        try:
            items = [get_benchmark(args.name)]
        except KeyError as exc:
            return _fail("name", str(exc.args[0]))
    else:
        items = list_benchmarks()
    if args.json:
        print(json.dumps([b.summary() for b in items], ensure_ascii=False, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Benchmarks")
    for col in ("Name", "Dataset id", "Subsets", "Eval split", "Few-shot", "Metric"):
        table.add_column(col, overflow="fold")
    for b in items:
        subsets = ", ".join(b.subsets) if (args.name or len(b.subsets) <= 5) else f"{len(b.subsets)} subjects"
        shots = f"{b.few_shot_num} from {b.train_split}" if b.few_shot_num else "0"
        table.add_row(b.name, b.dataset_id, subsets, b.eval_split, shots, b.metric_name)
    console = Console()
    console.print(table)
    if args.name:
        console.print(items[0].description)
    return 0
