"""simple_qa over HTTP with ``judge_model_args`` (issue 15.3): the blocking ``POST /api/v1/eval`` and
the job API run it with a judge mock that demands its own key (so the key reached the worker), and
the judge's key appears in no answer, job record or file of the run; a judge strategy without a
judge model is a 400 naming ``judge_model_args``."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from conftest import FIXTURES, wait_job

from evalscope.mock import ScriptedAnswer

JUDGE_KEY = "sk-judge-over-http-5c1e0d9a"


def _body(model_url: str, judge_url: str) -> dict:
    return {
        "model": "m",
        "api_url": model_url + "/v1",
        "datasets": ["simple_qa"],
        "dataset_args": {"simple_qa": {"local_path": str(FIXTURES / "simpleqa")}},
        "max_retries": 0,
        "judge_strategy": "auto",
        "judge_model_args": {"model_id": "judge", "api_url": judge_url + "/v1", "api_key": JUDGE_KEY},
    }


def test_simple_qa_with_a_judge_over_http_keeps_the_judge_key_secret(thread_service, mock_server):
    svc = thread_service(data_dirs=[FIXTURES])
    model = mock_server(
        answers=[ScriptedAnswer(match="Red Planet", reply="Mars"), ScriptedAnswer(reply="No idea")]
    )
    judge = mock_server(
        api_key=JUDGE_KEY,
        answers=[
            ScriptedAnswer(match="Predicted answer: Mars\n", reply='{"reasoning": "right", "verdict": "A"}'),
            ScriptedAnswer(reply='{"reasoning": "declined", "verdict": "C"}'),
        ],
    )
    body = _body(model.url, judge.url)
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        r = c.post("/api/v1/eval", json=body)
        assert r.status_code == 200, r.text
        answer = r.json()
        rep = answer["result"]["simple_qa"]
        assert rep["counts"]["correct"] == 1 and rep["counts"]["wrong"] == 5 and rep["counts"]["error"] == 0
        metrics = {m["name"]: m["score"] for m in rep["metrics"]}
        assert metrics["is_correct"] == round(1 / 6, 4) and metrics["is_not_attempted"] == round(5 / 6, 4)
        assert metrics["correct_given_attempted"] == 1.0 and metrics["f1"] == round(
            2 * (1 / 6) / (1 + 1 / 6), 4
        )
        assert rep["judge"]["requests"] == 6 and rep["judge"]["total_tokens"] > 0

        # the job API: the same body, followed as a job; its record shows the key redacted
        r = c.post("/api/v1/jobs/eval", json=body)
        assert r.status_code in (200, 201, 202), r.text
        job = wait_job(c, r.json()["id"])
        assert job["state"] == "succeeded", job
        texts = [json.dumps(answer), r.text, json.dumps(job), c.get(f"/api/v1/jobs/{job['id']}").text]
        texts.append(c.get("/api/v1/jobs").text)
    assert job["config"]["judge_model_args"]["api_key"] == "***"
    for text in texts:
        assert JUDGE_KEY not in text
    for folder in (Path(answer["output_dir"]), Path(job["output_dir"])):
        files = [f for f in folder.rglob("*") if f.is_file()]
        assert any(f.name == "job.json" for f in files) and any(f.name == "run.log" for f in files)
        for f in files:
            assert JUDGE_KEY not in f.read_text(errors="replace"), f


def test_a_judge_strategy_without_a_judge_model_is_a_400(thread_service, mock_server):
    svc = thread_service(data_dirs=[FIXTURES])
    body = _body("http://127.0.0.1:9", "http://127.0.0.1:9")
    del body["judge_model_args"]
    r = httpx.post(svc.url + "/api/v1/eval", json=body, timeout=30)
    assert r.status_code == 400, r.text
    errors = r.json()["errors"]
    assert errors[0]["field"] == "judge_model_args" and "simple_qa is graded by a judge model" in json.dumps(
        errors[0]
    )
    body["judge_strategy"] = "rule"
    r = httpx.post(svc.url + "/api/v1/eval", json=body, timeout=30)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "judge_strategy"
