"""The SSE framer and each adapter's declared shapes, without a server."""

from __future__ import annotations

import pytest

from evalscope.client import GenerationRequest, SSEDecoder, StreamAccumulator, StreamError, make_adapter
from evalscope.client.adapters import (
    AnthropicAdapter,
    DashScopeAdapter,
    GeminiAdapter,
    OpenAIChatAdapter,
    OpenAICompletionsAdapter,
)
from evalscope.client.errors import error_message, parse_retry_after

STREAM = (
    b'data: {"a": 1}\n\n'
    b'event: message\r\ndata: {"b": 2}\r\n\r\n'
    b": a comment\n\n"
    b"id:7\ndata:line1\ndata:line2\n\n"
    b"data: [DONE]\n\n"
)


@pytest.mark.parametrize("step", [1, 2, 3, 7, 1000])
def test_sse_decoder_frames_events_split_anywhere(step):
    dec = SSEDecoder()
    out = []
    for i in range(0, len(STREAM), step):
        out.extend(dec.feed(STREAM[i : i + step]))
    out.extend(dec.flush())
    assert out == [b'{"a": 1}', b'{"b": 2}', b"line1\nline2", b"[DONE]"]


def test_sse_decoder_flush_returns_unterminated_event():
    dec = SSEDecoder()
    assert dec.feed(b"data: x") == []
    assert dec.flush() == [b"x"]
    assert dec.flush() == []


@pytest.mark.parametrize(
    "api,url,stream,expected",
    [
        ("openai", "http://h/v1", True, "http://h/v1/chat/completions"),
        ("openai", "http://h/v1/", True, "http://h/v1/chat/completions"),
        ("openai", "http://h/v1/chat/completions", True, "http://h/v1/chat/completions"),
        ("openai", "http://h/v1/completions", True, "http://h/v1/completions"),
        ("anthropic", "http://h", True, "http://h/v1/messages"),
        ("anthropic", "http://h/v1", True, "http://h/v1/messages"),
        ("gemini", "http://h/v1beta", True, "http://h/v1beta/models/m:streamGenerateContent?alt=sse"),
        ("gemini", "http://h/v1beta", False, "http://h/v1beta/models/m:generateContent"),
        (
            "gemini",
            "http://h/v1beta/models/m:generateContent",
            True,
            "http://h/v1beta/models/m:streamGenerateContent?alt=sse",
        ),
        ("dashscope", "http://h", True, "http://h/api/v1/services/aigc/text-generation/generation"),
        ("dashscope", "http://h/api/v1", False, "http://h/api/v1/services/aigc/text-generation/generation"),
    ],
)
def test_endpoints(api, url, stream, expected):
    assert make_adapter(api, url, "m").endpoint(stream) == expected


def test_unknown_api_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown api 'foo'"):
        make_adapter("foo", "http://h", "m")


def test_openai_chat_body_asks_for_usage_and_keeps_key_in_header():
    ad = make_adapter("openai", "http://h/v1", "m", api_key="sk-secret", headers={"X-A": "1"})
    assert isinstance(ad, OpenAIChatAdapter)
    req = GenerationRequest(
        messages=[{"role": "user", "content": "hi"}],
        max_tokens=5,
        top_k=3,
        stop=["x"],
        extra_body={"ignore_eos": True},
    )
    body = ad.body(req)
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 5 and body["top_k"] == 3 and body["ignore_eos"] is True
    assert "top_p" not in body and "sk-secret" not in str(body)
    h = ad.headers(True)
    assert h["Authorization"] == "Bearer sk-secret" and h["X-A"] == "1"
    assert "sk-secret" not in repr(ad)


