"""bbh, aime24 and aime25 submitted over HTTP to a real service with ``dataset_args.<name>.local_path``
at their fixture folders (the real files' layouts: bbh's task files beside its CoT prompt files)."""

from __future__ import annotations

import httpx
from conftest import FIXTURES

from evalscope.mock import ScriptedAnswer

BBH_TASKS = ["logical_deduction_three_objects", "boolean_expressions", "object_counting", "dyck_languages"]


def test_bbh_and_aime_run_over_http_from_a_local_path(thread_service, mock_server):
    svc = thread_service(data_dirs=[FIXTURES])
    mock = mock_server(
        answers=[
            ScriptedAnswer(match="three birds", reply="So the answer is (B)."),  # gold (B)
            ScriptedAnswer(match="a violin, two drums", reply="So the answer is 4."),  # gold 4
            ScriptedAnswer(match="remainder when $5^{4}$", reply="\\boxed{25}"),  # gold "025"
            ScriptedAnswer(match="Compute $24^2 + 12$", reply="The answer is 588."),  # gold 588
            ScriptedAnswer(match="", reply="So the answer is (C). \\boxed{1}"),
        ]
    )
    body = {
        "model": "m",
        "api_url": mock.url + "/v1",
        "datasets": ["bbh", "aime24", "aime25"],
        "dataset_args": {
            "bbh": {"local_path": str(FIXTURES / "bbh"), "subset_list": BBH_TASKS},
            "aime24": {"local_path": str(FIXTURES / "aime24")},
            "aime25": {"local_path": str(FIXTURES / "aime25")},
        },
        "eval_batch_size": 8,
    }
    with httpx.Client(base_url=svc.url, timeout=120) as c:
        r = c.post("/api/v1/eval", json=body)
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    assert sum(result["bbh"]["counts"].values()) == 9
    assert sum(result["aime24"]["counts"].values()) == 7
    assert sum(result["aime25"]["counts"].values()) == 4
    # bbh: the two scripted golds, plus the one "(C)" gold among the other logical-deduction rows
    assert result["bbh"]["counts"]["correct"] == 3
    assert result["aime24"]["counts"]["correct"] == 1
    assert result["aime25"]["counts"]["correct"] == 1
    assert all(result[n]["counts"]["error"] == 0 for n in result)

    # a folder outside the service's data dirs is refused, naming the field
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        bad = c.post(
            "/api/v1/eval",
            json={**body, "datasets": ["aime24"], "dataset_args": {"aime24": {"local_path": "/etc"}}},
        )
    assert bad.status_code == 400, bad.text
    assert "dataset_args.aime24.local_path" in bad.text
