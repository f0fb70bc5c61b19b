"""``humaneval`` through the service (POST /api/v1/eval): the model's code runs in the sandbox in the
job's worker, with exact scores and states; EvalScope 1.14's sandbox fields are read as ours, and bad
sandbox settings are a 400 naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from conftest import FIXTURES

from evalscope.mock import ScriptedAnswer

pytestmark = pytest.mark.usefixtures("bwrap_ready")  # skips, saying why, where bwrap cannot run

RIGHT = """Sure:

```python
from typing import List


def has_close_elements(numbers: List[float], threshold: float) -> bool:
    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1 :])
```"""
WRONG = "```python\ndef truncate_number(number: float) -> float:\n    return number\n```"
LOOP = "```python\ndef below_zero(operations):\n    while True:\n        __import__('time').sleep(0.05)\n```"


def _predictions(output_dir: str) -> dict[str, dict]:
    path = Path(output_dir) / "predictions" / "mock-model" / "humaneval.jsonl"
    return {(row := json.loads(line))["id"]: row for line in path.read_text().splitlines()}


def test_humaneval_runs_through_the_service(thread_service, mock_server):
    svc = thread_service(data_dirs=[FIXTURES])
    srv = mock_server(
        answers=[
            ScriptedAnswer(match="def has_close_elements", reply=RIGHT),
            ScriptedAnswer(match="def separate_paren_groups", reply="No idea, sorry."),
            ScriptedAnswer(match="def truncate_number", reply=WRONG),
            ScriptedAnswer(match="def below_zero", reply=LOOP),
        ]
    )
    body = {
        "model": "mock-model",
        "api_url": srv.url + "/v1",
        "datasets": ["humaneval"],
        "dataset_args": {"humaneval": {"local_path": str(FIXTURES / "humaneval"), "review_timeout": 2}},
        "limit": 4,
        "eval_batch_size": 4,
        # what EvalScope 1.14 clients send for a sandboxed run: read as our bubblewrap sandbox
        "use_sandbox": True,
        "sandbox_type": "docker",
        "sandbox": {"enabled": True, "engine": "docker", "pool_size": 2},
    }
    with httpx.Client(base_url=svc.url, timeout=120) as c:
        r = c.post("/api/v1/eval", json=body)
        bad_type = c.post("/api/v1/eval", json={**body, "sandbox_type": "volcengine", "sandbox": None})
        bad_timeout = c.post(
            "/api/v1/eval", json={**body, "dataset_args": {"humaneval": {"review_timeout": -1}}}
        )
        bad_pool = c.post("/api/v1/eval", json={**body, "sandbox": {"pool_size": 0}, "sandbox_type": None})
    assert r.status_code == 200, r.text
    out = r.json()
    rep = out["result"]["humaneval"]
    assert rep["score"] == 0.25
    assert rep["counts"] == {"correct": 1, "wrong": 2, "unparsed": 1, "truncated": 0, "error": 0}
    lines = _predictions(out["output_dir"])
    assert [lines[f"openai_humaneval/{i}"]["state"] for i in range(4)] == [
        "correct",
        "unparsed",
        "wrong",
        "wrong",
    ]
    wrong, loop = lines["openai_humaneval/2"]["details"], lines["openai_humaneval/3"]["details"]
    assert wrong["exit_code"] == 1 and "AssertionError" in wrong["stderr"]
    assert (
        loop["limit"] == "time" and loop["reason"] == "the program ran past the time limit (2 s wall clock)"
    )
    config = json.loads((Path(out["output_dir"]) / "config.json").read_text())
    assert config["sandbox_type"] == "bwrap" and config["sandbox_pool_size"] == 2
    assert bad_type.status_code == 400 and "sandbox_type" in bad_type.text
    assert bad_timeout.status_code == 400 and "dataset_args.humaneval.review_timeout" in bad_timeout.text
    assert bad_pool.status_code == 400 and "sandbox_pool_size" in bad_pool.text
