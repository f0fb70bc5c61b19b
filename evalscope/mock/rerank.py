"""The mock's ``POST /v1/rerank`` (vLLM / Jina / Cohere shape): deterministic scores from token overlap.

A document's ``relevance_score`` is the share of the query's distinct tokens (the mock's tokenizer,
lower-cased) that also occur in the document: 1.0 when it holds every query word, 0.0 when none.
Results are sorted by score, highest first (ties by index), and cut to ``top_n`` when given.
``usage.prompt_tokens`` counts what a cross-encoder reads: the query once per document plus the
document, summed over the documents.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from aiohttp import web

from evalscope.client.probe import PROBE_HEADER
from evalscope.mock.embeddings import bad_request, read_json_request
from evalscope.mock.tokenizer import count_tokens

_WORD = re.compile(r"[A-Za-z0-9_]+|[^\sA-Za-z0-9_]")


def _terms(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def relevance(query: str, document: str) -> float:
    """The mock's score of ``document`` for ``query`` (recomputable by tests)."""
    q = _terms(query)
    if not q:
        return 0.0
    return round(len(q & _terms(document)) / len(q), 6)


def rerank_usage(query: str, documents: list[str]) -> int:
    """``usage.prompt_tokens`` of a rerank request: each (query, document) pair's tokens, summed."""
    q = count_tokens(query)
    return sum(q + count_tokens(d) for d in documents)


def _documents(body: dict[str, Any]) -> list[str] | None:
    docs = body.get("documents")
    if not isinstance(docs, list) or not docs:
        return None
    out = []
    for d in docs:  # Cohere v1 and Jina also take {"text": ...} objects
        text = d.get("text") if isinstance(d, dict) else d
        if not isinstance(text, str):
            return None
        out.append(text)
    return out


async def handle_rerank(request: web.Request) -> web.StreamResponse:
    """``{model, query, documents, top_n?, return_documents?}`` -> ``{id, model, results, usage}``."""
    from evalscope.mock.app import STATE  # the app imports this module

    body = await read_json_request(request)
    if isinstance(body, web.Response):
        return body
    st = request.app[STATE]
    cfg = st.cfg
    query = body.get("query")
    if not isinstance(query, str):
        return bad_request("'query' must be a string", "query")
    docs = _documents(body)
    if docs is None:
        return bad_request(
            "'documents' must be a non-empty list of strings (or of {text} objects)", "documents"
        )
    top_n = body.get("top_n")
    if top_n is not None and (isinstance(top_n, bool) or not isinstance(top_n, int) or top_n < 1):
        return bad_request("'top_n' must be a positive integer", "top_n")
    if request.headers.get(PROBE_HEADER):  # a connection test: counted apart from the workload
        st.probes += 1
        return web.json_response({"results": [], "usage": {"prompt_tokens": 0, "total_tokens": 0}})
    st.total += 1
    st.by_path[request.path] += 1
    st.prompts[query] += 1
    st.in_flight += 1
    st.max_in_flight = max(st.max_in_flight, st.in_flight)
    try:
        wait = st.delay(cfg.ttft)  # the whole answer comes after the time to first token
        if wait > 0:
            await asyncio.sleep(wait)
        scored = sorted(((i, relevance(query, d)) for i, d in enumerate(docs)), key=lambda x: (-x[1], x[0]))
        if top_n is not None:
            scored = scored[:top_n]
        results = []
        for i, score in scored:
            r: dict[str, Any] = {"index": i, "relevance_score": score}
            if body.get("return_documents"):
                r["document"] = {"text": docs[i]}
            results.append(r)
        tokens = rerank_usage(query, docs)
        st.by_status[200] += 1
        return web.json_response(
            {
                "id": f"rerank-{st.total}",
                "model": body.get("model") or cfg.model_name,
                "results": results,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )
    finally:
        st.in_flight -= 1
