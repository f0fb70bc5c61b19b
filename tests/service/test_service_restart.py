"""SIGKILL the service in the middle of an eval, start it again: states are right, nothing written is
lost, queued jobs run, and the resumed eval asks the model only for the samples it lacks."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import httpx
from conftest import wait_job

from evalscope.mock import MockConfig, MockServer, ScriptedAnswer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "eval"
N = 16


def _dataset(root: Path) -> Path:
    gsm = root / "gsm8k"
    gsm.mkdir(parents=True)
    shutil.copy(FIXTURES / "gsm8k" / "train.jsonl", gsm / "train.jsonl")
    with (gsm / "test.jsonl").open("w") as fh:
        for i in range(N):
            fh.write(
                json.dumps(
                    {
                        "question": f"Item {i}: what is {i} plus one?",
                        "answer": f"{i} + 1 = {i + 1}\n#### {i + 1}",
                    }
                )
                + "\n"
            )
    return root


def _complete_lines(path: Path) -> int:
    n = 0
    for line in path.read_text().splitlines():
        try:
            json.loads(line)
            n += 1
        except json.JSONDecodeError:
            pass  # a line torn by the kill
    return n


def _dead(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_sigkill_restart_and_resume(process_service, tmp_path):
    ds = _dataset(tmp_path / "ds")
    mock = MockServer(
        MockConfig(
            ttft=0.25, output_tokens=4, answers=[ScriptedAnswer(match="", reply="The answer is \\boxed{1}")]
        )
    ).start()
    env = {"EVALSCOPE_DATASET_DIR": str(ds), "EVALSCOPE_OFFLINE": "1"}
    work = tmp_path / "outputs"
    try:
        svc = process_service("--max-concurrent-jobs", "1", work_dir=work, env=env)
        with httpx.Client(base_url=svc.url, timeout=60) as c:
            done_before = c.post("/api/v1/jobs/test", json={"steps": 2})
            finished = wait_job(c, done_before.json()["id"])
            ev = c.post(
                "/api/v1/jobs/eval",
                json={
                    "model": "qwen",
                    "api_url": mock.url + "/v1",
                    "datasets": ["gsm8k"],
                    "eval_batch_size": 1,
                },
            ).json()
            queued = c.post("/api/v1/jobs/test", json={"steps": 2}).json()
            deadline = time.monotonic() + 60
            while True:
                job = c.get(f"/api/v1/jobs/{ev['id']}").json()
                if job["progress"]["done"] >= 4:
                    break
                assert time.monotonic() < deadline, job
                time.sleep(0.05)
        svc.kill()
        # The worker notices its service is gone and stops (it must not keep writing untracked).
        assert _dead(job["worker_pid"])
        pred = Path(ev["output_dir"]) / "predictions" / "qwen" / "gsm8k.jsonl"
        written = _complete_lines(pred)
        assert 4 <= written < N

        svc2 = process_service("--max-concurrent-jobs", "1", work_dir=work, env=env)
        with httpx.Client(base_url=svc2.url, timeout=60) as c:
            job = c.get(f"/api/v1/jobs/{ev['id']}").json()
            assert job["state"] == "interrupted" and "resume" in job["error"]
            assert 4 <= job["progress"]["done"] <= written
            assert c.get(f"/api/v1/jobs/{finished['id']}").json() == finished
            # The job queued behind the eval runs after the restart on its own.
            assert wait_job(c, queued["id"])["state"] == "succeeded"
            assert _complete_lines(pred) == written  # nothing already written was lost

            mock.reset_stats()
            r = c.post(f"/api/v1/jobs/{ev['id']}/resume")
            assert r.status_code == 202
            final = wait_job(c, ev["id"])
            assert final["state"] == "succeeded", final
            assert final["attempts"] == 2
            prompts = mock.stats()["prompts"]
            assert sum(prompts.values()) == N - written  # only the missing samples were asked
            assert all(n == 1 for n in prompts.values())
            report = final["result"]["result"]["gsm8k"]
            assert sum(report["counts"].values()) == N
            assert report["counts"]["correct"] == 1  # only item 0 has gold 1
            assert _complete_lines(pred) == N
    finally:
        mock.stop()
