"""Injected timing and every fault mode, observed by a client over real HTTP."""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

from evalscope.mock import MockConfig
from evalscope.mock.app import MockState

CHAT = "/v1/chat/completions"
MSGS = [{"role": "user", "content": "hello"}]


def _stream_body(**extra) -> dict:
    return {"model": "m", "messages": MSGS, "stream": True, **extra}


def _timed_stream(url: str, body: dict) -> tuple[float | None, list[float], list[str]]:
    """Send a streamed chat request; return (ttft, arrival time of each content chunk, data lines)."""
    t0 = time.perf_counter()
    arrivals, lines, ttft = [], [], None
    with httpx.stream("POST", url + CHAT, json=body, timeout=30) as r:
        for line in r.iter_lines():
            if not line.startswith("data: "):
                continue
            lines.append(line[6:])
            if line[6:] != "[DONE]":
                delta = json.loads(line[6:])["choices"]
                if delta and delta[0]["delta"].get("content"):
                    now = time.perf_counter() - t0
                    ttft = now if ttft is None else ttft
                    arrivals.append(now)
    return ttft, arrivals, lines


def test_ttft_and_itl_are_injected(mock_server):
    srv = mock_server(ttft=0.2, itl=0.05, output_tokens=8)
    ttft, arrivals, _ = _timed_stream(srv.url, _stream_body())
    assert 0.15 <= ttft <= 1.0
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert len(gaps) == 7
    assert 0.03 * 7 <= sum(gaps) <= 2.0  # mean gap ~0.05 s, generous on a loaded machine
    assert sorted(gaps)[len(gaps) // 2] >= 0.03


def test_non_streaming_takes_the_stream_duration(mock_server):
    srv = mock_server(ttft=0.1, itl=0.05, output_tokens=5)
    t0 = time.perf_counter()
    r = httpx.post(srv.url + CHAT, json={"model": "m", "messages": MSGS}, timeout=30)
    elapsed = time.perf_counter() - t0
    assert r.status_code == 200 and r.json()["usage"]["completion_tokens"] == 5
    assert 0.25 <= elapsed <= 2.0  # 0.1 + 4 * 0.05


def test_tokens_per_chunk_groups_tokens(mock_server):
    srv = mock_server(output_tokens=10, tokens_per_chunk=4)
    _, arrivals, lines = _timed_stream(srv.url, _stream_body())
    assert len(arrivals) == 3  # 4 + 4 + 2


def test_jitter_is_relative_bounded_and_seeded():
    a = MockState(MockConfig(jitter=0.5, seed=3))
    b = MockState(MockConfig(jitter=0.5, seed=3))
    da = [a.delay(0.1) for _ in range(200)]
    assert da == [b.delay(0.1) for _ in range(200)]
    assert all(0.05 <= d <= 0.15 for d in da)
    assert max(da) - min(da) > 0.05  # it really varies
    assert MockState(MockConfig(jitter=0.5)).delay(0.0) == 0.0


def test_error_rate_with_codes_and_retry_after(mock_server):
    srv = mock_server(error_rate=1.0, error_codes=[503], retry_after=2)
    r = httpx.post(srv.url + CHAT, json={"model": "m", "messages": MSGS})
    assert r.status_code == 503 and r.headers["Retry-After"] == "2"
    assert r.json()["error"]["code"] == 503
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model="m", messages=MSGS)
    assert srv.stats()["faults"]["error"] == 2
    assert srv.stats()["by_status"] == {"503": 2}


def _statuses(url: str, n: int) -> list[int]:
    with httpx.Client() as c:
        return [c.post(url + CHAT, json={"model": "m", "messages": MSGS}).status_code for _ in range(n)]


def test_error_rate_is_reproducible_with_a_seed(mock_server):
    cfg = dict(error_rate=0.4, error_codes=[429, 500, 503], seed=11)
    first = _statuses(mock_server(**cfg).url, 40)
    second = _statuses(mock_server(**cfg).url, 40)
    assert first == second
    assert {200, 429, 500, 503} <= set(first)
    srv = mock_server(**cfg)
    _statuses(srv.url, 5)
    srv.reset_stats()  # reset reseeds: the sequence starts over
    assert _statuses(srv.url, 40) == first


