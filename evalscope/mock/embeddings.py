"""The mock's ``POST /v1/embeddings``: deterministic unit vectors, usage counted with the mock's tokenizer.

Each text's vector depends on the text alone: SHA-256 of the UTF-8 text seeds a generator whose
``embedding_dim`` gaussian draws are scaled to length 1. So equal texts get equal vectors across
requests and restarts, and tests can recompute any vector with :func:`embed`.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from typing import Any

from aiohttp import web

from evalscope.client.probe import PROBE_HEADER
from evalscope.mock.tokenizer import count_tokens


def embed(text: str, dim: int) -> list[float]:
    """The unit vector (``dim`` floats) the mock answers for ``text``."""
    rng = random.Random(hashlib.sha256(text.encode("utf-8")).digest())
    v = [rng.gauss(0.0, 1.0) for _ in range(dim)]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return [x / norm for x in v]


def bad_request(message: str, param: str) -> web.Response:
    """OpenAI's 400 shape naming the parameter."""
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": None}}
    return web.json_response(body, status=400)


async def read_json_request(request: web.Request) -> dict[str, Any] | web.Response:
    """The intake of the input-only endpoints (embeddings, rerank): the key checked, the body a JSON
    object; else the error response to send."""
    from evalscope.mock.app import STATE, _authorized  # the app imports this module

    if not _authorized(request, request.app[STATE].cfg):
        return web.json_response(
            {"error": {"message": "invalid API key", "type": "authentication_error"}}, status=401
        )
    try:
        body: Any = await request.json()
    except ValueError:
        return bad_request("the body is not JSON", "body")
    if not isinstance(body, dict):
        return bad_request("the body is not a JSON object", "body")
    return body


async def handle_embeddings(request: web.Request) -> web.StreamResponse:
    """``{model, input: str | list[str]}`` -> ``{object: list, data: [{embedding, index}], model, usage}``."""
    from evalscope.mock.app import STATE  # the app imports this module

    body = await read_json_request(request)
    if isinstance(body, web.Response):
        return body
    st = request.app[STATE]
    cfg = st.cfg
    inputs = body.get("input")
    texts = [inputs] if isinstance(inputs, str) else inputs
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        return bad_request("'input' must be a string or a non-empty list of strings", "input")
    if request.headers.get(PROBE_HEADER):  # a connection test: counted apart from the workload
        st.probes += 1
        return web.json_response(
            {"object": "list", "data": [], "usage": {"prompt_tokens": 0, "total_tokens": 0}}
        )
    st.total += 1
    st.by_path[request.path] += 1
    for t in texts:
        st.prompts[t] += 1
    st.in_flight += 1
    st.max_in_flight = max(st.max_in_flight, st.in_flight)
    try:
        wait = st.delay(cfg.ttft)  # the whole answer comes after the time to first token
        if wait > 0:
            await asyncio.sleep(wait)
        tokens = sum(count_tokens(t) for t in texts)
        answer = {
            "object": "list",
            "data": [
                {"object": "embedding", "index": i, "embedding": embed(t, cfg.embedding_dim)}
                for i, t in enumerate(texts)
            ],
            "model": body.get("model") or cfg.model_name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        st.by_status[200] += 1
        return web.json_response(answer)
    finally:
        st.in_flight -= 1
