"""The official openai SDK against the mock: chat and completions, streamed and not, exact usage."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai
import pytest

from evalscope.mock import count_tokens
from evalscope.mock.config import DEFAULT_REPLY

MESSAGES = [
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "What is 2+2? Answer, please."},
]
PROMPT_TOKENS = count_tokens("You are terse.\nWhat is 2+2? Answer, please.")


def _client(srv) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.url + "/v1", api_key="EMPTY", max_retries=0)


def test_prompt_token_rule_is_the_documented_one():
    assert (
        PROMPT_TOKENS == 4 + 1 + 9
    )  # "You are terse ." / newline is free / "What is 2 + 2 ? Answer , please ."
    assert count_tokens("你好，世界 ok") == 6
    assert count_tokens("") == 0


def test_chat_non_streaming_usage(mock_server):
    srv = mock_server()
    r = _client(srv).chat.completions.create(model="m", messages=MESSAGES)
    assert r.object == "chat.completion"
    assert r.choices[0].message.role == "assistant"
    assert r.choices[0].message.content == DEFAULT_REPLY
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens == PROMPT_TOKENS
    assert r.usage.completion_tokens == count_tokens(DEFAULT_REPLY)
    assert r.usage.total_tokens == PROMPT_TOKENS + count_tokens(DEFAULT_REPLY)


def test_chat_streaming_role_chunk_content_and_usage(mock_server):
    srv = mock_server(answers=[{"match": "2+2", "reply": "The answer is 4."}], tokens_per_chunk=2)
    stream = _client(srv).chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    first = chunks[0]
    assert first.choices[0].delta.role == "assistant" and first.choices[0].delta.content == ""
    content_chunks = [c for c in chunks if c.choices and c.choices[0].delta.content]
    text = "".join(c.choices[0].delta.content for c in content_chunks)
    assert text == "The answer is 4."
    assert len(content_chunks) == 3  # 5 tokens in chunks of 2
    finish = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert [c.choices[0].finish_reason for c in finish] == ["stop"]
    usage_chunk = chunks[-1]
    assert usage_chunk.choices == []
    assert usage_chunk.usage.prompt_tokens == PROMPT_TOKENS
    assert usage_chunk.usage.completion_tokens == count_tokens(text) == 5
    assert len({c.id for c in chunks}) == 1


def test_chat_stream_without_include_usage_has_no_usage(mock_server):
    srv = mock_server()
    chunks = list(_client(srv).chat.completions.create(model="m", messages=MESSAGES, stream=True))
    assert all(c.usage is None for c in chunks)
    assert all(c.choices for c in chunks)


def test_completions_streaming_and_not(mock_server):
    srv = mock_server(output_tokens=7)
    client = _client(srv)
    r = client.completions.create(model="m", prompt="Once upon a time")
    assert r.object == "text_completion"
    assert r.usage.prompt_tokens == 4 and r.usage.completion_tokens == 7
    assert count_tokens(r.choices[0].text) == 7
    chunks = list(
        client.completions.create(
            model="m", prompt="Once upon a time", stream=True, stream_options={"include_usage": True}
        )
    )
    text = "".join(c.choices[0].text for c in chunks if c.choices)
    assert text == r.choices[0].text
    assert chunks[-1].usage.completion_tokens == 7 and chunks[-1].usage.prompt_tokens == 4


@pytest.mark.parametrize("stream", [False, True])
def test_scripted_reply_cut_at_max_tokens(mock_server, stream):
    srv = mock_server(answers=[{"match": "long", "reply": "one two three four five six"}])
    client = _client(srv)
    msgs = [{"role": "user", "content": "a long one"}]
    if stream:
        chunks = list(
            client.chat.completions.create(
                model="m", messages=msgs, max_tokens=4, stream=True, stream_options={"include_usage": True}
            )
        )
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        finish = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
        usage = chunks[-1].usage
    else:
        r = client.chat.completions.create(model="m", messages=msgs, max_tokens=4)
        text, finish, usage = r.choices[0].message.content, [r.choices[0].finish_reason], r.usage
    assert text == "one two three four"
    assert finish == ["length"]
    assert usage.completion_tokens == 4


def test_models_lists_the_model_name(mock_server):
    srv = mock_server(model_name="qwen-mock")
    assert [m.id for m in _client(srv).models.list()] == ["qwen-mock"]


def test_exact_lengths_from_min_max_tokens_and_ignore_eos(mock_server):
    srv = mock_server()
    client = _client(srv)
    msgs = [{"role": "user", "content": "hi"}]
    r = client.chat.completions.create(model="m", messages=msgs, max_tokens=50, extra_body={"min_tokens": 50})
    assert r.usage.completion_tokens == 50 and count_tokens(r.choices[0].message.content) == 50
    r = client.chat.completions.create(
        model="m", messages=msgs, max_tokens=33, extra_body={"ignore_eos": True}
    )
    assert r.usage.completion_tokens == 33 and r.choices[0].finish_reason == "length"
    assert count_tokens(r.choices[0].message.content) == 33


def test_continuous_usage_and_token_id_prompts(mock_server):
    srv = mock_server(output_tokens=3)
    body = {
        "model": "m",
        "prompt": [1, 2, 3, 4, 5],
        "stream": True,
        "stream_options": {"include_usage": True, "continuous_usage_stats": True},
    }
    r = httpx.post(srv.url + "/v1/completions", json=body)
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: {")]
    assert [e["usage"]["completion_tokens"] for e in events] == [1, 2, 3, 3, 3]
    assert all(e["usage"]["prompt_tokens"] == 5 for e in events)


def test_max_in_flight_counts_concurrent_requests(mock_server):
    srv = mock_server(ttft=0.8)
    client = _client(srv)
    with ThreadPoolExecutor(6) as pool:
        list(pool.map(lambda _: client.chat.completions.create(model="m", messages=MESSAGES), range(6)))
    stats = srv.stats()
    assert stats["max_in_flight"] == 6 and stats["in_flight"] == 0
