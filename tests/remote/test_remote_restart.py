"""The service is SIGKILLed and started again while `evalscope remote wait` follows two jobs: the clients
reconnect and report each job's real final state. The job that was running comes back `interrupted`
(the service never restarts a half-done run by itself); the one still queued runs after the restart and
its wait passes its gate; `wait --resume-interrupted` then finishes the interrupted one."""

from __future__ import annotations

import json
import subprocess
import time
import xml.etree.ElementTree as ET

from evalscope.mock import MockServer

from .conftest import GSM8K_SCORE, TOKEN, Service, client_env, mock_config, remote_argv, run_remote


def _submit(svc: Service, mock: MockServer) -> str:
    out = run_remote("eval", "--server", svc.url, "--model", "m", "--api-url", mock.url + "/v1",
                     "--datasets", "gsm8k", "--no-wait")  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def _waiter(svc: Service, job_id: str, *extra: object) -> subprocess.Popen[str]:
    argv = remote_argv("wait", job_id, "--server", svc.url, "--reconnect-timeout", "120", *extra)
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=client_env())


def test_waiting_clients_survive_a_service_restart(tmp_path):
    mock = MockServer(mock_config(ttft=0.5)).start()  # 6 questions, one at a time: >= 3 s per eval
    svc = Service(tmp_path, "--max-concurrent-jobs", "1").start()
    waiters: list[subprocess.Popen[str]] = []
    try:
        running, queued = _submit(svc, mock), _submit(svc, mock)
        wa = _waiter(svc, running)
        wb = _waiter(svc, queued, "--fail-under", "gsm8k=0.5", "--junit-xml", tmp_path / "queued.xml")
        waiters += [wa, wb]
        # Each waiter prints its first line once the event stream gave it the job: both are following.
        assert wa.stderr is not None and wb.stderr is not None
        assert wa.stderr.readline().startswith(f"job {running}: ")
        assert wb.stderr.readline().startswith(f"job {queued}: queued")
        with svc.http() as http:
            deadline = time.monotonic() + 60
            while http.get(f"/api/v1/jobs/{running}").json()["progress"]["done"] < 1:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        svc.kill()
        svc.start()  # same port, same job store

        out_a, err_a = wa.communicate(timeout=180)
        assert wa.returncode == 1, err_a
        assert f"warning: lost the service at {svc.url}" in err_a
        assert f"note: reached the service at {svc.url} again" in err_a
        last = err_a.strip().splitlines()[-1]
        assert last.startswith(f"error: job {running} interrupted: ") and last.endswith(
            f"; resume it: POST /api/v1/jobs/{running}/resume"
        )

        out_b, err_b = wb.communicate(timeout=180)
        assert wb.returncode == 0, err_b  # queued at the restart, run after it, gate met (0.5 >= 0.5)
        assert "warning: lost the service" in err_b and "gate missed" not in err_b
        cases = ET.parse(tmp_path / "queued.xml").getroot().findall("./testsuite/testcase")
        assert [(c.get("name"), c.find("failure")) for c in cases] == [("gsm8k", None)]

        # The interrupted job, resumed by the client: it continues in its folder and succeeds.
        resumed = run_remote("wait", running, "--server", svc.url, "--resume-interrupted", "1", "--json",
                             "--fail-under", "gsm8k=0.5")  # fmt: skip
        assert resumed.returncode == 0, resumed.stderr
        assert f"note: job {running} was interrupted" in resumed.stderr
        job = json.loads(resumed.stdout)
        assert job["state"] == "succeeded" and job["attempts"] == 2
        assert job["result"]["result"]["gsm8k"]["score"] == GSM8K_SCORE
        assert sum(job["result"]["result"]["gsm8k"]["counts"].values()) == 6
        for text in (out_a, err_a, out_b, err_b, resumed.stdout, resumed.stderr):
            assert TOKEN not in text and "Traceback" not in text
    finally:
        for w in waiters:
            if w.poll() is None:
                w.kill()
                w.wait()
        svc.stop()
        mock.stop()
