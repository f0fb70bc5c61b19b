"""Runner behaviour against the mock: resume without asking twice, retries, timeouts, concurrency,
output layout and secrets."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from evalscope.eval import TaskConfig, run_task
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"
GSM8K_ROWS = 6


def _cfg(srv, tmp_path, **kw) -> TaskConfig:
    base = dict(
        model="mock-model",
        api_url=srv.url + "/v1",
        datasets=["gsm8k"],
        dataset_args={"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
        eval_batch_size=2,
        max_retries=1,
        timeout=30,
        work_dir=str(tmp_path / "out"),
    )
    base.update(kw)
    return TaskConfig(**base)


def _asked(srv) -> int:
    return sum(srv.stats()["prompts"].values())


class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_without_asking_twice(mock_server, tmp_path):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="\\boxed{7}")])

    def stop_after_three(done, total):
        if done >= 3:
            raise Interrupt

    cfg = _cfg(srv, tmp_path, eval_batch_size=1)
    with pytest.raises(Interrupt):
        run_task(cfg, progress=stop_after_three)
    assert _asked(srv) == 3
    run_dir = next((tmp_path / "out").iterdir())
    pred = run_dir / "predictions" / "mock-model" / "gsm8k.jsonl"
    assert len(pred.read_text().splitlines()) == 3  # each finished sample was on disk at once
    # a crash mid-write leaves a torn last line: it is ignored, not fatal
    with pred.open("a") as fh:
        fh.write('{"id": "main/5", "sta')

    srv.reset_stats()
    calls = []
    result = run_task(_cfg(srv, tmp_path, use_cache=str(run_dir)), progress=lambda d, t: calls.append((d, t)))
    assert _asked(srv) == GSM8K_ROWS - 3
    prompts = srv.stats()["prompts"]
    assert all(n == 1 for n in prompts.values())
    assert calls[0] == (3, GSM8K_ROWS) and calls[-1] == (GSM8K_ROWS, GSM8K_ROWS)
    assert result["output_dir"] == str(run_dir)
    rep = result["result"]["gsm8k"]
    assert sum(rep["counts"].values()) == GSM8K_ROWS
    assert rep["counts"]["correct"] == 1  # only "Tom has 3 apples" has gold 7
    assert len(pred.read_text().splitlines()) == GSM8K_ROWS  # compacted: one line per sample

    # a third run from the same folder asks nothing at all
    srv.reset_stats()
    again = run_task(_cfg(srv, tmp_path, use_cache=str(run_dir)))
    assert _asked(srv) == 0
    assert again["result"]["gsm8k"]["counts"] == rep["counts"]


def test_resume_retries_only_failed_samples(mock_server, tmp_path):
    failing = mock_server(
        answers=[
            ScriptedAnswer(match="Ben saves", status=503, retry_after=0),
            ScriptedAnswer(match="", reply="\\boxed{0}"),
        ]
    )
    first = run_task(_cfg(failing, tmp_path))
    assert first["result"]["gsm8k"]["counts"]["error"] == 1

    healthy = mock_server(
        answers=[
            ScriptedAnswer(match="Ben saves", reply="\\boxed{80}"),
            ScriptedAnswer(match="", reply="\\boxed{0}"),
        ]
    )
    second = run_task(_cfg(healthy, tmp_path, use_cache=first["output_dir"]))
    prompts = healthy.stats()["prompts"]
    assert list(prompts.values()) == [1] and "Ben saves" in next(iter(prompts))
    rep = second["result"]["gsm8k"]
    assert rep["counts"]["error"] == 0 and rep["counts"]["correct"] == 1 and rep["coverage"] == 1.0


def test_changed_prompt_is_asked_again(mock_server, tmp_path):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="\\boxed{7}")])
    first = run_task(_cfg(srv, tmp_path))
    srv.reset_stats()
    run_task(
        _cfg(
            srv,
            tmp_path,
            use_cache=first["output_dir"],
            dataset_args={"gsm8k": {"local_path": str(FIXTURES / "gsm8k"), "few_shot_num": 1}},
        )
    )
    assert _asked(srv) == GSM8K_ROWS


def test_429_with_retry_after_is_retried(mock_server, tmp_path):
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="Tom has 3", reply="\\boxed{7}", status=429, fail_times=2, retry_after=0.3),
            ScriptedAnswer(match="", reply="\\boxed{0}"),
        ]
    )
    started = time.perf_counter()
    result = run_task(_cfg(srv, tmp_path, max_retries=3, limit=1))
    elapsed = time.perf_counter() - started
    rep = result["result"]["gsm8k"]
    assert rep["counts"]["correct"] == 1 and rep["counts"]["error"] == 0
    stats = srv.stats()
    assert stats["by_status"].get("429") == 2 and stats["by_status"].get("200") == 1
    assert elapsed >= 0.6  # two Retry-After waits of 0.3 s were honoured (a lower bound by construction)
    rec = json.loads(Path(result["output_dir"], "predictions", "mock-model", "gsm8k.jsonl").read_text())
    assert rec["attempts"] == 3


def test_hung_request_times_out_as_error_and_run_goes_on(mock_server, tmp_path):
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="Tom has 3", reply="\\boxed{7}", delay=5),
            ScriptedAnswer(match="", reply="\\boxed{30}"),
        ]
    )
    result = run_task(_cfg(srv, tmp_path, timeout=0.5, max_retries=0, eval_batch_size=6))
    rep = result["result"]["gsm8k"]
    assert rep["counts"]["error"] == 1
    assert rep["counts"]["correct"] == 1  # Lena: 30
    assert rep["counts"]["wrong"] == GSM8K_ROWS - 2
    lines = Path(result["output_dir"], "predictions", "mock-model", "gsm8k.jsonl").read_text().splitlines()
    err = [json.loads(x) for x in lines if json.loads(x)["state"] == "error"][0]
    assert "timeout" in err["error"] and err["output"] is None


def test_concurrency_is_eval_batch_size(mock_server, tmp_path):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="\\boxed{1}", delay=0.2)])
    run_task(_cfg(srv, tmp_path, eval_batch_size=3))
    assert srv.stats()["max_in_flight"] == 3


def test_layout_config_and_no_secret_on_disk(mock_server, tmp_path):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="\\boxed{7}")])
    secret = "sk-very-secret-key-123"
    r1 = run_task(_cfg(srv, tmp_path, api_key=secret, model="org/model-x"))
    r2 = run_task(_cfg(srv, tmp_path, api_key=secret, model="org/model-x"))
    out = Path(r1["output_dir"])
    assert out != Path(r2["output_dir"]) and out.parent == (tmp_path / "out").resolve()
    assert (out / "predictions" / "org_model-x" / "gsm8k.jsonl").is_file()
    assert (out / "reports" / "org_model-x" / "gsm8k.json").is_file()
    assert (out / "logs" / "run.log").is_file()
    config = json.loads((out / "config.json").read_text())
    assert config["api_key"] == "***" and config["model"] == "org/model-x"
    for f in out.rglob("*"):
        if f.is_file():
            assert secret not in f.read_text(encoding="utf-8", errors="replace"), f
    assert not any(p.name.endswith(".tmp") for p in out.rglob("*"))


def test_generation_config_reaches_the_request(mock_server, tmp_path):
    # The mock truncates at max_tokens and reports finish_reason "length": a tiny max_tokens makes
    # every long answer a truncated sample, not a wrong one.
    srv = mock_server(
        answers=[ScriptedAnswer(match="", reply="Let me think step by step about it. \\boxed{7}")]
    )
    result = run_task(_cfg(srv, tmp_path, generation_config={"max_tokens": 3, "temperature": 0.5}))
    assert result["result"]["gsm8k"]["counts"]["truncated"] == GSM8K_ROWS


def test_streaming_gives_the_same_result(mock_server, tmp_path):
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="Tom", reply="<think>hmm</think>\\boxed{7}"),
            ScriptedAnswer(match="", reply="ANSWER: 1,200"),
        ]
    )
    plain = run_task(_cfg(srv, tmp_path))["result"]["gsm8k"]
    streamed = run_task(_cfg(srv, tmp_path, stream=True))["result"]["gsm8k"]
    assert plain["counts"] == streamed["counts"] and plain["counts"]["correct"] == 2
    assert plain["usage"] == streamed["usage"]


def test_bad_use_cache_folder(tmp_path, mock_server):
    from evalscope.eval import EvalError

    srv = mock_server()
    with pytest.raises(EvalError, match="use_cache"):
        run_task(_cfg(srv, tmp_path, use_cache=str(tmp_path / "missing")))
    (tmp_path / "plain").mkdir()
    with pytest.raises(EvalError, match="no config.json"):
        run_task(_cfg(srv, tmp_path, use_cache=str(tmp_path / "plain")))
    assert list((tmp_path / "plain").iterdir()) == []
