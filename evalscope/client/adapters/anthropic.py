"""Anthropic messages API (``POST {base}/v1/messages``) with its typed stream events."""

from __future__ import annotations

from typing import Any

from evalscope.client.adapters.base import Adapter, optional
from evalscope.client.types import Delta, GenerationRequest, message_text

ANTHROPIC_VERSION = "2023-06-01"


class AnthropicAdapter(Adapter):
    """Anthropic messages: system prompt at top level, usage split over start and delta events."""

    name = "anthropic"

    def _endpoint(self, stream: bool) -> str:
        url = self.base_url
        if url.endswith("/messages"):
            return url
        if url.endswith("/v1"):
            return url + "/messages"
        return url + "/v1/messages"

    def auth_headers(self, api_key: str | None) -> dict[str, str]:
        h = {"anthropic-version": ANTHROPIC_VERSION}
        if api_key:
            h["x-api-key"] = api_key
        return h

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        system = []
        messages = []
        for m in req.chat_messages():
            if m.get("role") == "system":
                system.append(message_text(m))
            else:
                messages.append({"role": m.get("role", "user"), "content": m.get("content", "")})
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "stream": req.stream,
            "max_tokens": req.max_tokens or 4096,
        }
        optional(
            body,
            system="\n".join(system) if system else None,
            temperature=req.temperature,
            top_p=req.top_p,
            top_k=req.top_k,
            stop_sequences=req.stop_list(),
        )
        body.update(req.extra_body)
        return body

    def parse_event(self, event: Any) -> Delta | None:
        kind = event.get("type")
        if kind == "content_block_delta":
            d = event.get("delta") or {}
            dtype = d.get("type")
            if dtype == "text_delta":
                return Delta(d.get("text"), None, None, None, None)
            if dtype == "thinking_delta":
                return Delta(None, d.get("thinking"), None, None, None)
            return None
        if kind == "message_start":
            usage = (event.get("message") or {}).get("usage") or {}
            return Delta(None, None, None, usage.get("input_tokens"), usage.get("output_tokens"))
        if kind == "message_delta":
            usage = event.get("usage") or {}
            stop = (event.get("delta") or {}).get("stop_reason")
            return Delta(None, None, stop, usage.get("input_tokens"), usage.get("output_tokens"))
        return None

    def parse_body(self, body: Any) -> Delta:
        text, thinking = [], []
        for block in body.get("content") or []:
            if block.get("type") == "text":
                text.append(block.get("text", ""))
            elif block.get("type") == "thinking":
                thinking.append(block.get("thinking", ""))
        usage = body.get("usage") or {}
        return Delta(
            "".join(text),
            "".join(thinking) or None,
            body.get("stop_reason"),
            usage.get("input_tokens"),
            usage.get("output_tokens"),
        )

    def error_in_event(self, event: Any) -> str | None:
        if isinstance(event, dict) and event.get("type") == "error":
            err = event.get("error") or {}
            return str(err.get("message", err)) if isinstance(err, dict) else str(err)
        return None
