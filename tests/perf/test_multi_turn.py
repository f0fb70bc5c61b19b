"""Multi-turn sessions and the ShareGPT datasets, through the CLI against the mock server.

The mock answers from a cycle of scripted replies and keeps what every request carried
(``record_requests``), so each later turn's history can be checked against the replies the mock
really sent for the earlier turns of the same session.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from evalscope.mock.tokenizer import count_tokens
from evalscope.perf.output import MULTI_TURN_FILE, read_records

REPLIES = ["alpha reply one", "beta reply two two", "gamma three", "delta four four four", "epsilon"]
SHAREGPT = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "sharegpt"


def _cycling_mock(mock_server):
    return mock_server(record_requests=True, answers=[{"match": "", "replies": REPLIES}])


def _conversations(path: Path, turns: list[int]) -> Path:
    """A custom_multi_turn file: conversation i has turns[i] user turns (a system message first in
    the even ones; the file's assistant messages are only turn boundaries)."""
    lines = []
    for i, n in enumerate(turns):
        msgs: list[dict[str, str]] = [{"role": "system", "content": f"system {i}"}] if i % 2 == 0 else []
        for t in range(1, n + 1):
            msgs.append({"role": "user", "content": f"conversation {i} question {t}"})
            if t < n:
                msgs.append({"role": "assistant", "content": "a reference answer that is never sent"})
        lines.append(json.dumps(msgs))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _point(out: Path) -> Path:
    (summary,) = out.rglob("benchmark_summary.json")
    return summary.parent


def check_histories(log: list[dict]) -> int:
    """Every assistant message a request carried is the reply the mock sent to the request made of
    exactly the messages before it; returns how many assistant messages were checked."""
    replies = {json.dumps(e["messages"]): e["reply"] for e in log}
    assert len(replies) == len(log), "two requests carried the same messages: the check would be ambiguous"
    checked = 0
    for e in log:
        msgs = e["messages"]
        for j, m in enumerate(msgs):
            if m["role"] == "assistant":
                before = json.dumps(msgs[:j])
                assert before in replies, f"no request was made of the history before {m}"
                assert m["content"] == replies[before]
                checked += 1
    return checked


def test_cli_multi_turn_sends_the_real_replies(evalscope_cli, mock_server, tmp_path):
    mock = _cycling_mock(mock_server)
    turns = [3, 1, 4, 2, 3]
    data = _conversations(tmp_path / "convs.jsonl", turns)
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", mock.url, "--multi-turn", "--dataset", "custom_multi_turn",
        "--dataset-path", data, "--number", 5, "--parallel", 2, "--think-time", 0.001, 0.01,
        "--outputs-dir", out, "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    log = mock.requests()
    assert len(log) == sum(turns) == 13
    # each later turn carries the mock's real earlier replies of its session
    assert check_histories(log) == sum(n * (n - 1) // 2 for n in turns)
    # ... and the history itself: system message, then user/assistant alternating, ending with the turn
    last = max(log, key=lambda e: len(e["messages"]))["messages"]
    assert [m["role"] for m in last] == ["system"] + ["user", "assistant"] * 3 + ["user"]
    assert last[-1]["content"] == "conversation 2 question 4"
    assert all(m["content"] != "a reference answer that is never sent" for e in log for m in e["messages"])

    point = _point(out)
    summary = json.loads((point / "benchmark_summary.json").read_text())
    assert summary["Total requests"] == summary["Succeed requests"] == 13
    assert summary["Sessions"] == 5 and summary["Requested number"] == 5
    assert summary["Average turns per session"] == 2.6
    multi = json.loads((point / MULTI_TURN_FILE).read_text())
    per_turn = {row["Turn"]: row for row in multi["turns"]}
    # turn t was sent by every conversation with at least t turns
    assert {t: row["Requests"] for t, row in per_turn.items()} == {1: 5, 2: 4, 3: 3, 4: 1}
    assert all(row["Succeed requests"] == row["Requests"] for row in per_turn.values())
    # the history grows, so later turns carry more input tokens (the mock counts them)
    assert per_turn[1]["Average input tokens per request"] < per_turn[2]["Average input tokens per request"]
    assert summary["Average first-turn TTFT (s)"] == per_turn[1]["Average time to first token (s)"]
    sessions = multi["sessions"]
    assert sessions["Sessions"] == sessions["Completed sessions"] == 5 and sessions["Failed sessions"] == 0
    assert sessions["Turns sent"] == 13 and sessions["Most turns in a session"] == 4
    # the per-request records name their session and turn, and keep the reply received
    records = read_records(point / "benchmark_data.db", with_text=True)
    assert sorted((r.session, r.turn) for r in records) == sorted(
        (s, t) for s, n in enumerate(turns) for t in range(1, n + 1)
    )
    assert {r.text for r in records} <= set(REPLIES)
    assert len({r.index for r in records}) == 13
    # a session's turns go out in order, each after the previous reply ended (plus the think time)
    for s in range(5):
        mine = sorted((r for r in records if r.session == s), key=lambda r: r.turn)
        assert all(b.start >= a.end + 0.001 for a, b in zip(mine, mine[1:], strict=False))
    # the console shows the per-turn table
    assert "Per turn" in proc.stdout and "Sessions" in proc.stdout


def test_a_failed_turn_ends_its_session(evalscope_cli, mock_server, tmp_path):
    # every request whose last message is question 2 fails: no session gets past its second turn
    mock = mock_server(
        record_requests=True, answers=[{"match": "question 2", "status": 500}, {"reply": "ok"}]
    )
    data = _conversations(tmp_path / "convs.jsonl", [3, 3, 1])
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", mock.url, "--multi-turn", "--dataset", "custom_multi_turn",
        "--dataset-path", data, "--number", 3, "--parallel", 3, "--outputs-dir", out, "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    multi = json.loads((_point(out) / MULTI_TURN_FILE).read_text())
    assert [(r["Turn"], r["Requests"], r["Succeed requests"]) for r in multi["turns"]] == [
        (1, 3, 3),
        (2, 2, 0),
    ]
    s = multi["sessions"]
    assert (s["Sessions"], s["Completed sessions"], s["Failed sessions"], s["Turns sent"]) == (3, 1, 2, 5)
    assert mock.stats()["by_status"] == {"200": 3, "500": 2} and len(mock.requests()) == 3  # answered ones


def test_random_multi_turn_counts(evalscope_cli, mock_server, word_tokenizer, tmp_path):
    mock = mock_server(record_requests=True)
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", mock.url, "--multi-turn", "--dataset", "random_multi_turn",
        "--tokenizer-path", word_tokenizer, "--min-turns", 2, "--max-turns", 4,
        "--min-prompt-length", 5, "--max-prompt-length", 9, "--number", 12, "--parallel", 4,
        "--max-tokens", 3, "--seed", 7, "--outputs-dir", out, "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    point = _point(out)
    records = read_records(point / "benchmark_data.db")
    per_session: dict[int, list[int]] = {}
    for r in records:
        per_session.setdefault(r.session, []).append(r.turn)
    assert sorted(per_session) == list(range(12))
    for got in per_session.values():
        assert sorted(got) == list(range(1, len(got) + 1)) and 2 <= len(got) <= 4
    log = mock.requests()
    assert len(log) == len(records) == sum(len(t) for t in per_session.values())
    # every user message has 5..9 tokens; the replies are capped at 3 tokens and carried on
    for e in log:
        for m in e["messages"]:
            n = count_tokens(m["content"])
            assert (5 <= n <= 9) if m["role"] == "user" else n == 3
    multi = json.loads((point / MULTI_TURN_FILE).read_text())
    counts = {row["Turn"]: row["Requests"] for row in multi["turns"]}
    assert counts[1] == counts[2] == 12 and 12 >= counts.get(3, 0) >= counts.get(4, 0)
    assert sum(counts.values()) == len(records)
    assert multi["sessions"]["Average turns per session"] == round(len(records) / 12, 4)


def _sharegpt_v3(path: Path) -> Path:
    """The original ShareGPT shape (a JSON array of {id, conversations: [{from, value}]})."""
    rows = [
        {"id": "a", "conversations": [
            {"from": "human", "value": "first question"}, {"from": "gpt", "value": "first answer"},
            {"from": "human", "value": "follow up"}, {"from": "gpt", "value": "second answer"},
        ]},
        {"id": "b", "conversations": []},
        {"id": "c", "conversations": [{"from": "human", "value": "x" * 500}, {"from": "gpt", "value": "long"}]},
        {"id": "d", "conversations": [{"from": "human", "value": "only question"}]},
    ]  # fmt: skip
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    return path


def test_share_gpt_en_one_turn_sends_the_history(evalscope_cli, mock_server, tmp_path):
    mock = mock_server(record_requests=True)
    data = _sharegpt_v3(tmp_path / "sharegpt.json")
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", mock.url, "--dataset", "share_gpt_en", "--dataset-path", data,
        "--max-prompt-length", 100, "--number", 4, "--parallel", 1, "--outputs-dir", out, "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    sent = [e["messages"] for e in mock.requests()]
    # "a" without its trailing reply, "d"; "b" is empty and "c"'s last user message is too long
    a = [
        {"role": "user", "content": "first question"},
        {"role": "assistant", "content": "first answer"},
        {"role": "user", "content": "follow up"},
    ]
    d = [{"role": "user", "content": "only question"}]
    assert sent == [a, d, a, d]
    summary = json.loads((_point(out) / "benchmark_summary.json").read_text())
    assert summary["Succeed requests"] == 4 and "Sessions" not in summary
    assert not (_point(out) / MULTI_TURN_FILE).exists()


def test_share_gpt_swift_jsonl_multi_turn_with_max_turns(evalscope_cli, mock_server, tmp_path):
    mock = _cycling_mock(mock_server)
    # EvalScope's own file shape (swift/sharegpt): {"conversation": [{"human", "assistant"}, ...]}
    rows = [
        {"conversation": [{"human": f"c{i} q{t}", "assistant": f"ref {t}"} for t in range(1, 5)]}
        for i in range(3)
    ]
    data = tmp_path / "common_zh_70k.jsonl"
    data.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", mock.url, "--multi-turn", "--dataset", "share_gpt_zh_multi_turn",
        "--dataset-path", tmp_path, "--max-turns", 3, "--number", 3, "--parallel", 3,
        "--outputs-dir", out, "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    log = mock.requests()
    assert len(log) == 9 and check_histories(log) == 3 * 3
    assert all("ref" not in m["content"] for e in log for m in e["messages"])


@pytest.mark.skipif(
    not SHAREGPT.is_dir(), reason="the shared ShareGPT copy (../shared/datasets/sharegpt) is absent"
)
def test_real_sharegpt_multi_turn(evalscope_cli, mock_server, tmp_path):
    mock = _cycling_mock(mock_server)
    out = tmp_path / "out"
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", mock.url, "--multi-turn", "--dataset", "share_gpt_en_multi_turn",
        "--dataset-path", SHAREGPT, "--max-turns", 3, "--number", 8, "--parallel", 4, "--max-tokens", 8,
        "--outputs-dir", out, "--no-progress",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    records = read_records(_point(out) / "benchmark_data.db")
    assert sorted({r.session for r in records}) == list(range(8))
    assert max(r.turn for r in records) <= 3
    assert check_histories(mock.requests()) == sum(r.turn - 1 for r in records)


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        (["--dataset", "random_multi_turn", "--multi-turn", "--tokenizer-path", "."], "--max-turns"),
        (["--dataset", "share_gpt_en_multi_turn"], "--multi-turn"),
        (["--dataset", "share_gpt_en_multi_turn", "--multi-turn", "--rate", "5"], "--rate"),
        (["--dataset", "openqa", "--multi-turn"], "--dataset"),
        (["--dataset", "custom_multi_turn", "--multi-turn"], "--dataset-path"),
        (["--dataset", "custom_multi_turn", "--multi-turn", "--think-time", "1", "2", "3"], "--think-time"),
        (["--dataset", "openqa", "--think-time", "1"], "--think-time"),
        (
            ["--dataset", "share_gpt_en_multi_turn", "--multi-turn", "--min-turns", "3", "--max-turns", "2"],
            "--max-turns",
        ),
    ],
)
def test_bad_multi_turn_flags_name_the_flag(evalscope_cli, flags, words):
    proc = evalscope_cli("perf", "--model", "m", "--url", "http://127.0.0.1:9", *flags)
    assert proc.returncode == 2, proc.stderr
    assert words in proc.stderr and "Traceback" not in proc.stderr


def test_bad_custom_multi_turn_line_names_the_line(evalscope_cli, mock_server, tmp_path):
    mock = mock_server()
    data = tmp_path / "bad.jsonl"
    data.write_text('[{"role": "user", "content": "hi"}]\n{"messages": "nope"}\n', encoding="utf-8")
    proc = evalscope_cli(
        "perf", "--model", "m", "--url", mock.url, "--multi-turn", "--dataset", "custom_multi_turn",
        "--dataset-path", data, "--number", 2, "--outputs-dir", tmp_path / "out",
    )  # fmt: skip
    assert proc.returncode == 2
    assert "--dataset-path" in proc.stderr and "line 2" in proc.stderr and "Traceback" not in proc.stderr
    assert os.path.basename(str(data)) in proc.stderr
