"""OpenAI chat completions and text completions (also vLLM, SGLang, DashScope compatible mode)."""

from __future__ import annotations

import re
from typing import Any, ClassVar

from evalscope.client.adapters.base import Adapter, optional
from evalscope.client.types import Delta, GenerationRequest

_new = tuple.__new__  # builds a Delta without NamedTuple's Python-level __new__ (per-token path)


def _usage(event: dict[str, Any]) -> tuple[int | None, int | None]:
    usage = event.get("usage")
    if not usage:
        return None, None
    return usage.get("prompt_tokens"), usage.get("completion_tokens")


# The commonest event of all, in the compact form vLLM, SGLang-compatible and most servers write:
# one choice, a delta holding only an escape-free content string, then only null fields (no finish
# reason, no usage). One regex match costs about a third of decoding the JSON; anything else is
# decoded normally.
_NULLS = rb'(?:,"(?:logprobs|finish_reason|stop_reason|matched_stop)":null)*'
_PLAIN_CHAT = re.compile(
    rb'"choices":\[\{"index":0,"delta":\{"content":"([^"\\]*)"\}' + _NULLS + rb'\}\](?:,"usage":null)?\}$'
).search
_PLAIN_TEXT = re.compile(
    rb'"choices":\[\{"index":0,"text":"([^"\\]*)"' + _NULLS + rb'\}\](?:,"usage":null)?\}$'
).search


class OpenAIChatAdapter(Adapter):
    """``POST {base}/chat/completions``; streamed chunks carry ``choices[0].delta``."""

    name = "openai"
    done_sentinel: ClassVar[bytes | None] = b"[DONE]"
    path = "/chat/completions"

    def _endpoint(self, stream: bool) -> str:
        url = self.base_url
        if url.endswith("/chat/completions") or url.endswith("/completions"):
            return url
        return url + self.path

    def _common(self, req: GenerationRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "stream": req.stream}
        optional(
            body,
            max_tokens=req.max_tokens,
            temperature=req.temperature,
            top_p=req.top_p,
            top_k=req.top_k,
            stop=req.stop,
            seed=req.seed,
            min_tokens=req.min_tokens,
        )
        if req.stream:
            # without it most servers send no usage at all when streaming
            body["stream_options"] = {"include_usage": True}
        return body

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        body = self._common(req)
        body["messages"] = req.chat_messages()
        body.update(req.extra_body)
        return body

    def parse_event(self, event: Any) -> Delta | None:
        choices = event.get("choices")
        usage = event.get("usage")
        p = c = None
        if usage:
            p, c = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if not choices:
            return _new(Delta, (None, None, None, p, c)) if usage else None
        choice = choices[0]
        delta = choice.get("delta")
        if not delta:
            return _new(Delta, (None, None, choice.get("finish_reason"), p, c))
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        return _new(Delta, (delta.get("content"), reasoning, choice.get("finish_reason"), p, c))

    def fast_text(self, data: bytes) -> str | None:
        m = _PLAIN_CHAT(data)
        return m.group(1).decode() if m else None

    def parse_body(self, body: Any) -> Delta:
        p, c = _usage(body)
        choices = body.get("choices") or [{}]
        message = choices[0].get("message") or {}
        reasoning = message.get("reasoning_content") or message.get("reasoning")
        return Delta(message.get("content") or "", reasoning, choices[0].get("finish_reason"), p, c)


class OpenAICompletionsAdapter(OpenAIChatAdapter):
    """``POST {base}/completions`` with a plain ``prompt``; chunks carry ``choices[0].text``."""

    name = "openai-completions"
    path = "/completions"

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        body = self._common(req)
        body["prompt"] = req.prompt_text()
        body.update(req.extra_body)
        return body

    def parse_event(self, event: Any) -> Delta | None:
        choices = event.get("choices")
        p, c = _usage(event)
        if not choices:
            return Delta(None, None, None, p, c) if (p is not None or c is not None) else None
        choice = choices[0]
        return Delta(choice.get("text"), None, choice.get("finish_reason"), p, c)

    def fast_text(self, data: bytes) -> str | None:
        m = _PLAIN_TEXT(data)
        return m.group(1).decode() if m else None

    def parse_body(self, body: Any) -> Delta:
        p, c = _usage(body)
        choices = body.get("choices") or [{}]
        return Delta(choices[0].get("text") or "", None, choices[0].get("finish_reason"), p, c)
