"""ModelClient against the mock server: all four wire formats, usage, retries, errors."""

from __future__ import annotations

import asyncio
import time

import pytest

from evalscope.client import ApiError, GenerationRequest, ModelClient
from evalscope.mock import count_tokens
from evalscope.mock.config import DEFAULT_REPLY

MSG = [{"role": "user", "content": "Say something nice about the weather today"}]
BASES = {"openai": "/v1", "anthropic": "", "gemini": "/v1beta", "dashscope": ""}


def _gen(api: str, url: str, req: GenerationRequest, **kw):
    async def go():
        async with ModelClient(api=api, url=url, model="m", **kw) as client:
            return await client.generate(req)

    return asyncio.run(go())


@pytest.mark.parametrize("api", ["openai", "anthropic", "gemini", "dashscope"])
@pytest.mark.parametrize("stream", [True, False])
def test_every_api_returns_text_and_exact_usage(mock_server, api, stream):
    srv = mock_server(output_tokens=12, tokens_per_chunk=3, api_key="sk-test")
    c = _gen(api, srv.url + BASES[api], GenerationRequest(messages=MSG, stream=stream), api_key="sk-test")
    assert c.text and c.text.split()[0] == DEFAULT_REPLY.split()[0]
    assert count_tokens(c.text) == 12
    assert c.usage.completion_tokens == 12
    assert c.usage.prompt_tokens == count_tokens(MSG[0]["content"])
    assert c.finish_reason is not None
    assert c.latency > 0 and c.attempts == 1


def test_completions_endpoint_and_reasoning(mock_server):
    srv = mock_server(answers=[{"match": "weather", "reply": "Sunny.", "reasoning": "Look outside"}])
    c = _gen("openai", srv.url + "/v1", GenerationRequest(messages=MSG))
    assert c.text == "Sunny." and c.reasoning == "Look outside"
    c = _gen("openai", srv.url + "/v1/completions", GenerationRequest(prompt="weather?", stream=False))
    assert c.text == "Sunny."  # non-streamed text completions carry the reply only
    assert srv.stats()["by_path"].get("/v1/completions") == 1


def test_wrong_key_is_not_retried(mock_server):
    srv = mock_server(api_key="right")
    with pytest.raises(ApiError) as e:
        _gen(
            "openai",
            srv.url + "/v1",
            GenerationRequest(messages=MSG),
            api_key="wrong",
            max_retries=3,
            backoff_base=0.01,
        )
    assert e.value.status == 401 and e.value.reason == "http_401"
    assert srv.stats()["total"] == 1


def test_429_retried_honouring_retry_after(mock_server):
    srv = mock_server(
        answers=[{"match": "weather", "reply": "ok", "status": 429, "fail_times": 2, "retry_after": 0.2}]
    )
    t = time.perf_counter()
    c = _gen("openai", srv.url + "/v1", GenerationRequest(messages=MSG), max_retries=3, backoff_base=0.001)
    assert c.text == "ok" and c.attempts == 3
    assert time.perf_counter() - t >= 0.35  # two waits of Retry-After 0.2 s, not the 1 ms backoff


def test_500_exhausts_retries(mock_server):
    srv = mock_server(answers=[{"match": "weather", "status": 500}])
    with pytest.raises(ApiError) as e:
        _gen("openai", srv.url + "/v1", GenerationRequest(messages=MSG), max_retries=2, backoff_base=0.001)
    assert e.value.status == 500 and "scripted error" in e.value.message
    assert srv.stats()["total"] == 3


@pytest.mark.parametrize(
    "fault", [{"cut_rate": 1.0}, {"cut_rate": 1.0, "cut_mode": "eof"}, {"malformed_rate": 1.0}]
)
def test_broken_streams_are_retried_then_reported(mock_server, fault):
    srv = mock_server(output_tokens=10, **fault)
    with pytest.raises(ApiError) as e:
        _gen("openai", srv.url + "/v1", GenerationRequest(messages=MSG), max_retries=1, backoff_base=0.001)
    assert e.value.status is None
    assert e.value.reason == ("bad_chunk" if "malformed_rate" in fault else "cut_stream")
    assert srv.stats()["total"] == 2


def test_connection_refused_is_an_api_error():
    with pytest.raises(ApiError) as e:
        _gen("openai", "http://127.0.0.1:9/v1", GenerationRequest(messages=MSG), max_retries=0)
    assert e.value.reason == "connection"


def test_concurrency_bound_and_repr_hides_key(mock_server):
    srv = mock_server(ttft=0.05, output_tokens=3)

    async def go():
        async with ModelClient(
            api="openai", url=srv.url + "/v1", api_key="sk-hidden", model="m", concurrency=2
        ) as client:
            assert "sk-hidden" not in repr(client)
            return await asyncio.gather(*(client.generate(GenerationRequest(messages=MSG)) for _ in range(6)))

    out = asyncio.run(go())
    assert len(out) == 6
    assert srv.stats()["max_in_flight"] <= 2
