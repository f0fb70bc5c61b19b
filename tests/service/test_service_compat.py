"""EvalScope 1.14's routes (``/api/v1/{eval,perf}/invoke`` with an ``EvalScope-Task-Id`` header, progress,
log, report, stop, benchmarks, tasks) driven the way 1.14 clients call them, against a real service and
the mock model server; and the request fields 1.14 added: accepted, folded, or "not supported yet"."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import httpx
import pytest

from evalscope.mock import MockConfig, MockServer, ScriptedAnswer
from evalscope.service.background import BackgroundService

# Defined here, not imported from conftest: a run over several test folders has several conftest modules.
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eval"
OUTPUT_TOKENS = 12

HEADER = "EvalScope-Task-Id"
GOLD_7 = "Tom has 3 apples"  # the first gsm8k fixture question (gold 7): the mock answers it right
SLOW = "Ben saves 10 dollars"  # the sixth: the mock stalls on it, so a 6-sample run is running until stopped


@pytest.fixture(scope="module")
def mock():
    server = MockServer(
        MockConfig(
            output_tokens=OUTPUT_TOKENS,
            answers=[
                ScriptedAnswer(match=GOLD_7, reply="The answer is \\boxed{7}"),
                ScriptedAnswer(match=SLOW, reply="late", delay=30),
                ScriptedAnswer(match="stall", reply="late", delay=30),
            ],
        )
    ).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with BackgroundService(
        work_dir=tmp_path_factory.mktemp("compat") / "outputs",
        data_dirs=[FIXTURES],
        max_concurrent_jobs=2,
        start_timeout=30,
        stop_timeout=15,
    ) as svc:
        yield svc


@pytest.fixture
def client(service):
    with httpx.Client(base_url=service.url, timeout=120) as c:
        yield c


def eval_body(mock: MockServer, limit: int = 3, **extra) -> dict:
    # As 1.14 clients send it: model, api_url, datasets, dataset_args, limit, generation_config.
    return {
        "model": "qwen-plus",
        "api_url": mock.url + "/v1",
        "api_key": "EMPTY",
        "datasets": ["gsm8k"],
        "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k"), "few_shot_num": 0}},
        "limit": limit,
        "eval_batch_size": 2,
        "generation_config": {"temperature": 0.0, "max_tokens": 64},
        **extra,
    }


def perf_body(mock: MockServer, prompt: str = "hello", **extra) -> dict:
    return {
        "model": "qwen-plus",
        "url": mock.url + "/v1/chat/completions",
        "api": "openai",
        "number": 4,
        "parallel": 2,
        "dataset": "openqa",
        "prompt": prompt,
        "max_tokens": 32,
        **extra,
    }


def wait_for(fn, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_eval_invoke_progress_log_report_and_task(client, mock):
    task = f"eval-{uuid.uuid4().hex[:8]}"
    assert client.get("/api/v1/eval/progress", params={"task_id": task}).json() == {"percent": 0.0}
    r = client.post(
        "/api/v1/eval/invoke",
        headers={HEADER: task},
        json=eval_body(
            mock,
            alias="nightly",
            repeats=1,
            judge_strategy="auto",
            ignore_errors=False,
            eval_backend="Native",
            stream=None,
            no_timestamp=True,
        ),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "completed" and body["task_id"] == task
    report = body["result"]["gsm8k"]
    assert report["metrics"][0]["num"] == 3
    # the mock answers "\boxed{7}" only to the fixture question whose gold is 7: one of three is right
    assert report["score"] == pytest.approx(1 / 3, abs=1e-3)
    assert "| 模型 | 数据集 | 指标 | 子集 | 数量 | 得分 |" in body["table"] and "gsm8k" in body["table"]

    progress = client.get("/api/v1/eval/progress", params={"task_id": task}).json()
    assert progress["percent"] == 100.0 and progress["status"] == "completed"
    assert progress["processed_count"] == progress["total_count"] == 3

    tail = client.get("/api/v1/eval/log", params={"task_id": task}).json()
    assert tail["total_lines"] > 2 and tail["tail_line"] == tail["total_lines"]
    assert f"job {body['job_id']}" in tail["text"]
    page = client.get("/api/v1/eval/log", params={"task_id": task, "start_line": 1, "page": 2}).json()
    assert (page["head_line"], page["tail_line"], page["total_lines"]) == (1, 3, tail["total_lines"])
    assert page["text"].count("\n") == 2
    assert client.get("/api/v1/eval/log", params={"task_id": task, "page": 0}).status_code == 400

    html = client.get("/api/v1/eval/report", params={"task_id": task})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert "gsm8k" in html.text
    # a perf route does not answer for an eval task
    assert client.get("/api/v1/perf/report", params={"task_id": task}).status_code == 404

    info = client.get(f"/api/v1/tasks/{task}").json()
    assert info["task_id"] == task and info["kind"] == "eval" and info["status"] == "completed"
    assert info["alias"] == "nightly" and info["model"] == "qwen-plus" and info["percent"] == 100.0
    assert info["endpoint"] == f"127.0.0.1:{mock.port}"
    assert info["config"]["datasets"] == ["gsm8k"] and info["config"]["limit"] == 3
    assert info["html_report_url"] == f"/api/v1/eval/report?task_id={task}"
    assert task not in [t["task_id"] for t in client.get("/api/v1/tasks/active").json()["tasks"]]
    # the same run is a job of ours
    assert client.get(f"/api/v1/jobs/{body['job_id']}").json()["state"] == "succeeded"


def test_perf_invoke_report_and_new_fields(client, mock):
    task = f"perf-{uuid.uuid4().hex[:8]}"
    r = client.post(
        "/api/v1/perf/invoke",
        headers={HEADER: task},
        json=perf_body(
            mock,
            rate=[-1],
            log_every_n_query=10,
            open_loop=False,
            dataset_args={},
            no_test_connection=True,
            frequency_penalty=0.5,
            enable_progress_tracker=True,
        ),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "completed"
    metrics = body["result"]["parallel_2_number_4"]["metrics"]
    assert metrics["Total requests"] == 4 and metrics["Succeed requests"] == 4
    assert metrics["Average output tokens per request"] == OUTPUT_TOKENS
    assert "并发数" in body["table"] and "100.0%" in body["table"]
    job = client.get(f"/api/v1/jobs/{body['job_id']}").json()
    assert job["config"]["extra_args"] == {"frequency_penalty": 0.5}  # folded into the request body
    assert job["config"]["rate"] == -1
    progress = client.get("/api/v1/perf/progress", params={"task_id": task}).json()
    assert (
        progress["status"] == "completed" and progress["percent"] == 100.0 and progress["pipeline"] == "perf"
    )
    assert client.get("/api/v1/perf/log", params={"task_id": task}).json()["total_lines"] > 0
    html = client.get("/api/v1/perf/report", params={"task_id": task})
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    info = client.get(f"/api/v1/tasks/{task}").json()
    assert info["kind"] == "perf" and info["config"]["parallel"] == [2] and info["config"]["number"] == [4]


def test_running_task_progress_active_and_stop(client, mock):
    task = f"stop-{uuid.uuid4().hex[:8]}"
    answers: list[httpx.Response] = []
    # One question stalls at the mock for minutes: the task is running until it is stopped.
    body = eval_body(mock, limit=6, eval_batch_size=6)
    worker = threading.Thread(
        target=lambda: answers.append(
            httpx.post(
                client.base_url.join("/api/v1/eval/invoke"), headers={HEADER: task}, json=body, timeout=120
            )
        )
    )
    worker.start()
    # the run has counted its samples (total known) and cannot end before the stalled answer
    progress = wait_for(
        lambda: (
            (p := client.get("/api/v1/eval/progress", params={"task_id": task}).json()).get("total_count")
            and p
        )
    )
    assert progress["status"] == "running" and progress["total_count"] == 6
    assert progress["processed_count"] < 6 and progress["percent"] == round(
        100 * progress["processed_count"] / 6, 2
    )
    active = client.get("/api/v1/tasks/active").json()
    assert task in [t["task_id"] for t in active["tasks"]] and active["total"] >= 1
    info = client.get(f"/api/v1/tasks/{task}").json()
    assert info["status"] == "running" and info["percent"] < 100 and info["job_id"]
    # a second invoke under a running task id is refused
    again = client.post("/api/v1/eval/invoke", headers={HEADER: task}, json=eval_body(mock))
    assert again.status_code == 409 and task in again.json()["error"]

    stopped = client.post("/api/v1/eval/stop", params={"task_id": task})
    assert stopped.status_code == 200 and stopped.json() == {"status": "stopped", "task_id": task}
    worker.join(60)
    assert answers and answers[0].status_code == 200 and answers[0].json()["status"] == "stopped"
    assert client.get(f"/api/v1/tasks/{task}").json()["status"] == "stopped"
    missing = client.post("/api/v1/eval/stop", params={"task_id": task})
    assert missing.status_code == 404 and "No running task" in missing.json()["error"]


def test_perf_stop(client, mock):
    task = f"pstop-{uuid.uuid4().hex[:8]}"
    answers: list[httpx.Response] = []
    body = perf_body(mock, prompt="stall please")
    worker = threading.Thread(
        target=lambda: answers.append(
            httpx.post(
                client.base_url.join("/api/v1/perf/invoke"), headers={HEADER: task}, json=body, timeout=120
            )
        )
    )
    worker.start()
    wait_for(
        lambda: (
            client.get("/api/v1/perf/progress", params={"task_id": task}).json().get("status") == "running"
        )
    )
    assert client.post("/api/v1/perf/stop", params={"task_id": task}).json()["status"] == "stopped"
    worker.join(60)
    assert answers[0].json() == {"status": "stopped", "task_id": task, "job_id": answers[0].json()["job_id"]}


def test_resume_invoke_reuses_the_task(client, mock):
    task = f"resume-{uuid.uuid4().hex[:8]}"
    first = client.post("/api/v1/eval/invoke", headers={HEADER: task}, json=eval_body(mock, limit=2)).json()
    second = client.post("/api/v1/eval/resume/invoke", headers={HEADER: task}, json=eval_body(mock, limit=2))
    assert second.status_code == 200, second.text
    assert second.json()["status"] == "completed" and second.json()["job_id"] != first["job_id"]
    assert second.json()["result"]["gsm8k"]["score"] == first["result"]["gsm8k"]["score"]
    assert client.get(f"/api/v1/tasks/{task}").json()["job_id"] == second.json()["job_id"]
    unknown = client.post("/api/v1/eval/resume/invoke", headers={HEADER: "never-ran"}, json=eval_body(mock))
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "kind, extra, field, words",
    [
        (
            "eval",
            {"rerun_review": True},
            "rerun_review",
            "not supported yet by this service (EvalScope 1.14 field)",
        ),
        ("eval", {"judge_strategy": "llm"}, "judge_model_args", "required: gsm8k is graded by a judge model"),
        ("eval", {"judge": {"strategy": "llm"}}, "judge", "not supported yet"),
        ("eval", {"sandbox": {"manager_config": {"base_url": "x"}}}, "sandbox", "not supported yet"),
        (
            "eval",
            {"dataset_args": {"gsm8k": {"prompt_template": "{question}"}}},
            "dataset_args.gsm8k",
            "prompt_template: not supported yet",
        ),
        ("eval", {"colour": "red"}, "colour", "unknown field"),
        ("perf", {"open_loop": True}, "open_loop", "not supported yet"),
        ("perf", {"rate": [1, 2]}, "rate", "not supported yet"),
        ("perf", {"dataset_args": {"x": 1}}, "dataset_args", "not supported yet"),
        ("perf", {"multi_turn_args": {"first_turn_length": 10}}, "multi_turn_args", "not supported yet"),
        ("perf", {"colour": "red"}, "colour", "unknown field"),
    ],
)
def test_newer_fields_answer_400_naming_the_field(client, mock, kind, extra, field, words):
    body = eval_body(mock, **extra) if kind == "eval" else perf_body(mock, **extra)
    for path, headers in ((f"/api/v1/{kind}/invoke", {HEADER: "t1"}), (f"/api/v1/{kind}", {})):
        r = client.post(path, headers=headers, json=body)
        assert r.status_code == 400, r.text
        out = r.json()
        assert out["errors"][0]["field"] == field and words in out["errors"][0]["reason"]
        assert "Extra inputs are not permitted" not in r.text


def test_request_errors_in_114_words(client, mock):
    r = client.post("/api/v1/eval/invoke", json=eval_body(mock))
    assert r.status_code == 400 and r.json()["error"] == "EvalScope-Task-Id header is required"
    r = client.post("/api/v1/perf/invoke", headers={HEADER: "../x"}, json=perf_body(mock))
    assert r.status_code == 400 and "invalid task id" in r.json()["error"]
    r = client.post("/api/v1/eval/invoke", headers={HEADER: "t2"}, json={})
    assert r.status_code == 400 and r.json()["error"] == "Request body must be a JSON object"
    r = client.post("/api/v1/eval/invoke", headers={HEADER: "t2"}, json={"model": "m"})
    assert r.status_code == 400 and "api_url" in r.json()["error"]
    assert client.get("/api/v1/eval/progress").json()["error"] == "task_id is required"
    assert client.get("/api/v1/tasks/nope").status_code == 404
    assert client.get("/api/v1/eval/report", params={"task_id": "nope"}).status_code == 404
    archive = client.get("/api/v1/perf/list")
    assert archive.status_code == 501 and "not supported yet" in archive.json()["error"]


def test_benchmarks_and_config(client, service):
    cat = client.get("/api/v1/eval/benchmarks").json()
    names = {b["name"]: b for b in cat["text"]}
    assert {"gsm8k", "mmlu", "ceval", "arc", "iquiz"} <= set(names) and cat["multimodal"] == []
    assert names["gsm8k"]["subset_list"] == ["main"] and names["iquiz"]["subset_list"] == ["IQ", "EQ"]
    assert names["gsm8k"]["category"] == "llm" and names["gsm8k"]["dataset_id"]
    assert client.get("/api/v1/eval/benchmarks", params={"type": "multimodal"}).json() == {"multimodal": []}
    assert client.get("/api/v1/eval/benchmarks", params={"type": "audio"}).status_code == 400
    cfg = client.get("/api/v1/config").json()
    assert cfg["outputs_root"] == str(service.app.state.ctx.settings.base_dir) and cfg["version"]


CLIENT_SCRIPT = """
import sys, threading, time, uuid
import requests

