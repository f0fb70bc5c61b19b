"""Rerank (``POST {base}/rerank``, the shape vLLM, Jina and Cohere share): an input-only endpoint.

``{model, query, documents: [str], top_n?}`` -> ``{results: [{index, relevance_score}], usage}``.
It generates no text, so it never streams: a whole body becomes one :class:`Delta` carrying only
the server's input token count (``usage.prompt_tokens``, else ``usage.total_tokens``). What the perf
engine counts per request instead of output tokens is the number of documents the body sent
(:meth:`OpenAIRerankAdapter.count_inputs`).

A request's query and documents come from its messages, as EvalScope builds them: the first
message's text is the query, each later message's text a document. A bare prompt is the query of
one fixed document (EvalScope's behaviour for a plain-text dataset).
"""

from __future__ import annotations

from typing import Any

from evalscope.client.adapters.base import Adapter
from evalscope.client.types import Delta, GenerationRequest, message_text

#: EvalScope's ``--api`` values for this endpoint
RERANK_APIS = ("openai_rerank", "rerank")
#: the document a bare prompt is ranked against (EvalScope 1.14's text, so the bodies match)
DEFAULT_DOCUMENT = "This is a test document for reranking."
#: ``extra_args`` keys that configure EvalScope's ``random_rerank`` dataset: never sent to the server
DATASET_KEYS = ("num_documents", "document_length_ratio")
#: endpoint paths a given URL may end with: replaced by ``/rerank`` (a URL copied from another run)
_KNOWN_PATHS = ("/chat/completions", "/completions", "/responses", "/embeddings")


def _input_tokens(body: dict[str, Any]) -> int | None:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        return None
    n = usage.get("prompt_tokens")
    if n is None:  # vLLM and Jina report total_tokens only (the same number: nothing is generated)
        n = usage.get("total_tokens")
    return n if isinstance(n, int) and not isinstance(n, bool) else None


class OpenAIRerankAdapter(Adapter):
    """``{model, query, documents}`` -> ``{results: [{index, relevance_score}], usage}``."""

    name = "openai_rerank"

    def _endpoint(self, stream: bool) -> str:
        url = self.base_url
        if url.endswith("/rerank") or url.endswith("/reranks"):  # /reranks: EvalScope 1.14's path
            return url
        for tail in _KNOWN_PATHS:
            if url.endswith(tail):
                return url[: -len(tail)] + "/rerank"
        return url + "/rerank"

    def body(self, req: GenerationRequest) -> dict[str, Any]:
        """The request for ``req``: first message the query, later ones the documents."""
        if req.messages is not None and req.messages:
            texts = [message_text(m) for m in req.messages]
            query, documents = texts[0], texts[1:] or [DEFAULT_DOCUMENT]
        else:
            query, documents = req.prompt_text(), [DEFAULT_DOCUMENT]
        body: dict[str, Any] = {"model": self.model, "query": query, "documents": documents}
        body.update((k, v) for k, v in req.extra_body.items() if k not in DATASET_KEYS)
        return body

    def parse_event(self, event: Any) -> Delta | None:
        return None  # never streamed

    def parse_body(self, body: Any) -> Delta:
        """One whole answer: checked for a ``results`` list; only its input token count is kept."""
        if not isinstance(body, dict) or not isinstance(body.get("results"), list):
            raise ValueError("a rerank answer has a 'results' list")
        for r in body["results"]:
            if not isinstance(r, dict) or not isinstance(r.get("index"), int):
                raise ValueError("each rerank result has an integer 'index'")
        return Delta("", None, "stop", _input_tokens(body), None)

    @staticmethod
    def count_inputs(body: dict[str, Any]) -> int:
        """How many documents the request ``body`` asks to rank."""
        docs = body.get("documents")
        return len(docs) if isinstance(docs, list) else 1
