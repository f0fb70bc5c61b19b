"""Scripted answers, echo, stats, timings, auth, process mode and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import openai
import pytest

from evalscope.cli import build_parser
from evalscope.mock import MockConfig, MockServer, ScriptedAnswer, count_tokens, load_answers
from evalscope.mock.cli import config_from_args

CHAT = "/v1/chat/completions"


def _ask(url: str, text: str, **extra) -> httpx.Response:
    body = {"model": "m", "messages": [{"role": "user", "content": text}], **extra}
    return httpx.post(url + CHAT, json=body, timeout=30)


def test_first_matching_row_wins_regex_and_substring(mock_server):
    srv = mock_server(
        answers=[
            {"match": r"\d+\s*\+\s*\d+", "regex": True, "reply": "math"},
            {"match": "hello", "reply": "greeting"},
            {"match": "", "reply": "catch-all"},
        ]
    )
    assert _ask(srv.url, "what is 3 + 4, hello").json()["choices"][0]["message"]["content"] == "math"
    assert _ask(srv.url, "hello there").json()["choices"][0]["message"]["content"] == "greeting"
    assert _ask(srv.url, "anything").json()["choices"][0]["message"]["content"] == "catch-all"


def test_match_uses_the_last_user_message(mock_server):
    srv = mock_server(answers=[{"match": "second", "reply": "B"}, {"match": "first", "reply": "A"}])
    body = {
        "model": "m",
        "messages": [
            {"role": "user", "content": "second"},
            {"role": "assistant", "content": "B"},
            {"role": "user", "content": [{"type": "text", "text": "the first one"}]},
        ],
    }
    r = httpx.post(srv.url + CHAT, json=body).json()
    assert r["choices"][0]["message"]["content"] == "A"
    assert r["usage"]["prompt_tokens"] == count_tokens("second\nB\nthe first one")


def test_fail_times_with_retry_after_then_success(mock_server):
    srv = mock_server(answers=[{"match": "flaky", "reply": "ok now", "fail_times": 2, "retry_after": 1}])
    first, second, third = (_ask(srv.url, "flaky question") for _ in range(3))
    assert [first.status_code, second.status_code, third.status_code] == [429, 429, 200]
    assert first.headers["Retry-After"] == "1"
    assert third.json()["choices"][0]["message"]["content"] == "ok now"
    # the openai SDK's own retries honour Retry-After and get through
    srv.reset_stats()
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=2)
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "flaky"}])
    assert r.choices[0].message.content == "ok now"
    assert srv.stats()["by_status"] == {"200": 1, "429": 2}
    assert srv.stats()["faults"]["scripted_error"] == 2


def test_replies_cycle_per_row_and_skip_failed_requests(mock_server):
    srv = mock_server(
        answers=[
            {"match": "again", "replies": ["one", "two", "three"], "fail_times": 1, "status": 500},
            {"match": "other", "replies": ["x"]},
        ]
    )
    got = [_ask(srv.url, "again?") for _ in range(5)]
    assert [r.status_code for r in got] == [500, 200, 200, 200, 200]
    # the failed request took no reply; the answered ones take them in turn, round again after the last
    assert [r.json()["choices"][0]["message"]["content"] for r in got[1:]] == ["one", "two", "three", "one"]
    assert _ask(srv.url, "other").json()["choices"][0]["message"]["content"] == "x"  # its own counter
    srv.reset_stats()  # counters start again
    assert _ask(srv.url, "again").status_code == 500
    assert _ask(srv.url, "again").json()["choices"][0]["message"]["content"] == "one"


def test_status_row_always_fails(mock_server):
    srv = mock_server(answers=[{"match": "boom", "status": 500}])
    assert [_ask(srv.url, "boom").status_code for _ in range(3)] == [500, 500, 500]


def test_delay_row_makes_clients_time_out(mock_server):
    srv = mock_server(answers=[{"match": "slow", "reply": "late", "delay": 1.0}])
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0, timeout=0.2)
    with pytest.raises(openai.APITimeoutError):
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "slow"}])


def test_scripted_finish_reason_and_reasoning(mock_server):
    srv = mock_server(
        answers=[{"match": "", "reply": "42", "reasoning": "think", "finish_reason": "tool_calls"}]
    )
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="x", max_retries=0)
    r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}])
    assert r.choices[0].finish_reason == "tool_calls"
    assert r.choices[0].message.content == "42"
    assert r.choices[0].message.model_extra["reasoning_content"] == "think"
    assert r.usage.completion_tokens == 2
    chunks = list(
        client.chat.completions.create(model="m", messages=[{"role": "user", "content": "q"}], stream=True)
    )
    kinds = [
        "r" if (c.choices[0].delta.model_extra or {}).get("reasoning_content") else "c"
        for c in chunks
        if c.choices
        and (c.choices[0].delta.content or (c.choices[0].delta.model_extra or {}).get("reasoning_content"))
    ]
    assert kinds == ["r", "c"]  # reasoning first, then content


def test_echo_and_stop_sequences(mock_server):
    srv = mock_server(echo=True)
    r = _ask(srv.url, "repeat after me. please").json()
    assert r["choices"][0]["message"]["content"] == "repeat after me. please"
    r = _ask(srv.url, "repeat after me. please", stop=["."]).json()
    assert r["choices"][0]["message"]["content"] == "repeat after me"
    assert r["choices"][0]["finish_reason"] == "stop" and r["usage"]["completion_tokens"] == 3


def test_answers_file_and_its_errors(tmp_path):
    path = tmp_path / "answers.jsonl"
    path.write_text(
        '# comment\n{"match": "a", "reply": "b"}\n\n{"match": "c", "reply": "d", "status": 503}\n'
    )
    rows = load_answers(path)
    assert rows == [ScriptedAnswer(match="a", reply="b"), ScriptedAnswer(match="c", reply="d", status=503)]
    assert MockConfig(answers=str(path)).answers == rows
    path.write_text('{"match": "a", "reply": "b"}\n{"match": "a", "replly": "b"}\n')
    with pytest.raises(ValueError, match="line 2: replly"):
        MockConfig(answers=str(path))
    path.write_text('{"match": "(", "regex": true}\n')
    with pytest.raises(ValueError, match="line 1: .*invalid regular expression"):
        load_answers(path)


def test_stats_count_requests_per_prompt_and_reset(mock_server):
    srv = mock_server()
    for text in ["q1", "q2", "q1"]:
        _ask(srv.url, text)
    httpx.get(srv.url + "/v1/models")
    s = srv.stats()
    assert s["total"] == 4
    assert s["by_path"] == {CHAT: 3, "/v1/models": 1}
    assert s["prompts"] == {"q1": 2, "q2": 1}
    assert s["by_status"] == {"200": 4}
    srv.reset_stats()
    assert srv.stats()["total"] == 0 and srv.stats()["prompts"] == {}


def test_bad_requests_name_the_field(mock_server):
    srv = mock_server()
    r = httpx.post(srv.url + CHAT, json={"model": "m"})
    assert r.status_code == 400 and "messages" in r.json()["error"]["message"]
    r = httpx.post(
        srv.url + CHAT, json={"model": "m", "messages": [{"role": "user", "content": "x"}], "max_tokens": -1}
    )
    assert r.status_code == 400 and "max_tokens" in r.json()["error"]["message"]
    r = httpx.post(srv.url + CHAT, content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_record_timings_keyed_by_request_id(mock_server):
    srv = mock_server(record_timings=True, ttft=0.1, itl=0.02, output_tokens=5)
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}], "stream": True}
    httpx.post(srv.url + CHAT, json=body, headers={"X-Request-Id": "req-1"})
    httpx.post(srv.url + CHAT, json=body)
    timings = srv.timings()
    assert set(timings) == {"req-1", "2"}
    t = timings["req-1"]
    assert len(t["chunks"]) == 5 and t["first_chunk"] == t["chunks"][0]
    assert 0.08 <= t["first_chunk"] - t["received"] <= 1.0
    assert t["received"] <= t["first_chunk"] <= t["chunks"][-1] <= t["end"]
    assert t["status"] == 200
    # perf_counter is system-wide monotonic: the server's stamps sit inside the client's window
    assert t["end"] <= time.perf_counter()


def test_api_key_required_when_set(mock_server):
    srv = mock_server(api_key="sekret")
    assert _ask(srv.url, "x").status_code == 401
    client = openai.OpenAI(base_url=srv.url + "/v1", api_key="sekret", max_retries=0)
    assert client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}]).choices
    assert "sekret" not in repr(MockConfig(api_key="sekret"))


def test_process_mode_serves_and_stops():
    cfg = MockConfig(output_tokens=3, model_name="proc-model", api_key="k")
    with MockServer(cfg, mode="process") as srv:
        client = openai.OpenAI(base_url=srv.url + "/v1", api_key="k", max_retries=0)
        assert [m.id for m in client.models.list()] == ["proc-model"]
        r = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}])
        assert r.usage.completion_tokens == 3
        assert srv.stats()["total"] == 2
        proc = srv._proc
    assert proc.poll() is not None  # the child exited
    with pytest.raises(httpx.ConnectError):
        httpx.get(srv.url + "/v1/models")


def test_port_in_use_is_a_clear_error(mock_server):
    srv = mock_server()
    with pytest.raises(OSError, match="could not listen|address already in use|Address already in use"):
        MockServer(port=srv.port, mode="process").start()


def test_cli_help_and_bad_flags():
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    out = subprocess.run(
        [sys.executable, "-m", "evalscope", "mock-server", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for flag in [
        "--ttft",
        "--itl",
        "--jitter",
        "--tokens-per-chunk",
        "--output-tokens",
        "--answers",
        "--echo",
        "--error-rate",
        "--error-codes",
        "--retry-after",
        "--cut-rate",
        "--stall-rate",
        "--malformed-rate",
        "--seed",
        "--model-name",
    ]:
        assert flag in out.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "evalscope", "mock-server", "--error-rate", "2"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: --error-rate:") and "Traceback" not in bad.stderr


def test_cli_api_key_from_environment_never_shown(monkeypatch):
    env = {**os.environ, "EVALSCOPE_MOCK_API_KEY": "env-secret-123"}
    out = subprocess.run(
        [sys.executable, "-m", "evalscope", "mock-server", "--help"], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0 and "env-secret-123" not in out.stdout
    monkeypatch.setenv("EVALSCOPE_MOCK_API_KEY", "env-secret-123")
    cfg = config_from_args(build_parser().parse_args(["mock-server"]))
    assert cfg.api_key.get_secret_value() == "env-secret-123"
    monkeypatch.delenv("EVALSCOPE_MOCK_API_KEY")
    assert config_from_args(build_parser().parse_args(["mock-server"])).api_key is None


def test_cli_serves_until_terminated(tmp_path):
    answers = tmp_path / "a.jsonl"
    answers.write_text(json.dumps({"match": "ping", "reply": "pong"}) + "\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evalscope",
            "mock-server",
            "--port",
            "0",
            "--answers",
            str(answers),
            "--model-name",
            "cli-model",
            "--output-tokens",
            "4",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert "listening on http://127.0.0.1:" in line, (
            proc.stderr.read() if proc.poll() is not None else line
        )
        url = line.split("listening on ")[1].split()[0]
        assert _ask(url, "ping?").json()["choices"][0]["message"]["content"] == "pong"
        assert _ask(url, "other").json()["usage"]["completion_tokens"] == 4
        assert httpx.get(url + "/v1/models").json()["data"][0]["id"] == "cli-model"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
