"""The seed's own examples (curl and Python `requests`), run as written against a real
`evalscope service` subprocess, with the mock server standing in for the model."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import OUTPUT_TOKENS, ProcessService

from evalscope.mock import MockServer

DASHSCOPE = "https://dashscope.aliyuncs.com/compatible-mode/v1"

# Verbatim from the seed (docs "Usage Examples" and "Example Scenarios").
CURL_EVAL = """curl -X POST http://localhost:9000/api/v1/eval \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "qwen-plus",
    "api_url": "https://dashscope.aliyuncs.com/compatible-mode/v1",
    "api_key": "your-api-key",
    "datasets": ["gsm8k"],
    "limit": 5
  }'"""

CURL_PERF = """curl -X POST http://localhost:9000/api/v1/perf \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "qwen-plus",
    "url": "https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions",
    "api": "openai",
    "number": 50,
    "parallel": 5
  }'"""

CURL_SCENARIO_2 = """curl -X POST http://localhost:9000/api/v1/perf \\
  -H "Content-Type: application/json" \\
  -d '{
    "model": "qwen2.5",
    "url": "http://localhost:8000/v1/chat/completions",
    "api": "openai",
    "number": 1000,
    "parallel": 20,
    "max_tokens": 2048
  }'"""

PYTHON_REQUESTS = """import requests

# Evaluation request
eval_response = requests.post(
    'http://localhost:9000/api/v1/eval',
    json={
        'model': 'qwen-plus',
        'api_url': 'https://dashscope.aliyuncs.com/compatible-mode/v1',
        'api_key': 'your-api-key',
        'datasets': ['gsm8k', 'iquiz'],
        'limit': 10,
        'generation_config': {
            'temperature': 0.0,
            'max_tokens': 2048
        }
    }
)
print(eval_response.json())

# Performance test request
perf_response = requests.post(
    'http://localhost:9000/api/v1/perf',
    json={
        'model': 'qwen-plus',
        'url': 'https://dashscope.aliyuncs.com/compatible-mode/v1/chat/completions',
        'api': 'openai',
        'number': 100,
        'parallel': 10,
        'dataset': 'openqa'
    }
)
print(perf_response.json())
"""

METRIC_KEYS = [
    "Time taken for tests (s)",
    "Number of concurrency",
    "Total requests",
    "Succeed requests",
    "Failed requests",
    "Output token throughput (tok/s)",
    "Total token throughput (tok/s)",
    "Request throughput (req/s)",
    "Average latency (s)",
    "Average time to first token (s)",
    "Average time per output token (s)",
    "Average inter-token latency (s)",
    "Average input tokens per request",
    "Average output tokens per request",
]
PERCENTILE_KEYS = [
    "TTFT (s)",
    "ITL (s)",
    "TPOT (s)",
    "Latency (s)",
    "Input tokens",
    "Output tokens",
    "Output (tok/s)",
    "Total (tok/s)",
]


@pytest.fixture
def setup(seed_service):
    return seed_service


def _as_written(text: str, svc: ProcessService, mock: MockServer) -> str:
    return (
        text.replace("http://localhost:9000", svc.url)
        .replace(DASHSCOPE, mock.url + "/v1")
        .replace("http://localhost:8000/v1", mock.url + "/v1")
    )


