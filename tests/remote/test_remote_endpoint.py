"""`evalscope remote eval|perf --endpoint NAME` and the Python client's ``endpoint=``: a model registered
on the service (URL, model id, API key encrypted with $EVALSCOPE_SECRET_KEY) named instead of passing
--model/--url/--api-key, against a mock that refuses requests without that key. Every other flag is
still validated here before anything is sent."""

from __future__ import annotations

import json

import pytest

from evalscope.mock import MockServer
from evalscope.remote import ServiceClient

from .conftest import GSM8K_SCORE, TOKEN, Service, free_port, mock_config, run_remote

pytestmark = pytest.mark.timeout(300)
KEY = "sk-endpoint-4b9e2d7c1a"  # the model's key: only the service holds it


@pytest.fixture(scope="module")
def team(tmp_path_factory):
    """A service with a secret key and a named endpoint "team-m" on a mock that requires KEY."""
    root = tmp_path_factory.mktemp("endpoint")
    mock = MockServer(mock_config(ttft=0.02, api_key=KEY)).start()
    svc = Service(root, "--max-concurrent-jobs", "2")
    svc.env["EVALSCOPE_SECRET_KEY"] = "remote-endpoint-passphrase"
    prompts = svc.data / "prompts.txt"
    prompts.write_text("".join(f"question number {i}: why is the sky blue?\n" for i in range(20)))
    svc.start()
    with svc.http() as c:
        made = c.post(
            "/api/v1/endpoints",
            json={"name": "team-m", "url": mock.url + "/v1", "model": "team-model", "api_key": KEY},
        )
        assert made.status_code == 201, made.text
    yield svc, mock, prompts
    svc.stop()
    mock.stop()


def _perf(svc, prompts, *extra: object) -> list[object]:
    return ["perf", "--server", svc.url, "--number", "6", "--parallel", "2", "--dataset", "line_by_line",
            "--dataset-path", prompts, *extra]  # fmt: skip


def _clean(*outs) -> None:
    for out in outs:
        text = out.stdout + out.stderr
        assert KEY not in text and TOKEN not in text and "Traceback" not in text


def test_remote_eval_and_perf_name_an_endpoint(team, tmp_path):
    svc, mock, prompts = team
    ev = run_remote("eval", "--server", svc.url, "--endpoint", "team-m", "--datasets", "gsm8k",
                    "--fail-under", "gsm8k=0.4", "--json")  # fmt: skip
    assert ev.returncode == 0, ev.stderr
    job = json.loads(ev.stdout)
    assert job["state"] == "succeeded" and job["endpoint"] == "team-m"
    assert job["config"]["model"] == "team-model" and job["config"]["api_url"] == mock.url + "/v1"
    gsm = job["result"]["result"]["gsm8k"]
    assert gsm["score"] == GSM8K_SCORE and gsm["counts"].get("error", 0) == 0  # the key reached the model
    assert "(eval, endpoint team-m)" in ev.stderr

    junit = tmp_path / "perf.xml"
    pf = run_remote(*_perf(svc, prompts, "--endpoint", "team-m", "--slo", "e2el:600000", "--junit-xml", junit,
                           "--json"))  # fmt: skip
    assert pf.returncode == 0, pf.stderr
    job = json.loads(pf.stdout)
    assert job["endpoint"] == "team-m" and job["config"]["model"] == "team-model"
    assert job["config"]["url"].startswith(mock.url + "/v1")
    m = job["result"]["results"]["parallel_2_number_6"]["metrics"]
    assert m["Succeed requests"] == 6 and m["Failed requests"] == 0
    assert 'name="e2el p99 &lt;= 600000 ms"' in junit.read_text()

    # the same load without the endpoint has no key: the mock refuses it and the job fails
    bare = run_remote(
        *_perf(svc, prompts, "--model", "team-model", "--url", mock.url + "/v1/chat/completions")
    )
    assert bare.returncode == 1, bare.stderr
    assert "401" in bare.stderr
    _clean(ev, pf, bare)
    assert KEY not in svc.log_text()


def test_endpoint_flag_errors_name_the_flag(team):
    svc, _mock, prompts = team
    # without --endpoint, --model and the URL flag are required as in the local commands
    no_model = run_remote("eval", "--server", svc.url, "--api-url", "http://h/v1", "--datasets", "gsm8k")
    assert no_model.returncode == 2
    assert no_model.stderr.strip() == (
        "error: --model: required (or name a model registered on the service: --endpoint NAME)"
    )
    no_url = run_remote(*_perf(svc, prompts, "--model", "m"))
    assert no_url.returncode == 2 and no_url.stderr.startswith("error: --url: required")
    # with it, every other flag is still checked here: a dead server is never asked
    dead = f"http://127.0.0.1:{free_port()}"
    bad = run_remote("perf", "--server", dead, "--endpoint", "team-m", "--number", "0", "--prompt", "hi")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --number: "), bad.stderr
    bad = run_remote("eval", "--server", dead, "--endpoint", "team-m", "--datasets", "gsm8k", "--limit", "-1")
    assert bad.returncode == 2 and bad.stderr.startswith("error: --limit: "), bad.stderr
    # the service's refusals, as flags: an unknown endpoint; a field the endpoint sets given too
    unknown = run_remote(*_perf(svc, prompts, "--endpoint", "nope"))
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("error: --endpoint: no endpoint named 'nope'"), unknown.stderr
    both = run_remote(*_perf(svc, prompts, "--endpoint", "team-m", "--model", "other"))
    assert both.returncode == 2
    assert both.stderr.startswith("error: --model: given with endpoint 'team-m'"), both.stderr
    _clean(no_model, no_url, bad, unknown, both)


def test_python_client_submits_with_an_endpoint(team):
    svc, mock, _prompts = team
    with ServiceClient(svc.url, TOKEN) as client:
        job = client.submit_perf({"number": 3, "parallel": 1, "prompt": "hi"}, endpoint="team-m")
        assert job.endpoint == "team-m" and job.model == "team-model"
        done = client.wait(job.id, timeout=120)
        with pytest.raises(ValueError, match="number"):  # validated before anything is sent
            client.submit_perf({"number": 0, "prompt": "hi"}, endpoint="team-m")
        with pytest.raises(ValueError, match="^endpoint: "):
            client.submit_eval({"datasets": ["gsm8k"]}, endpoint="")
    assert done.state == "succeeded", done.error
    m = done.result["results"]["parallel_1_number_3"]["metrics"]
    assert m["Succeed requests"] == 3 and m["Failed requests"] == 0
    assert done.config["url"].startswith(mock.url + "/v1")
