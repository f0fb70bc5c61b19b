"""SQLAlchemy job store: a SQLite file by default, PostgreSQL (or any SQLAlchemy URL) for teams."""

from __future__ import annotations

import builtins
import functools
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import CursorResult, make_url
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

from evalscope.jobs.models import FINAL_STATES, Job, JobState
from evalscope.jobs.summary import summarize

#: how long a store operation waits for a SQLite lock held by another process before it fails
#: (the service then answers 503): a few seconds, so an HTTP caller is never held for long
BUSY_TIMEOUT_S = 5.0


def utcnow() -> datetime:
    return datetime.now(UTC)


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands datetimes back naive; every stored time is UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class _Base(DeclarativeBase):
    pass


class JobRow(_Base):
    __tablename__ = "evalscope_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output_dir: Mapped[str] = mapped_column(Text)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer, nullable=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    has_secret: Mapped[bool] = mapped_column(Boolean, default=False)
    worker_pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    summary: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    owner: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    endpoint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    waits: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON, nullable=True)


_FIELDS = [c.name for c in JobRow.__table__.columns]


def _to_model(row: JobRow) -> Job:
    data = {name: getattr(row, name) for name in _FIELDS}
    for name in ("created_at", "started_at", "finished_at"):
        data[name] = _aware(data[name])
    return Job.model_validate(data)


