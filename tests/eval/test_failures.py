"""A failed eval is never a success: the connection test (dead port, 404, 401), a run where nothing
could be scored (RunFailed, n/a scores), and a partial failure (succeeded, with warnings and counts)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evalscope.errors import RunFailed
from evalscope.eval import TaskConfig, run_task
from evalscope.mock import ScriptedAnswer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eval"
GSM8K_ROWS = 6
GSM8K_ARGS = {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}}


def _cfg(url: str, tmp_path: Path, **kw) -> TaskConfig:
    base = dict(
        model="mock-model",
        api_url=url,
        datasets=["gsm8k"],
        dataset_args=GSM8K_ARGS,
        eval_batch_size=2,
        max_retries=1,
        timeout=30,
        work_dir=str(tmp_path / "out"),
    )
    return TaskConfig(**(base | kw))


def _cli(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess, float]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "evalscope", "eval", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )
    return out, time.perf_counter() - started


def test_cli_dead_endpoint_fails_fast_naming_url_and_cause(dead_port, tmp_path):
    url = f"http://127.0.0.1:{dead_port}/v1"
    out, elapsed = _cli(
        "--model",
        "m",
        "--api-url",
        url,
        "--datasets",
        "gsm8k",
        "--dataset-args",
        json.dumps(GSM8K_ARGS),
        "--work-dir",
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert out.returncode == 1, out.stdout + out.stderr
    assert f"error: cannot reach the model at {url}/chat/completions: connection refused" in out.stderr
    assert "Traceback" not in out.stderr
    # one refused probe, not 6 samples x (1 + 3 retries) with backoff; the issue asks for under 2 s
    # (this includes starting Python), the margin absorbs a loaded machine
    assert elapsed < 4.0
    # the run folder says the same in its log
    (run_dir,) = (tmp_path / "out").iterdir()
    assert "connection refused" in (run_dir / "logs" / "run.log").read_text()


def test_wrong_path_is_404_and_asks_nothing(mock_server, tmp_path):
    srv = mock_server()
    with pytest.raises(RunFailed) as failed:
        run_task(_cfg(srv.url + "/v2", tmp_path))
    message = failed.value.message
    assert message.startswith(f"the model at {srv.url}/v2/chat/completions answered 404 Not Found")
    assert Path(failed.value.output_dir, "config.json").is_file() and failed.value.result is None
    stats = srv.stats()
    assert stats["probes"] == 0 and stats["total"] == 0  # unknown path: aiohttp's 404 before the handler


def test_wrong_key_is_401_from_the_probe_alone(mock_server, tmp_path):
    srv = mock_server(api_key="sk-right")
    with pytest.raises(RunFailed) as failed:
        run_task(_cfg(srv.url + "/v1", tmp_path, api_key="sk-wrong"))
    message = failed.value.message
    assert message.startswith(
        f"the model at {srv.url}/v1/chat/completions answered 401 Unauthorized: invalid or missing API key"
    )  # the mock's own explanation comes along
    assert message.endswith("(check api_key)")
    assert "sk-wrong" not in message
    assert srv.stats()["probes"] == 1 and srv.stats()["total"] == 0  # no sample was sent


def test_probe_does_not_shift_scripted_answers_and_can_be_turned_off(mock_server, tmp_path):
    # "fail the first matching request once": the probe must not be that request
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="\\boxed{7}", status=400, fail_times=1)])
    result = run_task(_cfg(srv.url + "/v1", tmp_path, eval_batch_size=1, max_retries=0))
    assert result["result"]["gsm8k"]["counts"]["error"] == 1  # a sample got the scripted failure
    assert srv.stats()["probes"] == 1 and srv.stats()["total"] == GSM8K_ROWS
    srv.reset_stats()
    run_task(_cfg(srv.url + "/v1", tmp_path, no_test_connection=True))
    assert srv.stats()["probes"] == 0 and srv.stats()["total"] == GSM8K_ROWS


def test_nothing_scored_fails_with_null_scores_written(dead_port, tmp_path):
    url = f"http://127.0.0.1:{dead_port}/v1"
    # without the probe every sample is asked (and refused): nothing could be scored
    with pytest.raises(RunFailed) as failed:
        run_task(_cfg(url, tmp_path, max_retries=0, no_test_connection=True))
    exc = failed.value
    assert exc.message.startswith(
        f"no sample could be scored: all {GSM8K_ROWS} requests to the model at "
        f"{url}/chat/completions failed (connection x{GSM8K_ROWS})"
    )
    rep = exc.result["result"]["gsm8k"]
    assert rep["score"] is None and rep["stderr"] is None and rep["num_scored"] == 0
    assert rep["metrics"][0]["score"] is None and rep["metrics"][0]["macro_score"] is None
    assert rep["counts"]["error"] == GSM8K_ROWS and rep["coverage"] == 0.0
    assert exc.result["error_counts"] == {
        "total": GSM8K_ROWS,
        "failed": GSM8K_ROWS,
        "by_reason": {"connection": GSM8K_ROWS},
    }
    assert any("no sample could be scored" in w for w in exc.result["warnings"])
    # what was written says null / n/a too, never 0.0
    out = Path(exc.output_dir)
    assert json.loads((out / "reports" / "mock-model" / "gsm8k.json").read_text())["score"] is None
    html = (out / "report.html").read_text()
    assert 'data-field="score">n/a<' in html


def test_cli_nothing_scored_shows_na_and_exits_1(dead_port, tmp_path):
    url = f"http://127.0.0.1:{dead_port}/v1"
    out, _ = _cli(
        "--model",
        "m",
        "--api-url",
        url,
        "--datasets",
        "gsm8k",
        "--dataset-args",
        json.dumps(GSM8K_ARGS),
        "--work-dir",
        str(tmp_path / "out"),
        "--max-retries",
        "0",
        "--no-test-connection",
        cwd=tmp_path,
    )
    assert out.returncode == 1
    assert "error: no sample could be scored: all 6 requests" in out.stderr
    overall = next(line for line in out.stdout.splitlines() if "OVERALL" in line)
    assert "n/a" in overall and "0.0000" not in overall


def test_partial_failure_succeeds_and_says_so(mock_server, tmp_path):
    # ARC's prompts (and only those) carry the multiple-choice instruction: every one of them fails
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="'ANSWER: [LETTER]'", status=503),
            ScriptedAnswer(match="Ben saves", status=503),
            ScriptedAnswer(match="", reply="\\boxed{7}"),
        ]
    )
    cfg = _cfg(
        srv.url + "/v1",
        tmp_path,
        max_retries=0,
        datasets=["gsm8k", "arc"],
        dataset_args={**GSM8K_ARGS, "arc": {"local_path": str(FIXTURES / "arc")}},
    )
    result = run_task(cfg)
    gsm8k, arc = result["result"]["gsm8k"], result["result"]["arc"]
    assert gsm8k["counts"]["error"] == 1 and gsm8k["score"] == pytest.approx(1 / 5, abs=1e-4)
    n_arc = sum(arc["counts"].values())
    assert arc["score"] is None and arc["counts"]["error"] == n_arc > 0
    assert result["error_counts"] == {
        "total": GSM8K_ROWS + n_arc,
        "failed": 1 + n_arc,
        "by_reason": {"http_503": 1 + n_arc},
    }
    assert result["warnings"] == [
        "gsm8k: 1 of 6 samples failed (no answer after 0 retries); the score covers the other 5",
        f"arc: no sample could be scored (all {n_arc} requests failed); its score is n/a",
    ]


def test_cli_partial_failure_summary_has_warnings(mock_server, tmp_path):
    srv = mock_server(
        answers=[ScriptedAnswer(match="Ben saves", status=503), ScriptedAnswer(match="", reply="\\boxed{7}")]
    )
    out, _ = _cli(
        "--model",
        "m",
        "--api-url",
        srv.url + "/v1",
        "--datasets",
        "gsm8k",
        "--dataset-args",
        json.dumps(GSM8K_ARGS),
        "--work-dir",
        str(tmp_path / "out"),
        "--max-retries",
        "0",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    assert "warning: gsm8k: 1 of 6 samples failed" in out.stdout
    assert "failed samples: 1 of 6 (http_503 x1)" in out.stdout
    out, _ = _cli(
        "--model",
        "m",
        "--api-url",
        srv.url + "/v1",
        "--datasets",
        "gsm8k",
        "--dataset-args",
        json.dumps(GSM8K_ARGS),
        "--work-dir",
        str(tmp_path / "out"),
        "--max-retries",
        "0",
        "--json",
        cwd=tmp_path,
    )
    data = json.loads(out.stdout)
    assert data["error_counts"]["failed"] == 1 and len(data["warnings"]) == 1
