"""``evalscope mock-server``: run the mock model server in the foreground."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from pydantic import ValidationError

from evalscope.fieldnames import cli_message, field_errors
from evalscope.mock.config import MockConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``mock-server`` subcommand."""
    d = MockConfig()
    p = subparsers.add_parser(
        "mock-server",
        help="run an OpenAI-compatible mock model server (no GPU needed)",
        description="An OpenAI-compatible mock model server with injected latency, scripted answers "
        "and faults. Speaks OpenAI chat/completions, completions, embeddings, rerank and the Responses "
        "API, Anthropic messages, Gemini generateContent and DashScope text generation; optional "
        "capacity model, prefix cache and a vLLM-style /metrics. See docs/mock-server.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--port", type=int, default=8801, help="port to listen on (0 = a free port)")
    p.add_argument("--model-name", default=d.model_name, help="model id listed by /v1/models")
    p.add_argument(
        "--api-key",
        default=None,
        help="require this key (Bearer, x-api-key or key=); default $EVALSCOPE_MOCK_API_KEY, "
        "which keeps it out of the process list",
    )
    p.add_argument(
        "--require-header",
        action="append",
        default=None,
        metavar="NAME=VALUE",
        dest="required_headers",
        help="require this header with this value on every request (repeatable)",
    )
    p.add_argument(
        "--loop",
        choices=["auto", "asyncio", "uvloop"],
        default="auto",
        help="event loop: uvloop when installed (auto), or force one",
    )
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    t = p.add_argument_group("timing")
    t.add_argument("--ttft", type=float, default=d.ttft, help="seconds before the first token")
    t.add_argument("--itl", type=float, default=d.itl, help="seconds between chunks")
    t.add_argument(
        "--jitter",
        type=float,
        default=d.jitter,
        help="relative jitter: every delay is multiplied by uniform(1-J, 1+J), 0 <= J <= 1",
    )
    t.add_argument(
        "--tokens-per-chunk", type=int, default=d.tokens_per_chunk, help="tokens per streamed chunk"
    )
    c = p.add_argument_group("prefix cache (first token after ttft + prefill-per-token x uncached tokens)")
    c.add_argument(
        "--prefix-cache",
        action="store_true",
        help="remember recently seen prompt blocks: their tokens cost no prefill time",
    )
    c.add_argument(
        "--prefill-per-token",
        type=float,
        default=d.prefill_per_token,
        help="seconds added before the first token per uncached prompt token",
    )
    c.add_argument(
        "--prefix-cache-blocks",
        type=int,
        default=d.prefix_cache_blocks,
        help="cache capacity in blocks (LRU)",
    )
    c.add_argument(
        "--prefix-block-tokens",
        type=int,
        default=d.prefix_block_tokens,
        help="tokens per cache block (a partial last block is never cached)",
    )
    k = p.add_argument_group(
        "capacity model (slots, a FIFO queue, per-token time growing with the batch; docs/mock-server.md)"
    )
    k.add_argument(
        "--max-num-seqs",
        type=int,
        default=d.max_num_seqs,
        help="at most this many requests decode at once, the others wait in arrival order (None: no limit)",
    )
    k.add_argument(
        "--itl-per-seq",
        type=float,
        default=d.itl_per_seq,
        help="seconds added to every gap between chunks per request decoding at that moment",
    )
    k.add_argument(
        "--kv-cache-tokens",
        type=int,
        default=d.kv_cache_tokens,
        help="KV-cache size in tokens that /metrics reports vllm:kv_cache_usage_perc against",
    )
    k.add_argument(
        "--metrics",
        action=argparse.BooleanOptionalAction,
        default=d.metrics,
        help="serve vLLM-style Prometheus metrics at GET /metrics",
    )
    p.add_argument(
        "--embedding-dim", type=int, default=d.embedding_dim, help="length of each /v1/embeddings vector"
    )
    o = p.add_argument_group("output")
    o.add_argument(
        "--output-tokens",
        type=int,
        default=None,
        help="fixed output length for default replies (still capped by the request's max_tokens)",
    )
    o.add_argument(
        "--max-output-tokens",
        type=int,
        default=d.max_output_tokens,
        help="hard cap on any output; also the length ignore_eos gives without max_tokens",
    )
    o.add_argument("--default-reply", default=d.default_reply, help="reply text, repeated to fill lengths")
    o.add_argument("--echo", action="store_true", help="reply with the last user message")
    o.add_argument(
        "--answers",
        metavar="FILE",
        default=None,
        help='jsonl of scripted answers: {"match": ..., "reply": ..., ...} per line',
    )
    f = p.add_argument_group("faults")
    f.add_argument("--error-rate", type=float, default=d.error_rate, help="fraction answered with an error")
    f.add_argument("--error-codes", type=int, nargs="+", default=d.error_codes, help="statuses to pick from")
    f.add_argument("--retry-after", type=float, default=None, help="Retry-After seconds on injected errors")
    f.add_argument("--cut-rate", type=float, default=d.cut_rate, help="fraction of responses cut mid-way")
    f.add_argument(
        "--cut-mode",
        choices=["abort", "eof"],
        default=d.cut_mode,
        help="abort: drop the connection; eof: end the body cleanly but early",
    )
    f.add_argument("--stall-rate", type=float, default=d.stall_rate, help="fraction of responses that stall")
    f.add_argument("--stall-seconds", type=float, default=d.stall_seconds, help="length of a stall")
    f.add_argument(
        "--malformed-rate",
        type=float,
        default=d.malformed_rate,
        help="fraction of responses with a chunk that is not JSON",
    )
    f.add_argument("--seed", type=int, default=None, help="seed for faults and jitter")
    p.add_argument(
        "--record-timings",
        action="store_true",
        help="keep per-request server timestamps at GET /mock/timings",
    )
    p.add_argument(
        "--record-requests",
        action="store_true",
        help="keep each request's messages and the reply sent at GET /mock/requests (the last 100,000)",
    )
    p.set_defaults(func=run_cli)


