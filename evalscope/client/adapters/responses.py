"""The OpenAI Responses API (``POST {base}/responses``), streamed or not.

Request: ``{model, input, max_output_tokens, temperature, top_p, stream}`` (``input`` is the prompt
string, or the chat messages as ``[{role, content}]``). Streamed, the answer is typed SSE events;
what matters for timing and counting:

- ``response.output_text.delta`` (and ``response.refusal.delta``): output text, ``delta`` field;
- ``response.reasoning_text.delta`` / ``response.reasoning_summary_text.delta``: reasoning;
- ``response.completed`` / ``response.incomplete``: the final ``response`` object with ``usage``
  (``input_tokens``, ``output_tokens``); incomplete because of ``max_output_tokens`` is ``length``;
- ``response.failed`` / ``error``: an error reported after the 200.

Every other event (``response.created``, ``response.in_progress``, ``..._item.added``, ``...done``)
carries no output. There is no ``[DONE]``: the stream is complete when it has its final event.
"""

from __future__ import annotations

from typing import Any

from evalscope.client.adapters.base import Adapter, optional
from evalscope.client.types import Delta, GenerationRequest

#: EvalScope's ``--api`` values for this endpoint
RESPONSES_APIS = ("openai_responses", "openai_response", "responses")

_TEXT_EVENTS = frozenset(("response.output_text.delta", "response.refusal.delta"))
_REASONING_EVENTS = frozenset(("response.reasoning_text.delta", "response.reasoning_summary_text.delta"))
_FINAL_EVENTS = frozenset(("response.completed", "response.incomplete"))
#: endpoint paths a given URL may end with: replaced by ``/responses`` (a URL copied from a chat run)
_KNOWN_PATHS = ("/chat/completions", "/completions", "/embeddings", "/rerank")


def _usage(response: dict[str, Any]) -> tuple[int | None, int | None]:
    usage = response.get("usage")
    if not isinstance(usage, dict):
        return None, None
    return usage.get("input_tokens"), usage.get("output_tokens")


def _finish(response: dict[str, Any]) -> str:
    if response.get("status") == "incomplete":
        reason = (response.get("incomplete_details") or {}).get("reason")
        return "length" if reason in (None, "max_output_tokens") else str(reason)
    return "stop"


class OpenAIResponsesAdapter(Adapter):
    """``POST {base}/responses``: ``output_text`` deltas, usage on the final ``response`` object."""

    name = "openai_responses"

    def _endpoint(self, stream: bool) -> str:
        url = self.base_url
        if url.endswith("/responses"):
            return url
        for tail in _KNOWN_PATHS:
            if url.endswith(tail):
                return url[: -len(tail)] + "/responses"
        return url + "/responses"

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The request for ``req``; the Responses API has no ``stop``, ``top_k``, ``seed`` or
        ``min_tokens`` (OpenAI refuses unknown fields): pass server extras in ``extra_body``."""
        body: dict[str, Any] = {"model": self.model, "input": req.prompt}
        if req.prompt is None:
            body["input"] = [
                {"role": m.get("role", "user"), "content": m.get("content")} for m in req.chat_messages()
            ]
        optional(body, max_output_tokens=req.max_tokens, temperature=req.temperature, top_p=req.top_p)
        body["stream"] = req.stream
        body.update(req.extra_body)
        return body

    def parse_event(self, event: Any) -> Delta | None:
        kind = event.get("type")
        if kind in _TEXT_EVENTS:
            return Delta(event.get("delta") or None)
        if kind in _REASONING_EVENTS:
            return Delta(None, event.get("delta") or None)
        if kind in _FINAL_EVENTS:
            response = event.get("response") or {}
            return Delta(None, None, _finish(response), *_usage(response))
        return None

    def parse_body(self, body: Any) -> Delta:
        """A whole ``response`` object: the text of its ``message`` items' ``output_text`` parts."""
        if not isinstance(body, dict) or not isinstance(body.get("output"), list):
            raise ValueError("a Responses API answer has an 'output' list")
        text: list[str] = []
        reasoning: list[str] = []
        for item in body["output"]:
            kind = item.get("type")
            if kind == "message":
                parts = item.get("content") or []
                text += [p.get("text", "") for p in parts if p.get("type") == "output_text"]
            elif kind == "reasoning":
                parts = (item.get("content") or []) + (item.get("summary") or [])
                reasoning += [p.get("text", "") for p in parts]
        return Delta("".join(text), "".join(reasoning) or None, _finish(body), *_usage(body))

    def error_in_event(self, event: Any) -> str | None:
        """``response.failed`` (the error on its response), an ``error`` event, or a failed body."""
        if not isinstance(event, dict):
            return None
        if event.get("type") == "error":
            return str(event.get("message") or event.get("code") or event)
        response = event.get("response") if event.get("type") == "response.failed" else event
        if isinstance(response, dict) and (response.get("status") == "failed" or response.get("error")):
            err = response.get("error")
            msg = (err.get("message") or err.get("code")) if isinstance(err, dict) else err
            return str(msg) if msg else "response failed"
        return None
