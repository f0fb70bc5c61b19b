"""A failed load test is never a success: the connection test (dead port, 404, 401) fails it at once,
the probe never shifts the mock's scripted answers, and a partial failure says so."""

from __future__ import annotations

import time

import pytest

from evalscope.errors import RunFailed
from evalscope.mock import ScriptedAnswer
from evalscope.perf import PerfArguments, run_perf


def _args(url: str, tmp_path, **kw) -> PerfArguments:
    base = dict(
        model="m",
        url=url,
        outputs_dir=str(tmp_path / "out"),
        prompt="hello",
        number=[3],
        parallel=[1],
        sleep_interval=0,
        max_tokens=8,
    )
    return PerfArguments(**(base | kw))


def test_cli_dead_endpoint_fails_fast_naming_url_and_cause(dead_port, tmp_path, prompts_file, evalscope_cli):
    url = f"http://127.0.0.1:{dead_port}/v1/chat/completions"
    started = time.perf_counter()
    out = evalscope_cli(
        "perf",
        "--model",
        "m",
        "--url",
        url,
        "--number",
        "100",
        "--parallel",
        "4",
        "--dataset",
        "line_by_line",
        "--dataset-path",
        str(prompts_file),
        "--outputs-dir",
        str(tmp_path / "o"),
    )
    elapsed = time.perf_counter() - started
    assert out.returncode == 1, out.stdout + out.stderr
    assert out.stderr.strip().endswith(f"error: cannot reach the model at {url}: connection refused")
    assert "Traceback" not in out.stderr
    assert elapsed < 4.0  # the issue asks for under 2 s (Python start-up included); margin for a busy machine
    assert not (tmp_path / "o").exists()  # the probe runs before any output folder is made


def test_wrong_path_and_wrong_key_fail_before_the_sweep(mock_server, tmp_path):
    srv = mock_server(api_key="sk-right")
    with pytest.raises(RunFailed) as failed:
        run_perf(_args(srv.url + "/v2/chat/completions", tmp_path, api_key="sk-right"))
    assert failed.value.message.startswith(
        f"the model at {srv.url}/v2/chat/completions answered 404 Not Found"
    )
    with pytest.raises(RunFailed) as failed:
        run_perf(_args(srv.url + "/v1/chat/completions", tmp_path, api_key="sk-wrong"))
    assert failed.value.message.startswith(
        f"the model at {srv.url}/v1/chat/completions answered 401 Unauthorized"
    )
    assert failed.value.output_dir is None and failed.value.result is None
    assert srv.stats()["total"] == 0 and srv.stats()["probes"] == 1  # 404 never reaches a handler
    # the right key passes the probe and the run (probe counted apart from the load)
    result = run_perf(_args(srv.url + "/v1/chat/completions", tmp_path, api_key="sk-right"))
    assert result["error_counts"] == {"total": 3, "failed": 0, "by_reason": {}}
    assert not any("failed" in w for w in result["warnings"])
    assert srv.stats()["total"] == 3 and srv.stats()["probes"] == 2


@pytest.mark.parametrize("stream", [True, False])
def test_probe_does_not_consume_scripted_failures(mock_server, tmp_path, stream):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="ok", status=503, fail_times=1)])
    result = run_perf(_args(srv.url, tmp_path, stream=stream))
    (point,) = result["results"].values()
    # the one scripted failure hit the first measured request, not the probe
    assert point["metrics"]["Failed requests"] == 1 and point["metrics"]["Succeed requests"] == 2
    assert result["error_counts"] == {"total": 3, "failed": 1, "by_reason": {"http_503": 1}}
    assert "parallel_1_number_3: 1 request(s) failed: http_503 x1" in result["warnings"]
    assert srv.stats()["probes"] == 1 and srv.stats()["by_status"] == {"200": 2, "503": 1}


def test_no_test_connection_sends_no_probe(mock_server, tmp_path):
    srv = mock_server()
    run_perf(_args(srv.url, tmp_path, no_test_connection=True))
    assert srv.stats()["probes"] == 0 and srv.stats()["total"] == 3


def test_cli_partial_failure_exit_0_with_counts(mock_server, tmp_path, prompts_file, evalscope_cli):
    srv = mock_server(answers=[ScriptedAnswer(match="", reply="ok", status=500, fail_times=2)])
    out = evalscope_cli(
        "perf",
        "--model",
        "m",
        "--url",
        srv.url,
        "--number",
        "4",
        "--dataset",
        "line_by_line",
        "--dataset-path",
        str(prompts_file),
        "--outputs-dir",
        str(tmp_path / "o"),
    )
    assert out.returncode == 0, out.stderr
    assert "warning: 2 of 4 requests failed (http_500 x2)" in out.stdout
