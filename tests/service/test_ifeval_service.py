"""``ifeval`` submitted over HTTP with ``dataset_args.ifeval.local_path`` at a fixture folder: the
job succeeds and its result carries the four IFEval metrics."""

from __future__ import annotations

import httpx
from conftest import FIXTURES, wait_job

from evalscope.mock import ScriptedAnswer


def test_ifeval_job_over_http(thread_service, mock_server):
    svc = thread_service(data_dirs=[FIXTURES])
    # "Soft rain" has no comma: the haiku prompt (no_comma only) is followed; nothing else is
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="haiku about rain", reply="Soft rain on the roof"),
            ScriptedAnswer(match="", reply="Well, no."),
        ]
    )
    body = {
        "model": "m",
        "api_url": srv.url + "/v1",
        "datasets": ["ifeval"],
        "dataset_args": {"ifeval": {"local_path": str(FIXTURES / "ifeval")}},
        "max_retries": 0,
        "timeout": 60,
    }
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        r = c.post("/api/v1/jobs/eval", json=body)
        assert r.status_code in (200, 201, 202), r.text
        job = wait_job(c, r.json()["id"])
    assert job["state"] == "succeeded", job
    rep = job["result"]["result"]["ifeval"]
    assert rep["counts"]["correct"] == 1 and sum(rep["counts"].values()) == 8
    metrics = {m["name"]: m["score"] for m in rep["metrics"]}
    assert list(metrics) == [
        "prompt_level_strict",
        "inst_level_strict",
        "prompt_level_loose",
        "inst_level_loose",
    ]
    assert metrics["prompt_level_strict"] == round(1 / 8, 4)