def _curl(text: str, svc, mock) -> dict:
    out = subprocess.run(
        ["bash", "-c", _as_written(text, svc, mock) + " -sS"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(out.stdout)


def _asked(mock: MockServer) -> int:
    return sum(mock.stats()["prompts"].values())


def _check_eval(body: dict, svc, datasets: dict[str, int]) -> None:
    assert body["status"] == "success" and body["message"] == "Evaluation completed"
    assert set(body) >= {"status", "message", "result", "output_dir"}
    out = Path(body["output_dir"])
    assert out.is_dir() and out.is_relative_to(svc.work_dir.resolve())
    assert set(body["result"]) == set(datasets)
    for name, n in datasets.items():
        report = body["result"][name]
        assert report["model_name"] == "qwen-plus" and report["dataset_name"] == name
        assert report["num_scored"] == n and sum(report["counts"].values()) == n
        assert report["metrics"][0]["name"] == "AverageAccuracy" and report["metrics"][0]["num"] == n
        assert 0.0 <= report["score"] <= 1.0
        # The answer is exactly what the job wrote to disk.
        assert json.loads((out / "reports" / "qwen-plus" / f"{name}.json").read_text()) == report


def _check_perf(body: dict, svc, points: list[tuple[int, int]]) -> None:
    assert body["status"] == "success" and body["message"] == "Performance test completed"
    out = Path(body["output_dir"])
    assert out.is_dir() and out.is_relative_to(svc.work_dir.resolve())
    assert list(body["results"]) == [f"parallel_{p}_number_{n}" for p, n in points]
    for p, n in points:
        point = body["results"][f"parallel_{p}_number_{n}"]
        m = point["metrics"]
        for key in METRIC_KEYS:
            assert key in m, key
        assert m["Total requests"] == n and m["Succeed requests"] == n and m["Failed requests"] == 0
        assert m["Number of concurrency"] == p
        assert m["Average output tokens per request"] == OUTPUT_TOKENS
        assert m["Request throughput (req/s)"] == pytest.approx(n / m["Time taken for tests (s)"], rel=0.02)
        pct = point["percentiles"]
        assert pct["Percentiles"] == ["10%", "25%", "50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%"]
        for key in PERCENTILE_KEYS:
            assert len(pct[key]) == 10 and pct[key] == sorted(pct[key]), key
        assert pct["Output tokens"] == [OUTPUT_TOKENS] * 10


def test_curl_eval_example(setup):
    svc, mock = setup
    mock.reset_stats()
    body = _curl(CURL_EVAL, svc, mock)
    _check_eval(body, svc, {"gsm8k": 5})
    assert _asked(mock) == 5


def test_curl_perf_example(setup):
    svc, mock = setup
    mock.reset_stats()
    body = _curl(CURL_PERF, svc, mock)
    _check_perf(body, svc, [(5, 50)])
    assert _asked(mock) == 50


def test_curl_scenario_2_perf(setup):
    svc, mock = setup
    body = _curl(CURL_SCENARIO_2, svc, mock)
    _check_perf(body, svc, [(20, 1000)])


def test_python_requests_example(setup, capsys):
    svc, mock = setup
    mock.reset_stats()
    namespace: dict = {}
    exec(compile(_as_written(PYTHON_REQUESTS, svc, mock), "seed_example.py", "exec"), namespace)
    printed = capsys.readouterr().out
    assert "Evaluation completed" in printed and "Performance test completed" in printed
    assert namespace["eval_response"].status_code == 200 and namespace["perf_response"].status_code == 200
    _check_eval(namespace["eval_response"].json(), svc, {"gsm8k": 6, "iquiz": 6})
    assert namespace["eval_response"].json()["result"]["gsm8k"]["counts"]["correct"] == 1
    _check_perf(namespace["perf_response"].json(), svc, [(10, 100)])
    assert _asked(mock) == 12 + 100


def test_perf_sweep_and_job_record(setup):
    svc, mock = setup
    with httpx.Client(base_url=svc.url, timeout=120) as c:
        r = c.post(
            "/api/v1/perf",
            json={
                "model": "qwen-plus",
                "url": mock.url,
                "number": [8, 30],
                "parallel": [2, 6],
                "sleep_interval": 0,
            },
        )
        assert r.status_code == 200, r.text
        body = r.json()
        _check_perf(body, svc, [(2, 8), (6, 30)])
        job = c.get(f"/api/v1/jobs/{body['job_id']}").json()
        assert job["state"] == "succeeded" and job["kind"] == "perf"
        assert job["progress"] == {"done": 38, "total": 38, "percent": 100.0}
        assert job["result"]["results"] == body["results"]
        assert Path(body["output_dir"]).is_relative_to(Path(job["output_dir"]))
        assert job["config"]["number"] == [8, 30] and job["config"]["dataset"] == "openqa"
        # The seed's defaults apply to what the body leaves out.
        defaults = c.post(
            "/api/v1/jobs/perf", json={"model": "m", "url": mock.url + "/v1/chat/completions", "number": 1}
        ).json()
        cfg = defaults["config"]
        assert (
            cfg["parallel"],
            cfg["rate"],
            cfg["dataset"],
            cfg["max_tokens"],
            cfg["temperature"],
            cfg["stream"],
            cfg["api"],
        ) == ([1], -1, "openqa", 2048, 0.0, True, "openai")
        ev = c.post(
            "/api/v1/jobs/eval",
            json={"model": "m", "api_url": mock.url + "/v1", "datasets": ["gsm8k"], "limit": 1},
        ).json()["config"]
        assert (
            ev["api_key"],
            ev["eval_batch_size"],
            ev["generation_config"]["temperature"],
            ev["generation_config"]["max_tokens"],
            ev["seed"],
        ) == ("EMPTY", 1, 0.0, 2048, 42)


@pytest.mark.parametrize(
    "body, fields",
    [
        ({}, {"model", "url"}),
        ({"model": "m", "url": "http://x/v1", "api": "bogus"}, {"api"}),
        ({"model": "m", "url": "http://x/v1", "dataset": "nope"}, {"dataset"}),
        ({"model": "m", "url": "http://x/v1", "number": -3}, {"number"}),
        ({"model": "m", "url": "http://x/v1", "parallel": "many"}, {"parallel"}),
        ({"model": "m", "url": "http://x/v1", "outputs_dir": "/etc"}, {"outputs_dir"}),
        (
            {"model": "m", "url": "http://x/v1", "dataset": "line_by_line", "dataset_path": "/etc/passwd"},
            {"dataset_path"},
        ),
        ({"model": "m", "url": "http://x/v1", "prompt": "@/etc/passwd"}, {"prompt"}),
        # checks across fields name the field to fix, not "body"
        ({"model": "m", "url": "http://x/v1", "dataset": "random"}, {"tokenizer_path"}),
        ({"model": "m", "url": "http://x/v1", "dataset": "custom"}, {"dataset_path"}),
        ({"model": "m", "url": "http://x/v1", "number": [1, 2, 3], "parallel": [1, 2]}, {"number"}),
        (
            {"model": "m", "url": "http://x/v1", "min_prompt_length": 50, "max_prompt_length": 10},
            {"min_prompt_length"},
        ),
    ],
)
def test_perf_validation_400(setup, body, fields):
    svc, _ = setup
    r = httpx.post(svc.url + "/api/v1/perf", json=body)
    assert r.status_code == 400
    data = r.json()
    assert data["status"] == "error" and {e["field"].split(".")[0] for e in data["errors"]} == fields
    assert all(e["reason"] for e in data["errors"])


@pytest.mark.parametrize(
    "body, fields",
    [
        ({"model": "m", "api_url": "http://x/v1"}, {"datasets"}),
        ({"datasets": ["gsm8k"]}, {"model", "api_url"}),
        ({"model": "m", "api_url": "http://x/v1", "datasets": ["no_such_bench"]}, {"datasets"}),
        ({"model": "m", "api_url": "http://x/v1", "datasets": ["gsm8k"], "limit": -1}, {"limit"}),
        (
            {
                "model": "m",
                "api_url": "http://x/v1",
                "datasets": ["gsm8k"],
                "generation_config": {"max_tokens": 0},
            },
            {"generation_config"},
        ),
        (
            {"model": "m", "api_url": "http://x/v1", "datasets": ["gsm8k"], "work_dir": "../../etc"},
            {"work_dir"},
        ),
        ({"model": "m", "api_url": "http://x/v1", "datasets": ["gsm8k"], "use_cache": "/etc"}, {"use_cache"}),
        (
            {
                "model": "m",
                "api_url": "http://x/v1",
                "datasets": ["gsm8k"],
                "dataset_args": {"gsm8k": {"subset_list": []}},
            },
            {"dataset_args"},
        ),
    ],
)
def test_eval_validation_400(setup, body, fields):
    svc, _ = setup
    r = httpx.post(svc.url + "/api/v1/eval", json=body)
    assert r.status_code == 400, r.text
    data = r.json()
    assert data["status"] == "error" and {e["field"].split(".")[0] for e in data["errors"]} == fields


def test_failed_job_is_json_500(setup):
    svc, mock = setup
    # Missing data is refused at submission (400); rows of the wrong format fail in the worker.
    bad = svc.work_dir.resolve() / "bad-data" / "qa.jsonl"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text('{"unrelated": 1}\n')
    r = httpx.post(
        svc.url + "/api/v1/eval",
        timeout=60,
        json={
            "model": "m",
            "api_url": mock.url + "/v1",
            "datasets": ["general_qa"],
            "limit": 1,
            "dataset_args": {"general_qa": {"local_path": "bad-data"}},
        },
    )
    assert r.status_code == 500
    body = r.json()
    assert body["status"] == "error" and "DatasetFormatError" in body["message"]
    assert "row 1" in body["message"]
    assert body["job_id"] and body["output_dir"]
    assert "DatasetFormatError" in body["traceback"]  # this service runs with --debug


def test_twenty_blocking_calls_at_once_while_health_answers(setup):
    import threading

    svc, mock = setup
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def call(i: int) -> None:
        if i % 2:
            body = {
                "model": "qwen-plus",
                "url": mock.url + "/v1/chat/completions",
                "number": 6,
                "parallel": 2,
            }
            r = httpx.post(svc.url + "/api/v1/perf", json=body, timeout=120)
        else:
            body = {"model": "qwen-plus", "api_url": mock.url + "/v1", "datasets": ["gsm8k"], "limit": 2}
            r = httpx.post(svc.url + "/api/v1/eval", json=body, timeout=120)
        with lock:
            results.append(r)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    health_answers = 0
    with httpx.Client(base_url=svc.url, timeout=10) as c:
        while any(t.is_alive() for t in threads):
            assert c.get("/health").json()["status"] == "ok"
            health_answers += 1
    for t in threads:
        t.join()
    assert health_answers >= 1
    assert len(results) == 20 and all(r.status_code == 200 for r in results), [r.text for r in results][:2]
    dirs = {r.json()["output_dir"] for r in results}
    assert len(dirs) == 20  # every call got its own folder
    jobs = {r.json()["job_id"] for r in results}
    assert len(jobs) == 20


def test_client_disconnect_does_not_kill_the_job(setup, mock_server):
    svc, _ = setup
    # A slow model: 8 sequential requests take at least 8 x 0.25 s, so the client's 0.3 s read
    # timeout always fires while the job runs (no race with a fast, warm service).
    slow = mock_server(ttft=0.25, output_tokens=2)
    body = {
        "model": "disconnect-check",
        "url": slow.url + "/v1/chat/completions",
        "number": 8,
        "parallel": 1,
        "prompt": "hello",
    }
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(svc.url + "/api/v1/perf", json=body, timeout=httpx.Timeout(30, read=0.3))
    from conftest import wait_job

    with httpx.Client(base_url=svc.url, timeout=30) as c:
        deadline = time.monotonic() + 30
        while True:  # the service may still be creating the job when the client gives up
            jobs = [
                j
                for j in c.get("/api/v1/jobs", params={"kind": "perf", "limit": 500}).json()["items"]
                if j["config"]["model"] == "disconnect-check"
            ]
            if jobs or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(jobs) == 1
        job = wait_job(c, jobs[0]["id"])
        assert job["state"] == "succeeded"
        assert job["result"]["results"]["parallel_1_number_8"]["metrics"]["Succeed requests"] == 8
    assert slow.stats()["total"] == 8


def test_work_dir_and_use_cache_inside_the_base_folder(setup):
    svc, mock = setup
    base = svc.work_dir.resolve()
    with httpx.Client(base_url=svc.url, timeout=60) as c:
        first = c.post(
            "/api/v1/eval",
            json={
                "model": "qwen-plus",
                "api_url": mock.url + "/v1",
                "datasets": ["gsm8k"],
                "limit": 3,
                "work_dir": "team-a",
            },
        )
        assert first.status_code == 200, first.text
        out = Path(first.json()["output_dir"])
        assert out.parent == base / "team-a"
        perf = c.post(
            "/api/v1/perf",
            json={
                "model": "qwen-plus",
                "url": mock.url,
                "number": 2,
                "prompt": "hi",
                "outputs_dir": "team-b",
            },
        ).json()
        assert Path(perf["output_dir"]).is_relative_to(base / "team-b")
        # use_cache names an earlier run: its samples are reused, the earlier folder is left alone.
        before = (out / "predictions" / "qwen-plus" / "gsm8k.jsonl").read_bytes()
        mock.reset_stats()
        second = c.post(
            "/api/v1/eval",
            json={
                "model": "qwen-plus",
                "api_url": mock.url + "/v1",
                "datasets": ["gsm8k"],
                "use_cache": str(out),
            },
        )
        assert second.status_code == 200, second.text
        assert sum(mock.stats()["prompts"].values()) == 6 - 3
        assert Path(second.json()["output_dir"]) != out
        assert second.json()["result"]["gsm8k"]["num_scored"] == 6
        assert (out / "predictions" / "qwen-plus" / "gsm8k.jsonl").read_bytes() == before