class JobStore:
    """Persistent job records.  Thread-safe: the service's event loop and the executor's monitor
    thread both write.  State changes are conditional updates, so a late event can never
    overwrite a newer state (e.g. a result arriving after a cancel)."""

    def __init__(self, url: str, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.url = url
        is_sqlite = url.startswith("sqlite")
        kwargs: dict[str, Any] = {"future": True}
        if is_sqlite:
            # pysqlite's own URL parameter (sqlite:///jobs.db?timeout=0.5) sets the busy timeout too.
            given = make_url(url).query.get("timeout")
            busy_timeout = float((given[-1] if isinstance(given, tuple) else given) or busy_timeout)
            kwargs["connect_args"] = {"check_same_thread": False, "timeout": busy_timeout}
        else:
            kwargs["pool_pre_ping"] = True
        self.engine = create_engine(url, **kwargs)
        if is_sqlite:
            event.listen(
                self.engine, "connect", functools.partial(_sqlite_pragmas, busy_ms=int(busy_timeout * 1000))
            )
        # SQLite allows one writer at a time; serialising writes here avoids "database is locked".
        self._write_lock = threading.Lock() if is_sqlite else _NullLock()
        # Migrations first (they keep every row of an older schema); create_all then only fills in
        # the tables when Alembic is not installed.
        from evalscope.jobs.migrations import upgrade_if_available

        upgrade_if_available(self.engine)
        _Base.metadata.create_all(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)

    def close(self) -> None:
        self.engine.dispose()

    # -- writes -------------------------------------------------------------------------------
    def create(self, job: Job) -> Job:
        with self._write_lock, self._session.begin() as s:
            s.add(JobRow(**job.model_dump()))
        return job

    def transition(self, job_id: str, from_states: Iterable[JobState], **fields: Any) -> Job | None:
        """Set ``fields`` only if the job is currently in one of ``from_states``.

        Returns the updated job, or None when the job was not in those states.
        """
        states = [JobState(s).value for s in from_states]
        values = {k: (v.value if isinstance(v, JobState) else v) for k, v in fields.items()}
        with self._write_lock, self._session.begin() as s:
            res = cast(
                "CursorResult[Any]",
                s.execute(
                    update(JobRow).where(JobRow.id == job_id, JobRow.state.in_(states)).values(**values)
                ),
            )
            if res.rowcount == 0:
                return None
            row = s.get(JobRow, job_id)
            if row is None:
                return None
            s.refresh(row)
            if "state" in values and "summary" not in values and JobState(row.state) in FINAL_STATES:
                # the headline, computed once here: every final state (the local manager's and a
                # remote worker's) goes through this update
                row.summary = summarize(row.kind, row.state, row.config or {}, row.result).model_dump(
                    mode="json"
                )
            elif "state" in values and "summary" not in values:
                row.summary = None  # queued again (resume): the old headline no longer holds
            return _to_model(row)

    def mark_started(self, job_id: str, pid: int | None) -> Job | None:
        """queued -> running; counts the attempt."""
        with self._write_lock, self._session.begin() as s:
            res = cast(
                "CursorResult[Any]",
                s.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id, JobRow.state == JobState.queued.value)
                    .values(
                        state=JobState.running.value,
                        started_at=utcnow(),
                        finished_at=None,
                        worker_pid=pid,
                        attempts=JobRow.attempts + 1,
                    )
                ),
            )
            if res.rowcount == 0:
                return None
            row = s.get(JobRow, job_id)
            if row is None:
                return None
            s.refresh(row)
            return _to_model(row)

    def set_progress(self, job_id: str, done: int, total: int | None) -> Job | None:
        return self.transition(job_id, [JobState.running], progress_done=done, progress_total=total)

    def recover(self) -> list[Job]:
        """After a restart: running jobs become interrupted, and so do queued jobs whose secret is
        gone; returns the queued jobs that can run again, oldest first."""
        now = utcnow()
        with self._write_lock, self._session.begin() as s:
            s.execute(
                update(JobRow)
                .where(JobRow.state == JobState.running.value)
                .values(
                    state=JobState.interrupted.value,
                    finished_at=now,
                    error="the service stopped while this job was running; resume it to continue",
                )
            )
            s.execute(
                update(JobRow)
                .where(JobRow.state == JobState.queued.value, JobRow.has_secret.is_(True))
                .values(
                    state=JobState.interrupted.value,
                    finished_at=now,
                    error="the service restarted before this job ran and API keys are never stored; "
                    "resume it with its api_key",
                )
            )
        return self.list(state=JobState.queued, limit=None, oldest_first=True)[0]

    # -- reads --------------------------------------------------------------------------------
    def get(self, job_id: str) -> Job | None:
        with self._session() as s:
            row = s.get(JobRow, job_id)
            return _to_model(row) if row is not None else None

    def list(
        self,
        state: JobState | str | None = None,
        kind: str | None = None,
        limit: int | None = 50,
        offset: int = 0,
        oldest_first: bool = False,
        owner: str | None = None,
    ) -> tuple[list[Job], int]:
        """Jobs matching the filters (newest first by default) and the total count of matches."""
        conds = []
        if state is not None:
            conds.append(JobRow.state == JobState(state).value)
        if kind is not None:
            conds.append(JobRow.kind == kind)
        if owner is not None:
            conds.append(JobRow.owner == owner)
        order = JobRow.created_at.asc() if oldest_first else JobRow.created_at.desc()
        with self._session() as s:
            total = s.scalar(select(func.count()).select_from(JobRow).where(*conds)) or 0
            q = select(JobRow).where(*conds).order_by(order, JobRow.id).offset(offset)
            if limit is not None:
                q = q.limit(limit)
            return [_to_model(r) for r in s.scalars(q)], int(total)

    def counts(self) -> dict[tuple[str, str], int]:
        """Number of jobs by (kind, state)."""
        with self._session() as s:
            rows = s.execute(
                select(JobRow.kind, JobRow.state, func.count()).group_by(JobRow.kind, JobRow.state)
            )
            return {(k, st): int(n) for k, st, n in rows}

    def durations(self) -> builtins.list[tuple[str, str, float]]:
        """(kind, state, seconds) of every finished attempt that started."""
        with self._session() as s:
            rows = s.execute(
                select(JobRow.kind, JobRow.state, JobRow.started_at, JobRow.finished_at).where(
                    JobRow.started_at.is_not(None), JobRow.finished_at.is_not(None)
                )
            )
            return [
                (k, st, max(0.0, (cast(datetime, _aware(f)) - cast(datetime, _aware(b))).total_seconds()))
                for k, st, b, f in rows  # both are set (the query's condition)
            ]


class _NullLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _sqlite_pragmas(dbapi_conn: Any, _record: Any, busy_ms: int) -> None:
    cur = dbapi_conn.cursor()
    # WAL: readers never block the writer; committed rows survive a SIGKILL of the service.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={busy_ms:d}")
    cur.close()
