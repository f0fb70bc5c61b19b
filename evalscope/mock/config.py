"""Configuration of the mock server: one pydantic model whose fields are the CLI flags."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from evalscope import limits
from evalscope.fieldnames import field_errors

DEFAULT_REPLY = "This is a reply from the EvalScope mock server."


class AnswersFileError(ValueError):
    """A scripted answers file that cannot be read or has an invalid row."""


class ScriptedAnswer(BaseModel):
    """One scripted answer: when ``match`` is found in the last user message, reply with ``reply``.

    ``match`` is a plain substring (case-sensitive; the empty string matches everything) unless
    ``regex`` is true, in which case it is a Python regular expression searched in the message.
    """

    model_config = ConfigDict(extra="forbid")

    match: str = ""
    regex: bool = False
    reply: str = ""
    replies: list[str] | None = Field(
        None,
        min_length=1,
        description="replies taken in turn by successive matching requests (the n-th answered one gets "
        "replies[n % len]; a repeated prompt's answers cycle); replaces reply",
    )
    reasoning: str | None = Field(
        None, description="emitted before the reply as reasoning (reasoning_content / thinking)"
    )
    status: int | None = Field(
        None, ge=400, le=599, description="answer with this HTTP error (always, or fail_times times)"
    )
    fail_times: int = Field(0, ge=0, description="fail the first N matching requests, then reply")
    retry_after: float | None = Field(None, ge=0, description="Retry-After seconds sent with the error")
    delay: float = Field(0.0, ge=0, description="seconds to stall before answering")
    finish_reason: str | None = Field(None, description="finish_reason to report instead of the computed one")

    _pattern: re.Pattern[str] | None = PrivateAttr(None)

    @model_validator(mode="after")
    def _check_regex(self) -> ScriptedAnswer:
        if self.regex:
            try:
                self._pattern = re.compile(self.match)
            except re.error as exc:
                raise ValueError(f"match: invalid regular expression: {exc}") from None
        return self

    def reply_for(self, n: int) -> str:
        """The reply of the ``n``-th request this row answers (0-based)."""
        return self.replies[n % len(self.replies)] if self.replies else self.reply

    def matches(self, text: str) -> bool:
        """Whether this row applies to the last user message ``text``."""
        if self._pattern is not None:  # set by validation exactly when regex is on
            return self._pattern.search(text) is not None
        return self.match in text

    @property
    def error_status(self) -> int | None:
        """The HTTP status this row fails with, or None when it never fails."""
        if self.status is not None:
            return self.status
        return 429 if self.fail_times else None


def load_answers(path: str | Path) -> list[ScriptedAnswer]:
    """Read a jsonl answers file (one JSON object per line; blank lines and ``#`` lines skipped)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AnswersFileError(f"cannot read {path}: {exc.strerror or exc}") from None
    rows: list[ScriptedAnswer] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise AnswersFileError(f"{path} line {lineno}: not valid JSON ({exc.msg})") from None
        try:
            rows.append(ScriptedAnswer.model_validate(data))
        except ValueError as exc:
            raise AnswersFileError(f"{path} line {lineno}: {_first_error(exc)}") from None
    return rows


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        field, reason = field_errors(exc)[0]
        return f"{field}: {reason}" if field else reason
    return str(exc)


class MockConfig(BaseModel):
    """Behaviour of the mock server. Each field is also a ``evalscope mock-server`` flag
    (``ttft`` -> ``--ttft``, ``tokens_per_chunk`` -> ``--tokens-per-chunk``)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    model_name: str = Field("mock-model", min_length=1, description="model id listed by /v1/models")
    # timing
    ttft: float = Field(0.0, ge=0, description="seconds before the first token")
    itl: float = Field(0.0, ge=0, description="seconds between two chunks")
    jitter: float = Field(
        0.0, ge=0, le=1, description="relative jitter: each delay is multiplied by uniform(1-j, 1+j)"
    )
    tokens_per_chunk: int = Field(1, ge=1, description="tokens carried by each streamed chunk")
    # prefix-cache model (evalscope/mock/prefix_cache.py): first token after
    # ttft + prefill_per_token * uncached prompt tokens
    prefix_cache: bool = Field(
        False, description="keep recently seen prompt blocks; their tokens cost no prefill time"
    )
    prefill_per_token: float = Field(
        0.0, ge=0, le=1, description="seconds added before the first token per uncached prompt token"
    )
    prefix_cache_blocks: int = Field(
        100_000, ge=1, le=limits.MAX_PREFIX_CACHE_BLOCKS, description="prefix-cache capacity in blocks (LRU)"
    )
    prefix_block_tokens: int = Field(
        512,
        ge=1,
        le=limits.MAX_TOKENS,
        description="tokens per prefix-cache block (a partial block is not cached)",
    )
    # capacity model (evalscope/mock/capacity.py): slots, a FIFO queue, token time growing with the batch
    max_num_seqs: int | None = Field(
        None,
        ge=1,
        le=limits.MAX_PARALLEL,
        description="at most this many requests decode at once; the others wait in a FIFO queue (None: no limit)",
    )
    itl_per_seq: float = Field(
        0.0, ge=0, le=1, description="seconds added to every gap between chunks per request decoding then"
    )
    kv_cache_tokens: int = Field(
        262_144,
        ge=1,
        le=limits.MAX_KV_CACHE_TOKENS,
        description="KV-cache size in tokens that /metrics reports usage against (nothing is evicted)",
    )
    metrics: bool = Field(True, description="serve vLLM-style Prometheus metrics at GET /metrics")
    embedding_dim: int = Field(
        16, ge=1, le=limits.MAX_EMBEDDING_DIM, description="length of each /v1/embeddings vector"
    )
    # output length and content
    output_tokens: int | None = Field(
        None, ge=0, description="fixed output length (default replies only), capped by max_tokens"
    )
    max_output_tokens: int = Field(
        4096, ge=1, description="hard cap on any output; also the length ignore_eos gives without max_tokens"
    )
    default_reply: str = Field(DEFAULT_REPLY, description="reply text when no scripted answer matches")
    echo: bool = Field(False, description="reply with the last user message")
    answers: list[ScriptedAnswer] = Field(
        default_factory=list, description="scripted answers (or a path to a jsonl file of them)"
    )
    # faults
    error_rate: float = Field(0.0, ge=0, le=1, description="fraction of requests answered with an error")
    error_codes: list[int] = Field(default_factory=lambda: [429, 500, 503], min_length=1)
    retry_after: float | None = Field(None, ge=0, description="Retry-After seconds sent with injected errors")
    cut_rate: float = Field(0.0, ge=0, le=1, description="fraction of responses cut off mid-way")
    cut_mode: Literal["abort", "eof"] = Field(
        "abort", description="abort: drop the connection; eof: end the body cleanly but early"
    )
    stall_rate: float = Field(0.0, ge=0, le=1, description="fraction of responses that pause mid-way")
    stall_seconds: float = Field(1.0, ge=0, description="length of an injected stall")
    malformed_rate: float = Field(0.0, ge=0, le=1, description="fraction of responses with a non-JSON chunk")
    seed: int | None = Field(None, description="seed for injected faults and jitter (reproducible runs)")
    # observability and access
    record_timings: bool = Field(False, description="keep per-request server timestamps at /mock/timings")
    record_requests: bool = Field(
        False, description="keep each request's messages and the reply sent at /mock/requests"
    )
    api_key: SecretStr | None = Field(
        None,
        description="if set, requests must carry this key (Bearer, x-api-key, x-goog-api-key, ?key= "
        "or the password of user:password@ in the URL)",
    )
    required_headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="headers every request must carry with exactly these values (else 401)",
    )

    @field_validator("answers", mode="before")
    @classmethod
    def _answers_from_file(cls, value: Any) -> Any:
        if isinstance(value, str | Path):
            try:
                return load_answers(value)
            except AnswersFileError as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("default_reply")
    @classmethod
    def _reply_has_tokens(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must contain at least one token (it is repeated to fill outputs)")
        return value

    @field_validator("error_codes")
    @classmethod
    def _codes_are_errors(cls, value: list[int]) -> list[int]:
        for code in value:
            if not 400 <= code <= 599:
                raise ValueError(f"{code} is not an HTTP error status (400-599)")
        return value
