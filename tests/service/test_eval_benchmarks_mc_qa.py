"""hellaswag, winogrande, truthful_qa, mgsm and trivia_qa submitted over HTTP to a real service with
``dataset_args.<name>.local_path`` at their fixture folders (the real files' formats)."""

from __future__ import annotations

import httpx
from conftest import FIXTURES

from evalscope.mock import ScriptedAnswer

LOCAL = {
    "hellaswag": ("hellaswag", {}, 6),
    "winogrande": ("winogrande", {}, 6),
    "truthful_qa": ("truthful_qa", {}, 6),
    "mgsm": ("mgsm", {"subset_list": ["en", "zh"]}, 6),
    "trivia_qa": ("triviaqa", {}, 6),
}


def test_each_benchmark_runs_over_http_from_a_local_path(thread_service, mock_server):
    svc = thread_service(data_dirs=[FIXTURES])
    # "A" is the gold of 2 hellaswag and 3 winogrande rows; 12 answers 2 mgsm rows; "Mars" one trivia row
    mock = mock_server(
        answers=[
            ScriptedAnswer(match="Red Planet", reply="ANSWER: Mars"),
            ScriptedAnswer(match="", reply="ANSWER: A \\boxed{12}"),
        ]
    )
    body = {
        "model": "m",
        "api_url": mock.url + "/v1",
        "datasets": list(LOCAL),
        "dataset_args": {
            name: {"local_path": str(FIXTURES / folder), **extra}
            for name, (folder, extra, _) in LOCAL.items()
        },
        "eval_batch_size": 8,
    }
    with httpx.Client(base_url=svc.url, timeout=120) as c:
        r = c.post("/api/v1/eval", json=body)
    assert r.status_code == 200, r.text
    result = r.json()["result"]
    for name, (_, _, n) in LOCAL.items():
        assert sum(result[name]["counts"].values()) == n, name
        assert result[name]["counts"]["error"] == 0, name
    assert result["hellaswag"]["counts"]["correct"] == 2
    assert result["winogrande"]["counts"]["correct"] == 3
    assert result["mgsm"]["counts"]["correct"] == 2
    assert result["trivia_qa"]["counts"]["correct"] == 1