def test_cut_stream_abort_is_seen_by_clients(mock_server):
    srv = mock_server(cut_rate=1.0, output_tokens=10, itl=0.01)
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    got = []
    with pytest.raises((openai.APIConnectionError, httpx.RemoteProtocolError)):
        for chunk in client.chat.completions.create(model="m", messages=MSGS, stream=True):
            got.append(chunk.choices[0].delta.content)
    assert 1 <= len(got) <= 6  # role chunk + half the content at most
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(srv.url + CHAT, json={"model": "m", "messages": MSGS})  # non-streamed: body cut short
    assert srv.stats()["faults"]["cut"] == 2


def test_cut_stream_eof_ends_without_finish_or_done(mock_server):
    srv = mock_server(cut_rate=1.0, cut_mode="eof", output_tokens=10)
    _, arrivals, lines = _timed_stream(srv.url, _stream_body())
    assert len(arrivals) == 5
    assert "[DONE]" not in lines
    assert all(json.loads(d)["choices"][0]["finish_reason"] is None for d in lines)


def test_stall_pauses_the_stream_midway(mock_server):
    srv = mock_server(stall_rate=1.0, stall_seconds=0.5, output_tokens=6)
    _, arrivals, _ = _timed_stream(srv.url, _stream_body())
    gaps = [b - a for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert max(gaps) >= 0.4
    assert gaps.index(max(gaps)) == 2  # before the middle chunk (index 3)
    assert srv.stats()["faults"]["stall"] == 1


def test_malformed_chunk_is_not_json(mock_server):
    srv = mock_server(malformed_rate=1.0, output_tokens=6)
    _, _, lines = _timed_stream_raw(srv.url)
    bad = []
    for d in lines:
        try:
            json.loads(d)
        except json.JSONDecodeError:
            if d != "[DONE]":
                bad.append(d)
    assert len(bad) == 1
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    with pytest.raises(json.JSONDecodeError):
        list(client.chat.completions.create(model="m", messages=MSGS, stream=True))
    r = httpx.post(srv.url + CHAT, json={"model": "m", "messages": MSGS})
    assert r.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        json.loads(r.text)


def _timed_stream_raw(url: str, client: httpx.Client | None = None):
    with (client or httpx).stream("POST", url + CHAT, json=_stream_body(), timeout=30) as r:
        lines = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    return None, None, lines


def test_faults_apply_to_a_fraction_only(mock_server):
    srv = mock_server(malformed_rate=0.5, seed=5)
    bad = 0
    client = httpx.Client()
    for _ in range(40):
        _, _, lines = _timed_stream_raw(srv.url, client)
        try:
            [json.loads(d) for d in lines if d != "[DONE]"]
        except json.JSONDecodeError:
            bad += 1
    client.close()
    assert 5 <= bad <= 35
    assert srv.stats()["faults"]["malformed"] == bad


def _send_and_hang_up(port: int, body: dict, read_first: bool) -> None:
    import socket

    data = json.dumps(body).encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(
            b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(data) + data
        )
        if read_first:
            sock.recv(100)  # the headers and role chunk have arrived


@pytest.mark.parametrize("read_first", [False, True])
def test_client_hanging_up_is_counted_quietly(mock_server, caplog, read_first):
    srv = mock_server(
        answers=[{"match": "", "reply": "one two three", "delay": 0 if read_first else 0.3}], ttft=0.3
    )
    with caplog.at_level("DEBUG"):
        _send_and_hang_up(srv.port, _stream_body(), read_first)
        deadline = time.time() + 5
        while srv.stats()["in_flight"] and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.4)
    assert srv.stats()["by_status"] == {"499": 1}
    assert not [r for r in caplog.records if r.levelno >= 40], [r.getMessage() for r in caplog.records]