def test_completions_adapter_uses_prompt():
    ad = make_adapter("openai", "http://h/v1/completions", "m")
    assert isinstance(ad, OpenAICompletionsAdapter)
    body = ad.body(
        GenerationRequest(messages=[{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])
    )
    assert body["prompt"] == "a\nb" and "messages" not in body
    d = ad.parse_event({"choices": [{"text": "x", "finish_reason": None}]})
    assert d.text == "x"


def test_openai_events():
    ad = OpenAIChatAdapter("http://h/v1", "m")
    assert ad.parse_event({"choices": [{"delta": {"role": "assistant"}}]}).text is None
    d = ad.parse_event({"choices": [{"delta": {"reasoning_content": "r"}, "finish_reason": None}]})
    assert d.reasoning == "r" and d.text is None
    d = ad.parse_event({"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}})
    assert (d.prompt_tokens, d.completion_tokens) == (3, 4)
    assert ad.parse_event({"choices": []}) is None


def test_anthropic_body_and_events():
    ad = AnthropicAdapter("http://h", "claude", api_key="k")
    body = ad.body(
        GenerationRequest(
            messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
            stop="END",
        )
    )
    assert body["system"] == "be brief" and body["messages"] == [{"role": "user", "content": "hi"}]
    assert body["stop_sequences"] == ["END"]
    assert ad.headers(True)["x-api-key"] == "k" and "Authorization" not in ad.headers(True)
    assert (
        ad.parse_event({"type": "message_start", "message": {"usage": {"input_tokens": 9}}}).prompt_tokens
        == 9
    )
    assert (
        ad.parse_event({"type": "content_block_delta", "delta": {"type": "text_delta", "text": "a"}}).text
        == "a"
    )
    assert (
        ad.parse_event(
            {"type": "content_block_delta", "delta": {"type": "thinking_delta", "thinking": "t"}}
        ).reasoning
        == "t"
    )
    d = ad.parse_event(
        {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 5}}
    )
    assert d.finish_reason == "end_turn" and d.completion_tokens == 5
    assert ad.parse_event({"type": "ping"}) is None
    full = ad.parse_body(
        {
            "content": [{"type": "thinking", "thinking": "t"}, {"type": "text", "text": "x"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 1, "output_tokens": 2},
        }
    )
    assert full == ("x", "t", "end_turn", 1, 2)


def test_gemini_body_and_events():
    ad = GeminiAdapter("http://h/v1beta", "gem", api_key="k")
    body = ad.body(
        GenerationRequest(
            messages=[
                {"role": "system", "content": "s"},
                {"role": "user", "content": "u"},
                {"role": "assistant", "content": "a"},
            ],
            max_tokens=7,
            seed=1,
        )
    )
    assert body["systemInstruction"] == {"parts": [{"text": "s"}]}
    assert [c["role"] for c in body["contents"]] == ["user", "model"]
    assert body["generationConfig"]["maxOutputTokens"] == 7 and body["generationConfig"]["seed"] == 1
    assert ad.headers(True)["x-goog-api-key"] == "k"
    ev = {
        "candidates": [
            {"content": {"parts": [{"text": "th", "thought": True}, {"text": "x"}]}, "finishReason": "STOP"}
        ],
        "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 3, "thoughtsTokenCount": 1},
    }
    assert ad.parse_event(ev) == ("x", "th", "STOP", 2, 4)
    assert ad.parse_event({"candidates": [{"content": {"parts": []}}]}).text is None


def test_dashscope_body_and_events():
    ad = DashScopeAdapter("http://h", "qwen", api_key="k")
    body = ad.body(GenerationRequest(prompt="hi", max_tokens=4))
    assert body["input"]["messages"] == [{"role": "user", "content": "hi"}]
    assert (
        body["parameters"]["incremental_output"] is True and body["parameters"]["result_format"] == "message"
    )
    assert ad.headers(True)["X-DashScope-SSE"] == "enable" and "X-DashScope-SSE" not in ad.headers(False)
    ev = {
        "output": {"choices": [{"message": {"role": "assistant", "content": "x"}, "finish_reason": "null"}]},
        "usage": {"input_tokens": 2, "output_tokens": 1},
    }
    assert ad.parse_event(ev) == ("x", None, None, 2, 1)
    assert ad.error_in_event({"code": "Throttling", "message": "slow down"}) == "Throttling: slow down"


def _stream(*events: bytes) -> bytes:
    return b"".join(b"data: " + e + b"\n\n" for e in events)


def test_accumulator_skips_role_only_chunk_and_records_output_times():
    acc = StreamAccumulator(OpenAIChatAdapter("http://h/v1", "m"))
    acc.feed(_stream(b'{"choices":[{"delta":{"role":"assistant","content":""}}]}'), 1.0)
    acc.feed(_stream(b'{"choices":[{"delta":{"content":"ab"}}]}'), 2.0)
    acc.feed(
        _stream(
            b'{"choices":[{"delta":{"content":"c"},"finish_reason":"stop"}]}',
            b'{"choices":[],"usage":{"prompt_tokens":1,"completion_tokens":3}}',
            b"[DONE]",
        ),
        3.0,
    )
    acc.close()
    assert acc.out_times == [2.0, 3.0] and acc.text == "abc" and acc.completion_tokens == 3


def test_accumulator_cut_and_bad_chunks():
    acc = StreamAccumulator(OpenAIChatAdapter("http://h/v1", "m"))
    acc.feed(_stream(b'{"choices":[{"delta":{"content":"ab"}}]}'), 1.0)
    with pytest.raises(StreamError) as e:
        acc.close()
    assert e.value.reason == "cut_stream"
    acc = StreamAccumulator(OpenAIChatAdapter("http://h/v1", "m"))
    with pytest.raises(StreamError) as e:
        acc.feed(_stream(b"{not json"), 1.0)
    assert e.value.reason == "bad_chunk"
    acc = StreamAccumulator(OpenAIChatAdapter("http://h/v1", "m"))
    with pytest.raises(StreamError) as e:
        acc.feed(_stream(b'{"error": {"message": "overloaded"}}'), 1.0)
    assert e.value.reason == "api_error" and "overloaded" in e.value.message


def test_retry_after_and_error_message():
    assert parse_retry_after("2") == 2.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert 0 <= parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") < 1
    assert error_message(b'{"error": {"message": "rate limited"}}') == "rate limited"
    assert error_message(b"plain") == "plain"


def test_request_needs_input():
    with pytest.raises(ValueError, match="messages or prompt"):
        GenerationRequest()


FAST_CASES = [
    b'{"id":"x","choices":[{"index":0,"delta":{"content":"hi"},"logprobs":null,"finish_reason":null}]}',
    b'{"id":"x","choices":[{"index":0,"delta":{"content":"a\\"b"},"finish_reason":null}]}',
    b'{"id":"x","choices":[{"index":0,"delta":{"content":"\\u4e2d"},"finish_reason":null}]}',
    '{"choices":[{"index":0,"delta":{"content":"中文"},"finish_reason":null}]}'.encode(),
    b'{"choices":[{"index":0,"delta":{"content":"end"},"finish_reason":"stop"}]}',
    b'{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null}],"usage":{"prompt_tokens":1,'
    b'"completion_tokens":2}}',
    b'{"choices":[{"index":0,"delta":{"content":"x"},"logprobs":null,"finish_reason":null}],"usage":null}',
    b'{"choices":[{"index":0,"delta":{"content":"x","reasoning_content":"r"},"finish_reason":null}]}',
    b'{"choices":[{"index":0,"delta":{"role":"assistant","content":"x"},"finish_reason":null}]}',
    b'{"choices":[{"index":0,"delta":{"content":"x"},"finish_reason":null},'
    b'{"index":1,"delta":{"content":"y"},"finish_reason":null}]}',
    b'{"choices":[{"index":0,"delta":{"content":""},"finish_reason":null}]}',
    b'{"choices": [{"index": 0, "delta": {"content": "spaced"}, "finish_reason": null}]}',
    b'{"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"bare"}}]}',
    b'{"choices":[{"index":0,"delta":{"content":"v"},"logprobs":null,"finish_reason":null,"stop_reason":null}]}',
    b'{"choices":[{"index":0,"delta":{"content":"s"},"finish_reason":null,"matched_stop":null}],"usage":null}',
    b'{"choices":[{"index":0,"delta":{"content":"k"},"finish_reason":"length","stop_reason":null}]}',
    b'{"choices":[{"index":0,"delta":{"content":"u"},"stop_reason":"x"}]}',
]


@pytest.mark.parametrize("data", FAST_CASES)
def test_fast_path_never_disagrees_with_full_parse(data):
    import json

    ad = OpenAIChatAdapter("http://h/v1", "m")
    fast = ad.fast_text(data)
    full = ad.parse_event(json.loads(data))
    if fast is not None:
        assert fast == full.text and full.finish_reason is None and full.reasoning is None
        assert full.completion_tokens is None


def test_fast_path_taken_for_plain_chunks():
    ad = OpenAIChatAdapter("http://h/v1", "m")
    assert [ad.fast_text(d) for d in FAST_CASES] == [
        "hi",
        None,
        None,
        "中文",
        None,
        None,
        "x",
        None,
        None,
        None,
        "",
        None,
        "bare",
        "v",
        "s",
        None,
        None,
    ]
    comp = OpenAICompletionsAdapter("http://h/v1/completions", "m")
    assert (
        comp.fast_text(b'{"choices":[{"index":0,"text":" t","logprobs":null,"finish_reason":null}]}') == " t"
    )
    assert comp.fast_text(b'{"choices":[{"index":0,"text":" t"}]}') == " t"
    assert comp.fast_text(b'{"choices":[{"index":0,"text":" t","finish_reason":"stop"}]}') is None


CHAT_STREAM = (
    b'data: {"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"a"},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"b"},"finish_reason":null}]}\r\n\r\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"c"},"finish_reason":null}]}\n\n'
    b'id: 5\ndata: {"choices":[{"index":0,"delta":{"content":"d"},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"reasoning_content":"r"},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{"content":"f"},"finish_reason":null}]}\n\n'
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
    b'data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":6}}\n\n'
    b"data: [DONE]\n\n"
)


def _events_of(stream: bytes) -> list[bytes]:
    return [e + b"\n\n" for e in stream.replace(b"\r\n", b"\n").split(b"\n\n") if e]


@pytest.mark.parametrize("chunking", ["events", "bytes", "sevens", "whole", "pairs"])
def test_accumulator_same_result_however_the_network_splits_it(chunking):
    """The one-whole-event fast path and the framer agree: same text, tokens and output events."""
    if chunking == "events":
        pieces = _events_of(CHAT_STREAM)
    elif chunking == "pairs":
        ev = _events_of(CHAT_STREAM)
        pieces = [b"".join(ev[i : i + 2]) for i in range(0, len(ev), 2)]
    else:
        step = {"bytes": 1, "sevens": 7, "whole": len(CHAT_STREAM)}[chunking]
        pieces = [CHAT_STREAM[i : i + step] for i in range(0, len(CHAT_STREAM), step)]
    acc = StreamAccumulator(OpenAIChatAdapter("http://h/v1", "m"))
    for i, piece in enumerate(pieces):
        acc.feed(piece, float(i))
    acc.close()
    assert acc.out_parts == ["a", "b", "c", "d", "r", "f"] and acc.text == "abcdf"
    assert acc.finish_reason == "stop" and acc.completion_tokens == 6 and acc.done
    assert len(acc.out_times) == 6