BASE = sys.argv[1]
payload = {{
    "model": "qwen-plus",
    "api_url": sys.argv[2],
    "api_key": "EMPTY",
    "datasets": ["gsm8k"],
    "dataset_args": {{"gsm8k": {{"local_path": sys.argv[3]}}}},
    "limit": 3,
    "eval_batch_size": 1,
    "generation_config": {{"temperature": 0.0, "max_tokens": 64}},
    "repeats": 1,
}}
task_id = str(uuid.uuid4())
headers = {{"EvalScope-Task-Id": task_id}}
out = {{}}

def invoke():
    out["resp"] = requests.post(f"{{BASE}}/api/v1/eval/invoke", json=payload, headers=headers, timeout=300)

t = threading.Thread(target=invoke)
t.start()
line = 0
while t.is_alive():
    prog = requests.get(f"{{BASE}}/api/v1/eval/progress", params={{"task_id": task_id}}).json()
    log = requests.get(f"{{BASE}}/api/v1/eval/log", params={{"task_id": task_id, "start_line": line}}).json()
    line = log["tail_line"]
    print(f"progress {{prog['percent']}}%", flush=True)
    time.sleep(0.2)
t.join()
resp = out["resp"]
resp.raise_for_status()
data = resp.json()
assert data["status"] == "completed", data
print(data["table"])
score = data["result"]["gsm8k"]["score"]
report = requests.get(f"{{BASE}}/api/v1/eval/report", params={{"task_id": task_id}})
report.raise_for_status()
task = requests.get(f"{{BASE}}/api/v1/tasks/{{task_id}}").json()
print(f"SCORE {{score:.4f}} STATUS {{task['status']}} REPORT {{len(report.text) > 0}}")
"""


def test_an_evalscope_114_client_script_runs_against_us(service, mock, tmp_path):
    script = tmp_path / "client114.py"
    script.write_text(textwrap.dedent(CLIENT_SCRIPT.format()))
    proc = subprocess.run(
        [sys.executable, str(script), service.url, mock.url + "/v1", str(FIXTURES / "gsm8k")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SCORE 0.3333 STATUS completed REPORT True" in proc.stdout
    assert "| 模型 | 数据集 |" in proc.stdout


def test_invoke_of_a_run_that_failed_is_500_with_what_it_wrote(client, mock):
    # A dead model endpoint: the connection test fails the run; 1.14's error key and ours, plus the folder.
    body = eval_body(mock) | {"api_url": "http://127.0.0.1:9/v1"}
    resp = client.post("/api/v1/eval/invoke", json=body, headers={HEADER: uuid.uuid4().hex})
    assert resp.status_code == 500, resp.text
    data = resp.json()
    assert data["status"] == "error" and data["error"] == data["message"]
    assert "127.0.0.1:9" in data["error"] and "connection refused" in data["error"]
    assert Path(data["output_dir"]).is_dir()
    assert isinstance(data["result"], dict) and isinstance(data["warnings"], list)