def config_from_args(args: argparse.Namespace) -> MockConfig:
    """Build the MockConfig from parsed flags; raises ValueError('--flag: reason') on bad values."""
    values = {name: getattr(args, name) for name in MockConfig.model_fields if hasattr(args, name)}
    if values.get("api_key") is None:  # read here, not as the flag's default, so --help never shows it
        from evalscope.settings import settings

        values["api_key"] = settings().secret("mock_api_key")
    if values.get("answers") is None:
        values.pop("answers", None)
    headers = values.pop("required_headers", None) or []
    if headers:
        pairs = [h.partition("=") for h in headers]
        bad = [h for h, (name, sep, _) in zip(headers, pairs, strict=True) if not sep or not name.strip()]
        if bad:
            raise ValueError(f"--require-header: {bad[0]!r} is not NAME=VALUE")
        values["required_headers"] = {name.strip(): value for name, _, value in pairs}
    try:
        return MockConfig(**values)
    except ValidationError as exc:
        raise ValueError(cli_message(field_errors(exc)[0])) from None


def run_cli(args: argparse.Namespace) -> int:
    """Serve until interrupted; returns the exit code."""
    try:
        cfg = config_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print("error: --port: must be between 0 and 65535", file=sys.stderr)
        return 2
    from evalscope.mock.server import install_uvloop  # aiohttp only when serving

    loop_name = "asyncio"
    if args.loop in ("auto", "uvloop"):
        if install_uvloop():
            loop_name = "uvloop"
        elif args.loop == "uvloop":
            print("error: --loop: uvloop is not installed (pip install 'evalscope[perf]')", file=sys.stderr)
            return 2
    try:
        asyncio.run(_serve(cfg, args.host, args.port, loop_name))
    except OSError as exc:
        if args.debug:
            raise
        print(
            f"error: --port: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr
        )
        return 1
    return 0


async def _serve(cfg: MockConfig, host: str, port: int, loop_name: str) -> None:
    from evalscope.mock.server import start_site

    runner, bound = await start_site(cfg, host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    print(
        f"evalscope mock server listening on http://{host}:{bound} (model {cfg.model_name!r}, "
        f"{loop_name} loop); OpenAI base URL http://{host}:{bound}/v1",
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
