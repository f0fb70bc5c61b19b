"""The job system driven through JobManager with real worker processes and the test job kind."""

from __future__ import annotations

import threading
import time
import uuid
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
    # The store is written before listeners are called: wait for the listener to see the end too.
    deadline = time.monotonic() + 30
    while not (seen and seen[-1][0] in FINAL) and time.monotonic() < deadline:
        time.sleep(0.02)
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
    assert "job " + job.id in (out / "logs" / "run.log").read_text()


def test_progress_held_back_by_the_throttle_is_sent_while_the_job_stalls(make_manager, tmp_path):
    # Five steps report in quick succession (all but the first inside the throttle interval), then the
    # job blocks until the test releases it: the record must show 5 of 6 while it is still blocked.
    gate = tmp_path / "release"
    mgr = make_manager(workers=1)
    job = mgr.submit("test", {"steps": 5, "total": 6, "wait_for": str(gate)}, tmp_path)
    deadline = time.monotonic() + 30
    current = mgr.get(job.id)
    while (current.progress_done, current.progress_total) != (5, 6):
        assert current.state in (JobState.queued, JobState.running), current.error
        assert time.monotonic() < deadline, (
            f"progress stuck at {current.progress_done} of {current.progress_total}"
        )
        time.sleep(0.02)
        current = mgr.get(job.id)
    assert current.state == JobState.running and not gate.exists()
    gate.touch()
    done = wait_state(mgr, job.id)
    assert done.state == JobState.succeeded and (done.progress_done, done.progress_total) == (5, 6)


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


def test_workers_that_cannot_start_are_retried_and_never_block_the_queue(tmp_path, monkeypatch):
    # Every worker dies while starting (a module it preloads exits, like a broken install or a
    # forkserver that dies) until the flag file is removed: the executor keeps retrying, fails the
    # queued job with the reason, and recovers by itself.
    flag = tmp_path / "crash-on-import"
    flag.touch()
    module = f"crash_{uuid.uuid4().hex[:12]}"
    (tmp_path / f"{module}.py").write_text(f"import os\nif os.path.exists({str(flag)!r}):\n    os._exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # workers get the parent's sys.path
    executor = LocalProcessExecutor(max_workers=1, preload=[module])
    mgr = JobManager(JobStore(f"sqlite:///{tmp_path / 'jobs.db'}"), executor, KINDS)
    mgr.start()
    try:
        job = mgr.submit("test", {"steps": 1}, tmp_path)
        failed = wait_state(mgr, job.id)
        assert failed.state == JobState.failed
        assert "no worker process could be started" in failed.error, failed.error
        health = mgr.health()
        assert health is not None and health["can_run_jobs"] is False
        assert "worker processes running" in health["reason"]
        assert executor.stats()["spawn_failures"] >= 1
        flag.unlink()
        resumed = mgr.resume(job.id)
        done = wait_state(mgr, resumed.id)
        assert done.state == JobState.succeeded and done.result["steps"] == 1
        assert mgr.health() is None  # a worker reported ready: healthy again
    finally:
        mgr.shutdown()


def _stored_state(db: Path, job_id: str) -> str:
    import sqlite3

    with sqlite3.connect(db, timeout=30) as conn:
        return conn.execute("SELECT state FROM evalscope_jobs WHERE id = ?", (job_id,)).fetchone()[0]


def test_final_state_is_kept_and_retried_while_the_database_is_locked(tmp_path):
    import sqlite3

    db = tmp_path / "locked.db"
    gate = tmp_path / "finish"
    mgr = JobManager(JobStore(f"sqlite:///{db}?timeout=0.2"), LocalProcessExecutor(max_workers=1), KINDS)
    mgr.start()
    try:
        job = mgr.submit("test", {"steps": 2, "wait_for": str(gate)}, tmp_path)
        wait_state(mgr, job.id, {JobState.running})
        # Another process holds the write lock for longer than the store's busy timeout.
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            gate.touch()
            done = wait_state(mgr, job.id)  # known here although the store refused it
            assert done.state == JobState.succeeded and done.result["steps"] == 2
            assert _stored_state(db, job.id) == "running"
            health = mgr.health()
            assert health is not None and "not yet saved" in health["reason"] and health["can_run_jobs"]
            assert mgr.unsaved_count() == 1
            with pytest.raises(JobConflict):  # it has ended: nothing to cancel
                mgr.cancel(job.id)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        deadline = time.monotonic() + 60
        while _stored_state(db, job.id) != "succeeded":
            assert time.monotonic() < deadline, "final state never stored"
            time.sleep(0.05)
        stored = mgr.store.get(job.id)
        assert stored.result["steps"] == 2 and stored.finished_at is not None
        assert mgr.health() is None and mgr.unsaved_count() == 0
    finally:
        mgr.shutdown()


def test_a_final_state_never_stored_is_reconciled_at_start_up(tmp_path):
    import sqlite3

    db = tmp_path / "jobs.db"
    gate = tmp_path / "finish"
    mgr = JobManager(JobStore(f"sqlite:///{db}?timeout=0.2"), LocalProcessExecutor(max_workers=1), KINDS)
    mgr.start()
    job = mgr.submit("test", {"steps": 1, "wait_for": str(gate)}, tmp_path)
    wait_state(mgr, job.id, {JobState.running})
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        gate.touch()
        assert wait_state(mgr, job.id).state == JobState.succeeded
        mgr.shutdown()  # the store is still locked: the state is lost with this process
        assert _stored_state(db, job.id) == "running"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    # The next start finds a running job that no worker runs: interrupted, resumable.
    again = JobManager(JobStore(f"sqlite:///{db}"), LocalProcessExecutor(max_workers=1), KINDS)
    again.start()
    try:
        job = again.get(job.id)
        assert job.state == JobState.interrupted and "resume" in job.error
        assert wait_state(again, again.resume(job.id).id).state == JobState.succeeded
    finally:
        again.shutdown()
