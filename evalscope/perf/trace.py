"""Trace replay (``--dataset workload_trace``): each line of a trace file is one request, sent at its time.

Three row shapes, told apart per line:

- **Mooncake** (FAST'25 traces): ``timestamp`` (ms from the trace's start), ``input_length`` and
  ``output_length`` (tokens) and ``hash_ids`` (one id per 512-token block; equal ids mean the same
  prefix). The prompt is built with the tokenizer: each hash id is one block of words, the same block
  text wherever the id appears, so requests sharing leading ids share byte-identical token prefixes
  (the prefix cache of the server sees what production saw); the prompt has exactly
  ``input_length`` tokens; the reply is asked for exactly ``output_length`` tokens (``max_tokens`` =
  ``min_tokens``, ``ignore_eos``).
- **custom**: ``timestamp`` (ms) and either ``messages`` (chat messages) or ``prompt`` (text), or
  ``input_length`` (and optional ``hash_ids``) as in Mooncake; optional ``output_length``.
- **EvalScope's** ``workload_trace``: ``timestamp`` (seconds, or an ISO-8601 string) and ``body`` (the
  whole request body, sent as it is; ``stream`` follows ``--stream``); optional ``completion_tokens``
  (with ``dataset_args.match_output_length``: ``max_tokens`` and ``ignore_eos``).

Send times are the timestamps relative to the earliest one, divided by ``--trace-speedup``.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from evalscope.perf.arguments import PerfArguments
from evalscope.perf.prompts import PromptItem, PromptSourceError, Tokenizer, _content

#: tokens per ``hash_ids`` block in Mooncake's traces
BLOCK_TOKENS = 512
#: prompts whose token count is checked with the tokenizer after building (the words make it exact
#: by construction; the check catches a tokenizer that merges them after all)
CHECK_SAMPLE = 32


@dataclass
class TraceRow:
    """One request of a trace, before its prompt is built."""

    at: float  # seconds after the trace's first request (before the speed-up)
    input_length: int | None = None
    output_length: int | None = None
    hash_ids: tuple[int, ...] = ()
    messages: tuple[tuple[str, str], ...] | None = None
    prompt: str | None = None
    body: dict[str, Any] | None = None


@dataclass
class Trace:
    """The requests of a trace, in send order: their prompts and send offsets (seconds after t0)."""

    items: list[PromptItem]
    offsets: np.ndarray

    @property
    def mean_rate(self) -> float:
        """Requests per second over the replay (for sizing the client processes)."""
        span = float(self.offsets[-1]) if len(self.offsets) else 0.0
        return len(self.offsets) / span if span > 0 else float(len(self.offsets))


def _bad(lineno: int, reason: str) -> PromptSourceError:
    return PromptSourceError("dataset_path", f"line {lineno}: {reason}")


def _seconds(value: Any, lineno: int) -> float:
    """EvalScope's timestamp: seconds as a number or numeric string, or an ISO-8601 time."""
    if isinstance(value, bool):
        raise _bad(lineno, "timestamp: not a number")
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        s = value.strip()
        try:
            return float(s)
        except ValueError:
            pass
        try:
            dt = datetime.fromisoformat(s[:-1] + "+00:00" if s[-1:] in "Zz" else s)
        except ValueError:
            raise _bad(
                lineno, f"timestamp: {value[:40]!r} is neither a number nor an ISO-8601 time"
            ) from None
        return (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
    raise _bad(lineno, "timestamp: not a number")


def _count(row: dict[str, Any], key: str, lineno: int, minimum: int) -> int | None:
    value = row.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 1 << 24:
        raise _bad(lineno, f"{key}: must be an integer from {minimum} to {1 << 24}")
    return value


def parse_row(row: Any, lineno: int) -> TraceRow:
    """One trace line as a :class:`TraceRow`; :class:`PromptSourceError` naming the line and key."""
    if not isinstance(row, dict):
        raise _bad(lineno, "expected a JSON object")
    if "timestamp" not in row:
        raise _bad(lineno, "timestamp: missing")
    if "body" in row:  # EvalScope's workload_trace: seconds
        body = row["body"]
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except json.JSONDecodeError as exc:
                raise _bad(lineno, f"body: not valid JSON ({exc.msg})") from None
        if not isinstance(body, dict):
            raise _bad(lineno, "body: must be a JSON object")
        return TraceRow(
            at=_seconds(row["timestamp"], lineno),
            output_length=_count(row, "completion_tokens", lineno, 1),
            body=body,
        )
    ts = row["timestamp"]
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        raise _bad(lineno, "timestamp: must be a number of milliseconds")
    out = TraceRow(at=float(ts) / 1000.0, output_length=_count(row, "output_length", lineno, 1))
    if isinstance(row.get("messages"), list):
        msgs = row["messages"]
        if not msgs or not all(isinstance(m, dict) for m in msgs):
            raise _bad(lineno, "messages: must be a non-empty list of {role, content} objects")
        out.messages = tuple((str(m.get("role", "user")), _content(m.get("content"))) for m in msgs)
    elif isinstance(row.get("prompt"), str):
        out.prompt = row["prompt"]
    else:
        out.input_length = _count(row, "input_length", lineno, 1)
        if out.input_length is None:
            raise _bad(lineno, "needs input_length (Mooncake), messages or prompt (or EvalScope's body)")
        ids = row.get("hash_ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise _bad(lineno, "hash_ids: must be a list of integers")
        out.hash_ids = tuple(ids)
    return out


def read_trace(path: Path) -> list[TraceRow]:
    """The rows of a trace file in send order (sorted by time; a stable sort keeps ties in file order)."""
    rows: list[TraceRow] = []
    try:
        with path.open(encoding="utf-8-sig") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    data = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise _bad(lineno, f"not valid JSON ({exc.msg})") from None
                rows.append(parse_row(data, lineno))
    except OSError as exc:
        raise PromptSourceError("dataset_path", f"cannot read {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise PromptSourceError("dataset_path", f"{path} is not UTF-8 text ({exc.reason})") from None
    if not rows:
        raise PromptSourceError("dataset_path", f"{path} has no requests")
    rows.sort(key=lambda r: r.at)
    return rows


class BlockWords:
    """Prompt text of an exact token count from words that are one token each, whatever surrounds them.

    A word qualifies when it is ASCII letters or digits, is one token alone and two tokens when
    repeated with a space (so a space-separated run of them is exactly one token per word, under
    byte-level BPE, SentencePiece or word-level tokenizers alike); the mock server counts each such
    word as one token too. Block ``h``'s words are drawn from a generator seeded by ``(seed, h)``:
    the same block text wherever the id appears.
    """

    def __init__(self, tokenizer: Tokenizer, seed: int) -> None:
        candidates = sorted(
            {
                w
                for w in (tokenizer.decode([i]).strip() for i in tokenizer.usable_ids)
                if w.isascii() and w.isalnum()
            }
        )
        alone = tokenizer.count_batch(candidates)
        paired = tokenizer.count_batch([f"{w} {w}" for w in candidates])
        words = [w for w, a, b in zip(candidates, alone, paired, strict=True) if a == 1 and b == 2]
        if len(words) < 16:
            raise PromptSourceError(
                "tokenizer_path",
                "the tokenizer has too few plain words that stay one token each; cannot build exact lengths",
            )
        self.words = np.array(words, dtype=object)
        self.seed = seed
        self._blocks: dict[int, list[str]] = {}

    def block(self, h: int) -> list[str]:
        """The words of block ``h`` (``BLOCK_TOKENS`` of them), made once."""
        words = self._blocks.get(h)
        if words is None:
            rng = np.random.default_rng([self.seed, h & 0xFFFFFFFFFFFF, 1 if h < 0 else 0])
            words = self.words[rng.integers(0, len(self.words), BLOCK_TOKENS)].tolist()
            self._blocks[h] = words
        return words

    def unique(self, n: int, key: int) -> list[str]:
        """``n`` words drawn for one request alone (its tail past its hash blocks)."""
        rng = np.random.default_rng([self.seed, key, 2])
        return self.words[rng.integers(0, len(self.words), n)].tolist()

    def prompt(self, length: int, hash_ids: tuple[int, ...], key: int) -> str:
        """``length`` words: the blocks of ``hash_ids`` in order (the last one cut), then unique words."""
        words: list[str] = []
        for h in hash_ids:
            if len(words) >= length:
                break
            words.extend(self.block(h))
        del words[length:]
        if len(words) < length:
            words.extend(self.unique(length - len(words), key))
        return " ".join(words)


def load_trace(args: PerfArguments, tokenizer: Tokenizer | None) -> Trace:
    """The trace of ``--dataset-path`` as prompts and send offsets (``--number`` keeps the first N
    requests; ``--trace-speedup`` divides the times). Raises :class:`PromptSourceError` naming the flag."""
    path = Path(args.dataset_path or "")
    rows = read_trace(path)
    if "number" in args.model_fields_set:
        rows = rows[: max(args.number)]
    needs_tokens = any(r.input_length is not None for r in rows)
    if needs_tokens and tokenizer is None:
        raise PromptSourceError(
            "tokenizer_path",
            "a trace with input_length needs a local Hugging Face tokenizer to build prompts of exactly "
            "that many tokens",
        )
    if any(r.body is not None for r in rows) and args.api != "openai":
        raise PromptSourceError("api", "EvalScope's trace rows carry an OpenAI body: use --api openai")
    words = BlockWords(tokenizer, args.seed or 0) if needs_tokens and tokenizer is not None else None
    match_output = bool(args.trace_match_output)
    items: list[PromptItem] = []
    checked: list[tuple[str, int]] = []
    for k, r in enumerate(rows):
        if r.body is not None:
            out = r.output_length if match_output else None
            items.append(PromptItem(body=json.dumps(r.body, ensure_ascii=False), output_tokens=out))
            continue
        if r.input_length is not None and words is not None:
            text = words.prompt(r.input_length, r.hash_ids, k)
            if len(checked) < CHECK_SAMPLE:
                checked.append((text, r.input_length))
            item = PromptItem(prompt=text, input_tokens=r.input_length, output_tokens=r.output_length)
        elif r.messages is not None:
            item = PromptItem(messages=r.messages, output_tokens=r.output_length)
        else:
            item = PromptItem(prompt=r.prompt or "", output_tokens=r.output_length)
        items.append(item)
    if checked and tokenizer is not None:
        counts = tokenizer.count_batch([t for t, _ in checked])
        for (_, want), got in zip(checked, counts, strict=True):
            if got != want:
                raise PromptSourceError(
                    "tokenizer_path", f"a prompt built for {want} tokens counts {got} with this tokenizer"
                )
    t0 = rows[0].at
    offsets = np.fromiter(((r.at - t0) / args.trace_speedup for r in rows), dtype=float, count=len(rows))
    return Trace(items=items, offsets=offsets)
