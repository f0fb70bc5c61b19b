"""The job system driven through JobManager with real worker processes and the test job kind."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from evalscope.jobs import JobConflict, JobKind, JobManager, JobState, JobStore, LocalProcessExecutor
from evalscope.jobs.paths import PathOutsideBase, confined_file, resolve_under

KINDS = {"test": JobKind("test", "testing_kind:run")}
FINAL = {JobState.succeeded, JobState.failed, JobState.cancelled, JobState.interrupted}


def wait_state(mgr: JobManager, job_id: str, states=FINAL, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = mgr.get(job_id)
        if job.state in states:
            return job
        time.sleep(0.02)
    raise AssertionError(f"job {job_id} stuck in {mgr.get(job_id).state}")


@pytest.fixture
def make_manager(tmp_path):
    made = []

    def make(workers: int = 2, db: Path | None = None) -> JobManager:
        store = JobStore(f"sqlite:///{db or tmp_path / 'jobs.db'}")
        mgr = JobManager(store, LocalProcessExecutor(max_workers=workers), KINDS)
        mgr.start()
        made.append(mgr)
        return mgr

    yield make
    for mgr in made:
        mgr.shutdown()


def test_job_runs_reports_progress_and_result(make_manager, tmp_path):
    mgr = make_manager()
    seen = []
    mgr.add_listener(lambda job: seen.append((job.state, job.progress_done, job.progress_total)))
    job = mgr.submit("test", {"steps": 4, "sleep": 0.05}, tmp_path)
    done = wait_state(mgr, job.id)
    assert done.state == JobState.succeeded
    assert done.result["steps"] == 4 and done.result["ran"] == 4
    assert done.progress_done == 4 and done.progress_total == 4
    assert done.attempts == 1 and done.started_at and done.finished_at
    assert (JobState.running, 0, None) in seen
    assert seen[-1][0] == JobState.succeeded
    # The job ran in a worker process, not in ours.
    import os

    assert done.result["pid"] != os.getpid()
    out = Path(done.output_dir)
    assert out.parent == tmp_path.resolve() and out.name.endswith(job.id[:8])
    assert sorted(p.name for p in out.glob("step_*.txt")) == [f"step_{i}.txt" for i in range(4)]
    assert "job " + job.id in (out / "logs" / "job.log").read_text()


def test_workers_are_reused_and_warm(make_manager, tmp_path):
    mgr = make_manager(workers=1)
    pids = set()
    for _ in range(3):
        job = mgr.submit("test", {"steps": 1}, tmp_path)
        pids.add(wait_state(mgr, job.id).result["pid"])
    assert len(pids) == 1


def test_failure_is_recorded_and_secret_scrubbed(make_manager, tmp_path):
    mgr = make_manager()
    key = "sk-very-secret-123456"
    job = mgr.submit("test", {"steps": 1, "fail": True, "api_key": key}, tmp_path)
    done = wait_state(mgr, job.id)
    assert done.state == JobState.failed
    assert "RuntimeError: asked to fail" in done.error
    assert key not in done.error and key not in (done.traceback or "")
    assert done.config["api_key"] == "***"
    for path in [*tmp_path.rglob("*")]:
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path


def test_crash_marks_failed_and_worker_is_replaced(make_manager, tmp_path):
    mgr = make_manager(workers=1)
    job = mgr.submit("test", {"steps": 4, "crash": True}, tmp_path)
    done = wait_state(mgr, job.id)
    assert done.state == JobState.failed
    assert "SIGKILL" in done.error
    after = mgr.submit("test", {"steps": 1}, tmp_path)
    assert wait_state(mgr, after.id).state == JobState.succeeded


def test_fifo_and_concurrency_limit(make_manager, tmp_path):
    mgr = make_manager(workers=2)
    running_max = [0]
    lock = threading.Lock()
    running = set()

    def watch(job):
        with lock:
            if job.state == JobState.running:
                running.add(job.id)
            else:
                running.discard(job.id)
            running_max[0] = max(running_max[0], len(running))

    mgr.add_listener(watch)
    jobs = [mgr.submit("test", {"steps": 1, "sleep": 0.05}, tmp_path) for _ in range(6)]
    finals = [wait_state(mgr, j.id) for j in jobs]
    assert all(j.state == JobState.succeeded for j in finals)
    assert running_max[0] <= 2
    starts = [j.started_at for j in finals]
    assert starts == sorted(starts)


def test_cancel_running_and_queued(make_manager, tmp_path):
    mgr = make_manager(workers=1)
    slow = mgr.submit("test", {"steps": 100, "sleep": 0.05}, tmp_path)
    queued = mgr.submit("test", {"steps": 1}, tmp_path)
    wait_state(mgr, slow.id, {JobState.running})
    assert mgr.cancel(queued.id).state == JobState.cancelled
    assert mgr.cancel(slow.id).state == JobState.cancelled
    with pytest.raises(JobConflict):
        mgr.cancel(slow.id)
    time.sleep(0.3)
    assert mgr.get(slow.id).state == JobState.cancelled
    assert mgr.get(queued.id).attempts == 0
    # The killed worker was replaced: new jobs still run.
    again = mgr.submit("test", {"steps": 1}, tmp_path)
    assert wait_state(mgr, again.id).state == JobState.succeeded


def test_restart_requeues_queued_and_interrupts_running(make_manager, tmp_path):
    db = tmp_path / "restart.db"
    mgr = make_manager(workers=1, db=db)
    running = mgr.submit("test", {"steps": 50, "sleep": 0.05}, tmp_path)
    queued = mgr.submit("test", {"steps": 2}, tmp_path)
    keyed = mgr.submit("test", {"steps": 2, "api_key": "sk-abcdef-secret"}, tmp_path)
    wait_state(mgr, running.id, {JobState.running})
    mgr.shutdown()
    assert mgr.get(running.id).state == JobState.interrupted
    assert mgr.get(queued.id).state == JobState.queued
    assert mgr.get(keyed.id).state == JobState.interrupted  # its key is gone
    done_before = mgr.get(running.id).progress_done

    mgr2 = make_manager(workers=1, db=db)
    assert wait_state(mgr2, queued.id).state == JobState.succeeded
    resumed = mgr2.resume(running.id)
    assert resumed.state == JobState.queued
    final = wait_state(mgr2, running.id)
    assert final.state == JobState.succeeded
    assert final.result["resume"] is True
    # Steps already written were not redone.
    assert final.result["ran"] <= 50 - done_before
    assert final.attempts == 2
    k = mgr2.resume(keyed.id, {"api_key": "sk-abcdef-secret"})
    assert wait_state(mgr2, k.id).result["echo"] == "***"
    with pytest.raises(JobConflict):
        mgr2.resume(queued.id)


def test_paths_are_confined(tmp_path):
    base = tmp_path / "base"
    base.mkdir()
    assert resolve_under(base, None) == base.resolve()
    assert resolve_under(base, "team/a") == (base / "team" / "a").resolve()
    assert resolve_under(base, str(base / "x")) == (base / "x").resolve()
    for bad in ["..", "../x", "a/../../x", "/etc", str(tmp_path)]:
        with pytest.raises(PathOutsideBase):
            resolve_under(base, bad)
    (base / "link").symlink_to(tmp_path)
    with pytest.raises(PathOutsideBase):
        resolve_under(base, "link/x")
    (base / "f.txt").write_text("x")
    (tmp_path / "secret.txt").write_text("s")
    assert confined_file(base, "f.txt") == (base / "f.txt").resolve()
    assert confined_file(base, "../secret.txt") is None
    assert confined_file(base, "link/secret.txt") is None
