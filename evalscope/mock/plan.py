"""What one request asks for (format independent) and what the mock will answer."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from evalscope.mock.config import MockConfig, ScriptedAnswer
from evalscope.mock.tokenizer import count_tokens, split_tokens


class BadRequest(ValueError):
    """The request body is not valid for its wire format (answered with HTTP 400)."""


@dataclass
class GenRequest:
    """A generation request, after a wire format has parsed it."""

    model: str
    stream: bool
    prompt_text: str  # what prompt_tokens counts
    last_user: str  # what scripted answers match and /mock/stats counts
    max_tokens: int | None = None
    min_tokens: int | None = None
    ignore_eos: bool = False
    stop: list[str] = field(default_factory=list)
    include_usage: bool = False
    continuous_usage: bool = False
    prompt_token_ids: int | None = None  # a completions prompt given as token ids
    options: dict[str, Any] = field(default_factory=dict)  # format-specific switches


@dataclass
class Plan:
    """The answer: token pieces to emit and how the generation ends."""

    id: str
    created: int
    model: str
    prompt_tokens: int
    reasoning: list[str]
    content: list[str]
    finish: str  # "stop" | "length" | a scripted override
    stop_sequence: str | None = None

    @property
    def completion_tokens(self) -> int:
        return len(self.reasoning) + len(self.content)

    @property
    def text(self) -> str:
        return "".join(self.content)

    @property
    def reasoning_text(self) -> str:
        return "".join(self.reasoning)

    def chunks(self, tokens_per_chunk: int) -> list[tuple[str, str, int]]:
        """(kind, text, n_tokens) per streamed chunk; reasoning chunks come first, kinds never mix."""
        out: list[tuple[str, str, int]] = []
        for kind, pieces in (("reasoning", self.reasoning), ("content", self.content)):
            for i in range(0, len(pieces), tokens_per_chunk):
                group = pieces[i : i + tokens_per_chunk]
                out.append((kind, "".join(group), len(group)))
        return out


def join_text(parts: list[str]) -> str:
    """How several message contents become one prompt text: joined by a newline."""
    return "\n".join(parts)


@lru_cache(maxsize=256)
def _filled(reply: str, n: int) -> tuple[str, ...]:
    unit = split_tokens(reply)
    # A repeated copy must not glue onto the previous one ("...end" + "This" -> "endThis" would
    # re-tokenize as one token), so later copies start with a space.
    again = unit if unit[0][:1].isspace() else [" " + unit[0], *unit[1:]]
    out = list(unit)
    while len(out) < n:
        out.extend(again)
    return tuple(out[:n])


def build_plan(
    req: GenRequest, row: ScriptedAnswer | None, cfg: MockConfig, reply: str | None = None
) -> Plan:
    """Decide the reply for ``req``: scripted row (``reply``: the row's reply for this request when it
    cycles through several), echo, or the default reply filled to length."""
    cap = cfg.max_output_tokens
    limit = min(req.max_tokens, cap) if req.max_tokens is not None else cap
    reasoning = split_tokens(row.reasoning) if row is not None and row.reasoning else []
    filled_to_limit = False
    if row is not None:
        content = split_tokens(row.reply if reply is None else reply)
    elif cfg.echo:
        content = split_tokens(req.last_user)
    else:
        if cfg.output_tokens is not None:
            n = cfg.output_tokens
        elif req.ignore_eos:
            n = limit
            filled_to_limit = True
        else:
            n = max(len(split_tokens(cfg.default_reply)), req.min_tokens or 0)
        content = list(_filled(cfg.default_reply, n)) if n else []

    stop_hit = None
    if req.stop and content:
        text = "".join(content)
        best = -1
        for s in req.stop:
            if s:
                idx = text.find(s)
                if idx >= 0 and (best < 0 or idx < best):
                    best, stop_hit = idx, s
        if stop_hit is not None:
            content = split_tokens(text[:best])
            filled_to_limit = False

    finish = "length" if filled_to_limit else "stop"
    if len(reasoning) >= limit and (reasoning or content):
        if len(reasoning) > limit or content:
            finish = "length"
        reasoning, content = reasoning[:limit], []
    elif len(reasoning) + len(content) > limit:
        content = content[: limit - len(reasoning)]
        finish = "length"
    if row is not None and row.finish_reason:
        finish = row.finish_reason
    prompt_tokens = (
        req.prompt_token_ids if req.prompt_token_ids is not None else count_tokens(req.prompt_text)
    )
    return Plan(
        id=uuid.uuid4().hex,
        created=int(time.time()),
        model=req.model or cfg.model_name,
        prompt_tokens=prompt_tokens,
        reasoning=reasoning,
        content=content,
        finish=finish,
        stop_sequence=stop_hit if finish == "stop" else None,
    )
