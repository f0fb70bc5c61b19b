"""An eval job's one log, ``logs/run.log``: the engine's lines are there while the job runs, next to
the worker's, and no line is written twice (read through the files API once the job is over).

While the job runs the file is read from the job folder directly: a download of a file that grows
while it is sent can fail (Content-Length taken before the end), which is the files route's concern."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from conftest import FIXTURES, wait_job

from evalscope.mock import ScriptedAnswer


def _log(c: httpx.Client, job_id: str) -> str:
    r = c.get(f"/api/v1/jobs/{job_id}/files/logs/run.log")
    return r.text if r.status_code == 200 else ""


def _body(mock) -> dict:
    return {
        "model": "m",
        "api_url": mock.url + "/v1",
        "datasets": ["gsm8k"],
        "eval_batch_size": 1,
        "max_retries": 0,
        "timeout": 120,
        "dataset_args": {"gsm8k": {"local_path": str(FIXTURES / "gsm8k")}},
    }


def test_eval_lines_reach_the_job_log_while_it_runs(thread_service, mock_server):
    svc = thread_service(data_dirs=[FIXTURES])
    # the last gsm8k row ("Lena") stalls far longer than the test needs: the job is still running
    slow = mock_server(
        answers=[
            ScriptedAnswer(match="Lena", reply="\\boxed{30}", delay=60),
            ScriptedAnswer(match="", reply="\\boxed{1}"),
        ]
    )
    with httpx.Client(base_url=svc.url, timeout=30) as c:
        r = c.post("/api/v1/jobs/eval", json=_body(slow))
        assert r.status_code in (200, 201, 202), r.text
        job_id = r.json()["id"]
        log_file = Path(r.json()["output_dir"]) / "logs" / "run.log"
        deadline = time.monotonic() + 60
        text = ""
        while "gsm8k: 6 samples, 0 from cache" not in text:
            job = c.get(f"/api/v1/jobs/{job_id}").json()
            assert job["state"] in ("queued", "running"), job
            assert time.monotonic() < deadline, text
            time.sleep(0.05)
            text = log_file.read_text(encoding="utf-8") if log_file.is_file() else ""
        assert c.get(f"/api/v1/jobs/{job_id}").json()["state"] == "running"  # read during the run
        assert f"job {job_id}" in text  # the worker's own line, in the same file
        assert text.count("gsm8k: 6 samples, 0 from cache") == 1
        assert "model=m datasets=gsm8k" in text
        c.post(f"/api/v1/jobs/{job_id}/cancel")
        wait_job(c, job_id)

        # a job that finishes: every engine line once (debug too, where the engine's logger propagates),
        # after the worker's start line
        fast = mock_server(answers=[ScriptedAnswer(match="", reply="\\boxed{1}")])
        done = wait_job(c, c.post("/api/v1/jobs/eval", json={**_body(fast), "debug": True}).json()["id"])
        assert done["state"] == "succeeded", done
        text = _log(c, done["id"])
        for line in (
            "model=m datasets=gsm8k",
            "gsm8k: 6 samples, 0 from cache",
            "asked 6 samples",
            "gsm8k: score=",
        ):
            assert text.count(line) == 1, (line, text)
        assert text.index(f"job {done['id']}") < text.index("gsm8k: score=")
