"""Pieces of the Celery executor that need no broker: the heartbeat reaper, the CLI's errors,
the archive unpacking, and the settings."""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from datetime import timedelta

import pytest

from evalscope.jobs import Job, JobState, JobStore
from evalscope.jobs.celery import leases
from evalscope.jobs.celery.files import pack_folder, unpack_archive
from evalscope.jobs.store import utcnow


def test_reaper_interrupts_only_running_jobs_whose_heartbeat_is_stale(tmp_path):
    store = JobStore(f"sqlite:///{tmp_path / 'j.db'}")
    now = utcnow()
    for name in ("fresh", "stale", "nobeat", "queued"):
        state = JobState.queued if name == "queued" else JobState.running
        store.create(
            Job(
                id=name,
                kind="test",
                state=state,
                output_dir="/o",
                created_at=now,
                started_at=now - timedelta(seconds=60),
            )
        )
    leases.heartbeat(store, "fresh", "w1", 1)
    leases.heartbeat(store, "stale", "w2", 2)
    with store.engine.begin() as conn:
        conn.execute(
            leases.leases.update()
            .where(leases.leases.c.job_id == "stale")
            .values(heartbeat_at=now - timedelta(seconds=31))
        )
    assert sorted(leases.reap_stale(store, 30.0)) == ["nobeat", "stale"]
    assert store.get("stale").state == JobState.interrupted and "w2" in store.get("stale").error
    assert store.get("fresh").state == JobState.running
    assert store.get("queued").state == JobState.queued
    assert leases.reap_stale(store, 30.0) == []
    store.close()


@pytest.mark.parametrize(
    "args, message",
    [
        ([], "error: --broker-url: required"),
        (["--broker-url", "redis://127.0.0.1:1/0"], "error: --database-url: required"),
        (
            ["--broker-url", "redis://x", "--database-url", "sqlite://", "--files", "upload"],
            "error: --service-url: required",
        ),
        (
            [
                "--broker-url",
                "redis://x",
                "--database-url",
                "sqlite://",
                "--files",
                "upload",
                "--service-url",
                "http://s",
            ],
            "error: --work-dir: required",
        ),
        (
            ["--broker-url", "redis://x", "--database-url", "sqlite://", "--concurrency", "0"],
            "error: --concurrency:",
        ),
    ],
)
def test_worker_cli_rejects_bad_flags_without_a_traceback(args, message, monkeypatch):
    env = {k: v for k, v in __import__("os").environ.items() if not k.startswith("EVALSCOPE_")}
    r = subprocess.run(
        [sys.executable, "-m", "evalscope", "worker", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_service_needs_a_broker_with_the_celery_executor():
    r = subprocess.run(
        [sys.executable, "-m", "evalscope", "service", "--executor", "celery"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 2 and "--broker-url" in r.stderr and "Traceback" not in r.stderr


def test_archives_round_trip_and_cannot_escape_the_job_folder(tmp_path):
    src = tmp_path / "src"
    (src / "logs").mkdir(parents=True)
    (src / "logs" / "run.log").write_text("hello")
    (src / "a.json").write_text("{}")
    buf = io.BytesIO()
    pack_folder(src, buf, prefix="shards/s1")
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(buf.getvalue())
    dest = tmp_path / "dest"
    assert unpack_archive(archive, dest) == 2
    assert (dest / "shards" / "s1" / "logs" / "run.log").read_text() == "hello"

    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    archive.write_bytes(evil.getvalue())
    with pytest.raises(tarfile.TarError):
        unpack_archive(archive, tmp_path / "dest2")
    assert not (tmp_path / "escaped.txt").exists()
