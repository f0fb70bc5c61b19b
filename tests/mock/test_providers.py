"""Anthropic (official SDK), Gemini and DashScope wire formats, checked field by field."""

from __future__ import annotations

import json

import anthropic
import httpx
import pytest

from evalscope.mock import count_tokens

REPLY = "Paris is the capital of France."
ANSWERS = [{"match": "capital", "reply": REPLY}]
QUESTION = "What is the capital of France?"


def _sse_data(text: str) -> list[str]:
    return [line[len("data:") :].strip() for line in text.splitlines() if line.startswith("data:")]


# ---------------------------------------------------------------- anthropic


def _anthropic(srv) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=srv.url, api_key="EMPTY", max_retries=0)


def test_anthropic_messages_non_streaming(mock_server):
    srv = mock_server(answers=ANSWERS)
    m = _anthropic(srv).messages.create(
        model="claude-mock",
        max_tokens=100,
        system="Be brief.",
        messages=[{"role": "user", "content": QUESTION}],
    )
    assert m.type == "message" and m.role == "assistant" and m.model == "claude-mock"
    assert [b.type for b in m.content] == ["text"] and m.content[0].text == REPLY
    assert m.stop_reason == "end_turn" and m.stop_sequence is None
    assert m.usage.input_tokens == count_tokens("Be brief.\n" + QUESTION)
    assert m.usage.output_tokens == count_tokens(REPLY)


