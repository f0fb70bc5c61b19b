"""Typed request and result models shared by every wire adapter."""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, model_validator


class GenerationRequest(BaseModel):
    """One generation request, independent of the wire protocol.

    Give either ``messages`` (chat) or ``prompt`` (plain text); adapters convert between the two
    when their protocol needs the other shape.
    """

    model_config = ConfigDict(extra="forbid")

    messages: list[dict[str, Any]] | None = None
    prompt: str | None = None
    max_tokens: int | None = Field(default=2048, ge=1)
    temperature: float | None = 0.0
    top_p: float | None = None
    top_k: int | None = None
    stop: list[str] | str | None = None
    seed: int | None = None
    min_tokens: int | None = None
    stream: bool = True
    extra_body: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_input(self) -> GenerationRequest:
        if self.messages is None and self.prompt is None:
            raise ValueError("give either messages or prompt")
        return self

    def chat_messages(self) -> list[dict[str, Any]]:
        """The request as a chat message list (a bare prompt becomes one user message)."""
        if self.messages is not None:
            return self.messages
        return [{"role": "user", "content": self.prompt}]

    def prompt_text(self) -> str:
        """The request as one prompt string (chat messages are joined by newlines)."""
        if self.prompt is not None:
            return self.prompt
        return "\n".join(message_text(m) for m in self.messages or [])

    def stop_list(self) -> list[str] | None:
        """``stop`` normalised to a list (or None)."""
        if self.stop is None:
            return None
        return [self.stop] if isinstance(self.stop, str) else list(self.stop)


def message_text(message: dict[str, Any]) -> str:
    """The plain text of one chat message whose content may be a string or a list of parts."""
    content = message.get("content")
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


class Usage(BaseModel):
    """Token counts as reported by the server; None means the server did not say."""

    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Completion(BaseModel):
    """The result of one generation: text, reasoning, why it stopped, usage and timing."""

    text: str = ""
    reasoning: str = ""
    finish_reason: str | None = None
    usage: Usage = Field(default_factory=Usage)
    latency: float = 0.0
    ttft: float | None = None
    attempts: int = 1


class Delta(NamedTuple):
    """What one decoded stream event (or one whole non-streamed body) contributes.

    Token counts are cumulative values reported by the server, None when the event carries none.
    """

    text: str | None = None
    reasoning: str | None = None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


EMPTY_DELTA = Delta()
