"""An embeddings perf job through the service, against the mock's ``/v1/embeddings``."""

from __future__ import annotations

import json

import httpx
from conftest import wait_job

from evalscope.mock.tokenizer import count_tokens

TEXTS = ["alpha beta gamma", "delta, epsilon", "zeta eta theta iota"]


def test_embeddings_perf_job(thread_service, mock_server, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "texts.jsonl").write_text("\n".join(json.dumps({"text": t}) for t in TEXTS) + "\n")
    mock = mock_server()
    svc = thread_service(data_dirs=[data_dir])
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        r = c.post(
            "/api/v1/perf",
            json={
                "model": "e",
                "url": mock.url,
                "api": "embedding",
                "number": 6,
                "parallel": 3,
                "dataset": "embedding",
                "dataset_path": str(data_dir / "texts.jsonl"),
            },
        )
        assert r.status_code == 200, r.text
        job = wait_job(c, r.json()["job_id"])
        assert job["state"] == "succeeded", job
    assert job["config"]["url"] == mock.url + "/v1/embeddings" and job["config"]["stream"] is False
    point = job["result"]["results"]["parallel_3_number_6"]
    m = point["metrics"]
    assert m["Total requests"] == m["Succeed requests"] == 6 and m["Average inputs per request"] == 1
    # every text sent twice: the mean of the mock's usage counts
    assert m["Average input tokens per request"] == round(sum(count_tokens(t) for t in TEXTS) / 3, 4)
    assert m["Input throughput (inputs/s)"] == m["Request throughput (req/s)"] > 0
    assert m["Average time to first token (s)"] is None and set(point["percentiles"]["TTFT (s)"]) == {None}
    assert mock.stats()["prompts"] == {t: 2 for t in TEXTS}
