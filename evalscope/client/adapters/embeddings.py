"""OpenAI embeddings (``POST {base}/embeddings``): an input-only endpoint.

It generates no text, so it never streams: a whole body becomes one :class:`Delta` carrying only
the server's input token count (``usage.prompt_tokens``, else ``usage.total_tokens``). What the perf
engine counts per request instead of output tokens is the number of inputs the body sent
(:meth:`OpenAIEmbeddingsAdapter.count_inputs`).
"""

from __future__ import annotations

from typing import Any

from evalscope.client.adapters.base import Adapter
from evalscope.client.types import Delta, GenerationRequest

#: EvalScope's ``--api`` values for this endpoint
EMBEDDING_APIS = ("openai_embedding", "embedding")
#: endpoint paths a given URL may end with: replaced by ``/embeddings`` (a URL copied from a chat run)
_KNOWN_PATHS = ("/chat/completions", "/completions", "/responses", "/rerank")


def _input_tokens(body: dict[str, Any]) -> int | None:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    n = usage.get("prompt_tokens")
    if n is None:  # some servers report total_tokens only (the same number for embeddings)
        n = usage.get("total_tokens")
    return n if isinstance(n, int) and not isinstance(n, bool) else None


class OpenAIEmbeddingsAdapter(Adapter):
    """``{model, input: str | list[str]}`` -> ``{data: [{embedding, index}], usage}``."""

    name = "openai_embedding"

    def _endpoint(self, stream: bool) -> str:
        url = self.base_url
        if url.endswith("/embeddings"):
            return url
        for tail in _KNOWN_PATHS:
            if url.endswith(tail):
                return url[: -len(tail)] + "/embeddings"
        return url + "/embeddings"

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The request for ``req``: its prompt (or its messages' text) is the one input."""
        text = (
            req.prompt
            if req.prompt is not None
            else "\n".join(str(m.get("content", "")) for m in req.messages or ())
        )
        body: dict[str, Any] = {"model": self.model, "input": text}
        body.update(req.extra_body)
        return body

    def parse_event(self, event: Any) -> Delta | None:
        return None  # never streamed: a server streaming anyway has nothing for us in its events

    def parse_body(self, body: Any) -> Delta:
        """One whole answer: only its input token count matters (the vectors are not kept)."""
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise ValueError("an embeddings answer has a 'data' list")
        return Delta("", None, "stop", _input_tokens(body), None)

    @staticmethod
    def count_inputs(body: dict[str, Any]) -> int:
        """How many texts the request ``body`` asks to embed."""
        inputs = body.get("input")
        return len(inputs) if isinstance(inputs, list) else 1
