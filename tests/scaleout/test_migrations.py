"""Alembic migrations of the job store: from an empty database, from the previous revision and from a
database made before migrations existed; rows are kept, and the migrated schema matches the models."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, inspect, text

from evalscope.jobs import Job, JobState, JobStore, endpoints, task_ids, users
from evalscope.jobs.celery import leases
from evalscope.jobs.migrations import current_revision, head_revision, upgrade
from evalscope.jobs.store import JobRow


def _job(i: int, state: JobState = JobState.succeeded) -> Job:
    return Job(
        id=f"{i:032x}",
        kind="perf",
        state=state,
        config={"model": "m", "n": i},
        output_dir=f"/o/{i}",
        progress_done=i,
        progress_total=10,
        result={"score": i / 10},
        created_at=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=i),
        attempts=1,
    )


def _schema_diff(engine) -> list:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import MetaData

    target = MetaData()
    for table in (JobRow.__table__, leases.leases, task_ids.task_ids, users.users, endpoints.endpoints):
        table.to_metadata(target)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), target)
    return [
        d
        for d in diff
        if not (isinstance(d, tuple) and d[0] == "remove_table" and d[1].name == "alembic_version")
    ]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs.db'}"
    return request.getfixturevalue("pg_database")()


def test_empty_database_is_migrated_to_head_and_matches_the_models(db_url):
    store = JobStore(db_url)
    try:
        assert current_revision(store.engine) == head_revision() == "0005_teams"
        assert _schema_diff(store.engine) == []
        store.create(_job(1))
        assert store.get(_job(1).id) == _job(1)
    finally:
        store.close()


def test_upgrade_from_the_previous_revision_keeps_every_row(db_url):
    engine = create_engine(db_url)
    upgrade(engine, "0001_jobs")
    assert current_revision(engine) == "0001_jobs"
    assert not inspect(engine).has_table("evalscope_job_leases")
    # Rows written by the previous version (its store wrote only the jobs table).
    jobs = [
        _job(i, state) for i, state in enumerate([JobState.succeeded, JobState.failed, JobState.interrupted])
    ]
    with engine.begin() as conn:
        for job in jobs:
            conn.execute(
                JobRow.__table__.insert().values(
                    **job.model_dump(exclude={"summary", "owner", "endpoint", "waits"})
                )
            )
    engine.dispose()

    store = JobStore(db_url)  # opening the store applies the pending migration
    try:
        assert current_revision(store.engine) == "0005_teams"
        assert [store.get(j.id) for j in jobs] == jobs
        assert _schema_diff(store.engine) == []
        leases.heartbeat(store, jobs[0].id, "w@test", 1)
        assert leases.lease_of(store, jobs[0].id)["worker"] == "w@test"
    finally:
        store.close()


def test_a_database_made_before_migrations_existed_keeps_its_rows(db_url):
    engine = create_engine(db_url)
    JobRow.metadata.create_all(engine)  # what the store did before migrations
    with engine.begin() as conn:
        conn.execute(JobRow.__table__.insert().values(**_job(7).model_dump()))
        assert conn.execute(text("select count(*) from evalscope_jobs")).scalar() == 1
    assert current_revision(engine) is None
    engine.dispose()
    store = JobStore(db_url)
    try:
        assert current_revision(store.engine) == head_revision()
        assert store.get(_job(7).id) == _job(7)
        assert _schema_diff(store.engine) == []
    finally:
        store.close()


def test_two_stores_opening_a_new_database_at_once_both_succeed(db_url):
    import threading

    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            JobStore(db_url).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    engine = create_engine(db_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()
