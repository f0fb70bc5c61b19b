"""A multi-turn perf job through the service, against the mock: later turns carry the real replies."""

from __future__ import annotations

import json

import httpx
from conftest import wait_job

REPLIES = ["first reply", "second reply here", "third"]


def test_multi_turn_perf_job(thread_service, mock_server, tmp_path):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    convs = [
        [{"role": "user", "content": f"c{i} t1"}, {"role": "assistant", "content": "ref"},
         {"role": "user", "content": f"c{i} t2"}]
        for i in range(4)
    ]  # fmt: skip
    (data_dir / "convs.jsonl").write_text("\n".join(json.dumps(c) for c in convs) + "\n")
    mock = mock_server(record_requests=True, answers=[{"match": "", "replies": REPLIES}])
    svc = thread_service(data_dirs=[data_dir])
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        r = c.post(
            "/api/v1/perf",
            json={
                "model": "m",
                "url": mock.url,
                "multi_turn": True,
                "dataset": "custom_multi_turn",
                "dataset_path": str(data_dir / "convs.jsonl"),
                "number": 4,
                "parallel": 2,
                "think_time": [0.001],
            },
        )
        assert r.status_code == 200, r.text
        job = wait_job(c, r.json()["job_id"])
        assert job["state"] == "succeeded", job
        bad = c.post("/api/v1/perf", json={"model": "m", "url": mock.url, "dataset": "random_multi_turn"})
        assert bad.status_code == 400 and "multi_turn" in bad.text
    point = job["result"]["results"]["parallel_2_number_4"]
    assert point["metrics"]["Total requests"] == 8 and point["metrics"]["Sessions"] == 4
    assert [(t["Turn"], t["Requests"], t["Succeed requests"]) for t in point["turns"]] == [
        (1, 4, 4),
        (2, 4, 4),
    ]
    assert (
        point["sessions"]["Completed sessions"] == 4 and point["sessions"]["Average turns per session"] == 2
    )
    log = mock.requests()
    replies = {json.dumps(e["messages"]): e["reply"] for e in log}
    second = [e["messages"] for e in log if len(e["messages"]) == 3]
    assert len(second) == 4
    for msgs in second:  # the assistant message is the reply the mock sent to that session's first turn
        assert msgs[1] == {"role": "assistant", "content": replies[json.dumps(msgs[:1])]}
