"""Client task ids: EvalScope 1.14 clients name their task in an ``EvalScope-Task-Id`` header and
ask about it by that name later; this table maps the name to our job.

The table is created by migration ``0003_task_ids``. A task id names the newest job submitted under
it (EvalScope's ``resume/invoke`` reuses the id of the task it resumes); older jobs stay in the job API.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, DateTime, MetaData, String, Table, delete, insert, select

from evalscope.jobs.models import ACTIVE_STATES
from evalscope.jobs.store import JobRow, JobStore, utcnow

#: longest task id accepted (EvalScope's ids are uuids or short names)
MAX_TASK_ID = 128

metadata = MetaData()
task_ids = Table(
    "evalscope_task_ids",
    metadata,
    Column("task_id", String(MAX_TASK_ID), primary_key=True),
    Column("job_id", String(32), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("alias", String(255), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)


def bind(store: JobStore, task_id: str, job_id: str, kind: str, alias: str | None = None) -> None:
    """Point ``task_id`` at ``job_id`` (replacing an earlier job of that id)."""
    with store.engine.begin() as conn:
        conn.execute(delete(task_ids).where(task_ids.c.task_id == task_id))
        conn.execute(
            insert(task_ids).values(
                task_id=task_id,
                job_id=job_id,
                kind=kind,
                alias=alias[:255] if alias else None,
                created_at=utcnow(),
            )
        )


def lookup(store: JobStore, task_id: str) -> dict[str, Any] | None:
    """``{"task_id", "job_id", "kind", "alias", "created_at"}`` of a task id, or None."""
    with store.engine.connect() as conn:
        row = conn.execute(select(task_ids).where(task_ids.c.task_id == task_id)).mappings().first()
    return dict(row) if row else None


def active(store: JobStore) -> list[dict[str, Any]]:
    """The task ids whose job is queued or running, newest first."""
    j = JobRow.__table__
    with store.engine.connect() as conn:
        rows = (
            conn.execute(
                select(task_ids)
                .select_from(task_ids.join(j, j.c.id == task_ids.c.job_id))
                .where(j.c.state.in_([s.value for s in ACTIVE_STATES]))
                .order_by(task_ids.c.created_at.desc())
            )
            .mappings()
            .all()
        )
    return [dict(r) for r in rows]
