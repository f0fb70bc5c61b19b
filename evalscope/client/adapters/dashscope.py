"""DashScope native text generation (``/api/v1/services/aigc/text-generation/generation``)."""

from __future__ import annotations

from typing import Any

from evalscope.client.adapters.base import Adapter, optional
from evalscope.client.types import Delta, GenerationRequest

PATH = "/services/aigc/text-generation/generation"


class DashScopeAdapter(Adapter):
    """DashScope: streaming is switched on by the ``X-DashScope-SSE`` header, output under ``output``."""

    name = "dashscope"

    def _endpoint(self, stream: bool) -> str:
        url = self.base_url
        if url.endswith("/generation"):
            return url
        if url.endswith("/api/v1"):
            return url + PATH
        return url + "/api/v1" + PATH

    def stream_headers(self) -> dict[str, str]:
        return {"X-DashScope-SSE": "enable"}

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        params: dict[str, Any] = {"result_format": "message"}
        if req.stream:
            # deltas rather than the whole text so far in every event
            params["incremental_output"] = True
        optional(
            params,
            max_tokens=req.max_tokens,
            temperature=req.temperature,
            top_p=req.top_p,
            top_k=req.top_k,
            stop=req.stop,
            seed=req.seed,
        )
        body = {"model": self.model, "input": {"messages": req.chat_messages()}, "parameters": params}
        body.update(req.extra_body)
        return body

    def parse_event(self, event: Any) -> Delta | None:
        return self._parse(event, streaming=True)

    def parse_body(self, body: Any) -> Delta:
        return self._parse(body, streaming=False)

    def _parse(self, body: dict[str, Any], streaming: bool) -> Delta:
        output = body.get("output") or {}
        choices = output.get("choices")
        if choices:
            choice = choices[0]
            message = choice.get("message") or {}
            text = message.get("content")
            reasoning = message.get("reasoning_content")
            finish = choice.get("finish_reason")
        else:
            text, reasoning, finish = output.get("text"), None, output.get("finish_reason")
        if finish == "null":  # DashScope sends the string "null" until the last event
            finish = None
        usage = body.get("usage") or {}
        if not streaming:
            text = text or ""
        return Delta(
            text or (None if streaming else ""),
            reasoning or None,
            finish,
            usage.get("input_tokens"),
            usage.get("output_tokens"),
        )

    def error_in_event(self, event: Any) -> str | None:
        if isinstance(event, dict) and event.get("code") and not event.get("output"):
            return f"{event.get('code')}: {event.get('message', '')}"
        return None
