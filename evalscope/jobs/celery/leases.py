"""Leases: which remote worker runs a job, and when it last said so (its heartbeat).

The table is created by migration ``0002_leases``.  A worker writes its lease when it starts a job
and refreshes ``heartbeat_at`` every few seconds; the service marks a running job whose heartbeat
is older than the timeout ``interrupted`` (the worker died, or lost its connection to the store).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    delete,
    insert,
    or_,
    select,
    update,
)

from evalscope.jobs.models import JobState
from evalscope.jobs.store import JobRow, JobStore, utcnow

metadata = MetaData()
leases = Table(
    "evalscope_job_leases",
    metadata,
    Column("job_id", String(32), primary_key=True),
    Column("task_id", String(80), nullable=True),
    Column("worker", String(255), nullable=True),
    Column("pid", Integer, nullable=True),
    Column("heartbeat_at", DateTime(timezone=True), nullable=True, index=True),
)


def record_task(store: JobStore, job_id: str, task_ids: list[str]) -> None:
    """Remember the Celery task id(s) of a job's current attempt (so a restarted service can revoke)."""
    with store.engine.begin() as conn:
        conn.execute(delete(leases).where(leases.c.job_id == job_id))
        conn.execute(insert(leases).values(job_id=job_id, task_id=",".join(task_ids)[:80]))


def task_ids(store: JobStore, job_id: str) -> list[str]:
    with store.engine.connect() as conn:
        value = conn.scalar(select(leases.c.task_id).where(leases.c.job_id == job_id))
    return [v for v in (value or "").split(",") if v]


def heartbeat(store: JobStore, job_id: str, worker: str, pid: int | None) -> None:
    """Claim or refresh the lease of a running job."""
    now = utcnow()
    with store.engine.begin() as conn:
        res = conn.execute(
            update(leases)
            .where(leases.c.job_id == job_id)
            .values(worker=worker[:255], pid=pid, heartbeat_at=now)
        )
        if res.rowcount == 0:
            conn.execute(insert(leases).values(job_id=job_id, worker=worker[:255], pid=pid, heartbeat_at=now))


def lease_of(store: JobStore, job_id: str) -> dict | None:
    with store.engine.connect() as conn:
        row = conn.execute(select(leases).where(leases.c.job_id == job_id)).mappings().first()
    return dict(row) if row else None


def reap_stale(store: JobStore, timeout_s: float, now: datetime | None = None) -> list[str]:
    """Mark running jobs whose worker stopped heart-beating ``interrupted``; returns their ids.

    A running job counts as stale when its lease's heartbeat is older than ``timeout_s``, or when
    it has no heartbeat at all and started more than ``timeout_s`` ago.
    """
    now = now or utcnow()
    limit = now - timedelta(seconds=timeout_s)
    j, lease = JobRow.__table__, leases
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(j.c.id, lease.c.worker)
            .select_from(j.outerjoin(lease, lease.c.job_id == j.c.id))
            .where(
                j.c.state == JobState.running.value,
                or_(
                    lease.c.heartbeat_at < limit, and_(lease.c.heartbeat_at.is_(None), j.c.started_at < limit)
                ),
            )
        ).all()
    stale = []
    for job_id, worker in rows:
        who = f"worker {worker}" if worker else "its worker"
        job = store.transition(
            job_id,
            [JobState.running],
            state=JobState.interrupted,
            finished_at=now,
            error=f"{who} stopped sending heartbeats for {timeout_s:g} s (it died or lost "
            "the database); resume the job to run it again",
        )
        if job is not None:
            stale.append(job_id)
    return stale
