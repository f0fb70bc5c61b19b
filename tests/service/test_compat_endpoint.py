"""EvalScope 1.14's ``/invoke`` bodies naming a registered endpoint (issue 19.6): the service fills the
model, URL and key as for the job API, the job records the endpoint's name, the key is never answered;
refusals keep 1.14's ``error`` key."""

from __future__ import annotations

import json

import httpx
import pytest
from conftest import FIXTURES

pytestmark = pytest.mark.timeout(180)
KEY = "sk-invoke-ENDPOINT-51c0e8"


def test_invoke_bodies_name_an_endpoint(thread_service, mock_server, monkeypatch):
    monkeypatch.setenv("EVALSCOPE_SECRET_KEY", "invoke-passphrase-for-tests")
    mock = mock_server(api_key=KEY, output_tokens=5)  # refuses a request without the key
    svc = thread_service(data_dirs=[FIXTURES])
    answers: list[str] = []
    with httpx.Client(base_url=svc.url, timeout=120) as c:
        made = c.post(
            "/api/v1/endpoints",
            json={"name": "team-m", "url": mock.url + "/v1", "model": "m", "api_key": KEY},
        )
        assert made.status_code == 201, made.text
        perf = c.post(
            "/api/v1/perf/invoke",
            headers={"EvalScope-Task-Id": "perf-ep-1"},
            json={"endpoint": "team-m", "number": 3, "parallel": 1, "prompt": "hi"},
        )
        evals = c.post(
            "/api/v1/eval/invoke",
            headers={"EvalScope-Task-Id": "eval-ep-1"},
            json={
                "endpoint": "team-m",
                "datasets": ["gsm8k"],
                "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
                "limit": 2,
            },
        )
        answers += [perf.text, evals.text]
        assert perf.status_code == 200 and perf.json()["status"] == "completed", perf.text
        assert evals.status_code == 200 and evals.json()["status"] == "completed", evals.text
        m = perf.json()["result"]["parallel_1_number_3"]["metrics"]
        assert m["Succeed requests"] == 3 and m["Failed requests"] == 0  # the key reached the model
        assert evals.json()["result"]["gsm8k"]["counts"].get("error", 0) == 0
        jp = c.get(f"/api/v1/jobs/{perf.json()['job_id']}").json()
        je = c.get(f"/api/v1/jobs/{evals.json()['job_id']}").json()
        answers += [json.dumps(jp), json.dumps(je), c.get("/api/v1/tasks/perf-ep-1").text]
        assert jp["endpoint"] == je["endpoint"] == "team-m"
        assert jp["config"]["model"] == je["config"]["model"] == "m"
        assert je["config"]["api_url"] == mock.url + "/v1"

        # refusals: 400 naming the field, with 1.14's error key
        unknown = c.post(
            "/api/v1/perf/invoke",
            headers={"EvalScope-Task-Id": "perf-ep-2"},
            json={"endpoint": "nope", "number": 1, "prompt": "hi"},
        )
        both = c.post(
            "/api/v1/eval/invoke",
            headers={"EvalScope-Task-Id": "eval-ep-2"},
            json={"endpoint": "team-m", "model": "other", "datasets": ["gsm8k"]},
        )
        answers += [unknown.text, both.text]
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "endpoint"
    assert unknown.json()["error"] == unknown.json()["message"] and "nope" in unknown.json()["error"]
    assert both.status_code == 400 and both.json()["errors"][0]["field"] == "model"
    assert "error" in both.json()
    assert all(KEY not in a for a in answers)