def test_anthropic_messages_streaming_events(mock_server):
    srv = mock_server(answers=ANSWERS)
    with _anthropic(srv).messages.stream(
        model="claude-mock", max_tokens=100, messages=[{"role": "user", "content": QUESTION}]
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_message()
    # raw event order per Anthropic's streaming docs (the SDK adds derived "text" events)
    raw = [t for t in types if t != "text"]
    assert raw[:3] == ["message_start", "content_block_start", "content_block_delta"]
    assert raw[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert final.content[0].text == REPLY
    assert final.usage.output_tokens == count_tokens(REPLY)
    assert final.usage.input_tokens == count_tokens(QUESTION)


def test_anthropic_raw_stream_has_ping_and_usage(mock_server):
    srv = mock_server(answers=ANSWERS)
    body = {
        "model": "c",
        "max_tokens": 3,
        "stream": True,
        "messages": [{"role": "user", "content": QUESTION}],
    }
    r = httpx.post(srv.url + "/v1/messages", json=body)
    events = [line.split(": ", 1)[1] for line in r.text.splitlines() if line.startswith("event: ")]
    assert events[:3] == ["message_start", "content_block_start", "ping"]
    assert events.count("content_block_delta") == 3
    delta = [json.loads(d) for d in _sse_data(r.text) if '"message_delta"' in d][0]
    assert delta["delta"]["stop_reason"] == "max_tokens"
    assert delta["usage"]["output_tokens"] == 3


def test_anthropic_stop_sequence_and_errors(mock_server):
    srv = mock_server(answers=[*ANSWERS, {"match": "busy", "status": 529}])
    client = _anthropic(srv)
    m = client.messages.create(
        model="c", max_tokens=100, stop_sequences=[" of"], messages=[{"role": "user", "content": QUESTION}]
    )
    assert m.content[0].text == "Paris is the capital"
    assert m.stop_reason == "stop_sequence" and m.stop_sequence == " of"
    assert m.usage.output_tokens == 4
    with pytest.raises(anthropic.APIStatusError) as err:
        client.messages.create(model="c", max_tokens=10, messages=[{"role": "user", "content": "busy?"}])
    assert err.value.status_code == 529
    assert err.value.body["error"]["type"] == "overloaded_error"


def test_anthropic_thinking_block(mock_server):
    srv = mock_server(answers=[{"match": "", "reply": "42", "reasoning": "Six times seven."}])
    m = _anthropic(srv).messages.create(
        model="c", max_tokens=100, messages=[{"role": "user", "content": "q"}]
    )
    assert [b.type for b in m.content] == ["thinking", "text"]
    assert m.content[0].thinking == "Six times seven." and m.content[1].text == "42"
    assert m.usage.output_tokens == count_tokens("Six times seven.") + 1
    with _anthropic(srv).messages.stream(
        model="c", max_tokens=100, messages=[{"role": "user", "content": "q"}]
    ) as s:
        final = s.get_final_message()
    assert [b.type for b in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == "Six times seven." and final.content[1].text == "42"


# ---------------------------------------------------------------- gemini

GEMINI_BODY = {
    "systemInstruction": {"parts": [{"text": "Be brief."}]},
    "contents": [{"role": "user", "parts": [{"text": QUESTION}]}],
    "generationConfig": {"maxOutputTokens": 100},
}


def test_gemini_generate_content(mock_server):
    srv = mock_server(answers=ANSWERS)
    r = httpx.post(srv.url + "/v1beta/models/gemini-mock:generateContent", json=GEMINI_BODY)
    assert r.status_code == 200
    body = r.json()
    cand = body["candidates"][0]
    assert cand["content"]["role"] == "model"
    assert cand["content"]["parts"] == [{"text": REPLY}]
    assert cand["finishReason"] == "STOP"
    prompt = count_tokens("Be brief.\n" + QUESTION)
    assert body["usageMetadata"] == {
        "promptTokenCount": prompt,
        "candidatesTokenCount": count_tokens(REPLY),
        "totalTokenCount": prompt + count_tokens(REPLY),
    }
    assert body["modelVersion"] == "gemini-mock"


def test_gemini_stream_sse_and_json_array(mock_server):
    srv = mock_server(answers=ANSWERS, tokens_per_chunk=3)
    url = srv.url + "/v1beta/models/g:streamGenerateContent"
    body = dict(GEMINI_BODY, generationConfig={"maxOutputTokens": 5})
    r = httpx.post(url, params={"alt": "sse"}, json=body)
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(d) for d in _sse_data(r.text)]
    text = "".join(p["text"] for e in events for p in e["candidates"][0]["content"]["parts"])
    assert text == "Paris is the capital of"
    assert [e["candidates"][0].get("finishReason") for e in events] == [None, None, "MAX_TOKENS"]
    assert events[-1]["usageMetadata"]["candidatesTokenCount"] == 5
    r = httpx.post(url, json=body)  # without alt=sse: one JSON array, streamed
    array = r.json()
    assert isinstance(array, list) and len(array) == 3
    assert array[-1]["candidates"][0]["finishReason"] == "MAX_TOKENS"


def test_gemini_error_shape(mock_server):
    srv = mock_server(error_rate=1.0, error_codes=[429])
    r = httpx.post(srv.url + "/v1beta/models/g:generateContent", json=GEMINI_BODY)
    assert r.status_code == 429
    assert r.json()["error"] == {"code": 429, "message": "injected error 429", "status": "RESOURCE_EXHAUSTED"}


# ---------------------------------------------------------------- dashscope

DS_PATH = "/api/v1/services/aigc/text-generation/generation"


def _ds_body(**params) -> dict:
    return {
        "model": "qwen-mock",
        "input": {"messages": [{"role": "user", "content": QUESTION}]},
        "parameters": {"result_format": "message", **params},
    }


def test_dashscope_non_streaming_message_and_text(mock_server):
    srv = mock_server(answers=ANSWERS)
    body = httpx.post(srv.url + DS_PATH, json=_ds_body()).json()
    choice = body["output"]["choices"][0]
    assert choice == {"finish_reason": "stop", "message": {"role": "assistant", "content": REPLY}}
    q, a = count_tokens(QUESTION), count_tokens(REPLY)
    assert body["usage"] == {"input_tokens": q, "output_tokens": a, "total_tokens": q + a}
    assert body["request_id"]
    text_body = {"model": "q", "input": {"prompt": QUESTION}, "parameters": {"max_tokens": 2}}
    out = httpx.post(srv.url + DS_PATH, json=text_body).json()["output"]
    assert out == {"text": "Paris is", "finish_reason": "length"}


@pytest.mark.parametrize("incremental", [True, False])
def test_dashscope_sse(mock_server, incremental):
    srv = mock_server(answers=ANSWERS)
    r = httpx.post(
        srv.url + DS_PATH,
        json=_ds_body(incremental_output=incremental),
        headers={"X-DashScope-SSE": "enable"},
    )
    assert r.headers["content-type"].startswith("text/event-stream")
    lines = r.text.splitlines()
    assert lines[0] == "id:1" and lines[1] == "event:result" and lines[2] == ":HTTP_STATUS/200"
    events = [json.loads(line[5:]) for line in lines if line.startswith("data:")]
    contents = [e["output"]["choices"][0]["message"]["content"] for e in events]
    finishes = [e["output"]["choices"][0]["finish_reason"] for e in events]
    assert finishes[:-1] == ["null"] * (len(events) - 1) and finishes[-1] == "stop"
    if incremental:
        assert "".join(contents) == REPLY
    else:  # every event carries the whole text so far
        assert contents[-1] == REPLY and contents[-2] == REPLY and contents[0] == "Paris"
    assert [e["usage"]["output_tokens"] for e in events][-1] == count_tokens(REPLY)


def test_dashscope_accept_header_streams_and_errors(mock_server):
    srv = mock_server(answers=[*ANSWERS, {"match": "quota", "status": 429}])
    r = httpx.post(
        srv.url + DS_PATH, json=_ds_body(incremental_output=True), headers={"Accept": "text/event-stream"}
    )
    assert "event:result" in r.text
    bad = _ds_body()
    bad["input"]["messages"][0]["content"] = "over quota"
    r = httpx.post(srv.url + DS_PATH, json=bad)
    assert r.status_code == 429 and r.json()["code"] == "Throttling.RateQuota"
    r = httpx.post(srv.url + DS_PATH, json={"model": "q", "input": {}})
    assert r.status_code == 400 and "input" in r.json()["message"]
