"""``repeats`` over HTTP (EvalScope 1.14's field, now supported): the blocking eval route runs k
answers per question and answers with the repeat metrics; an out-of-range k is a 400 naming it."""

from __future__ import annotations

import httpx
from conftest import FIXTURES

from evalscope.mock import ScriptedAnswer


def test_repeats_over_http(thread_service, mock_server):
    svc = thread_service(data_dirs=[FIXTURES])
    # question "Tom" right in 1 of 3 repeats, "Mia" in all 3 (eval_batch_size 1: replies go in turn)
    mock = mock_server(
        answers=[
            ScriptedAnswer(match="Tom has 3", replies=["\\boxed{7}", "\\boxed{8}", "\\boxed{9}"]),
            ScriptedAnswer(match="Mia buys 600", reply="\\boxed{1200}"),
        ]
    )
    body = {
        "model": "m",
        "api_url": mock.url + "/v1",
        "datasets": ["gsm8k"],
        "dataset_args": {
            # what EvalScope users send with repeats: accepted (both are always reported here)
            "gsm8k": {
                "local_path": str(FIXTURES / "gsm8k"),
                "few_shot_num": 0,
                "aggregation": "mean_and_pass_at_k",
            }
        },
        "limit": 2,
        "repeats": 3,
        "generation_config": {"temperature": 0.5},
    }
    with httpx.Client(base_url=svc.url, timeout=120) as c:
        r = c.post("/api/v1/eval", json=body)
        assert r.status_code == 200, r.text
        rep = r.json()["result"]["gsm8k"]
        bad = c.post("/api/v1/eval", json={**body, "repeats": 0})
        hat = {**body, "dataset_args": {"gsm8k": {"aggregation": "mean_and_pass_hat_k"}}}
        unsupported = c.post("/api/v1/eval", json=hat)
    assert rep["repeats"] == 3 and sum(rep["counts"].values()) == 6
    metrics = {m["name"]: m for m in rep["metrics"]}
    # per question avg (1/3, 1): 2/3; pass@2: (1 - C(2,2)/C(3,2), 1) = (2/3, 1); vote@3: 7, 8, 9 tie -> 7
    assert rep["score"] == 0.6667
    assert metrics["mean_acc_pass@2"]["score"] == 0.8333 and metrics["mean_acc_pass@3"]["score"] == 1.0
    assert metrics["mean_acc_vote@3"]["score"] == 1.0 and metrics["mean_acc_vote@3"]["stderr"] == 0.0
    assert mock.stats()["total"] == 6
    assert bad.status_code == 400 and "repeats" in bad.text
    assert unsupported.status_code == 400 and "aggregation: not supported yet" in unsupported.text
