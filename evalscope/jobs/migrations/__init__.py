"""Alembic migrations of the job store, applied automatically when a store opens.

``upgrade(engine)`` brings any database (a new one, a pre-migration one made by ``create_all``, or
one at an older revision) to the newest schema without touching existing rows.  Concurrent
starters (a service and several workers on one PostgreSQL) are serialised: PostgreSQL by an
advisory lock held for the upgrade's transaction, a SQLite file by a lock file beside it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

HERE = Path(__file__).resolve().parent
#: arbitrary constant: the advisory lock id used while migrating (PostgreSQL)
_PG_LOCK_ID = 7_320_512_001


def _quiet_alembic() -> None:
    """Keep routine migrations out of start-up logs unless someone configured alembic's logger.

    Must run before alembic is first imported: ``import alembic`` itself logs one INFO line per
    plugin it sets up.  An explicit level (a user's logging config) is left alone.
    """
    log = logging.getLogger("alembic")
    if log.level == logging.NOTSET:
        log.setLevel(logging.WARNING)


def _config(connection: Any) -> Any:
    _quiet_alembic()
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    db = engine.url.database
    if not db or db == ":memory:" or db.startswith("file:"):
        yield
        return
    path = Path(db).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(f"{path}.migrate.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the database behind ``engine`` up to ``revision`` (default: the newest)."""
    _quiet_alembic()
    from alembic import command

    is_sqlite = engine.dialect.name == "sqlite"
    lock = _sqlite_file_lock(engine) if is_sqlite else contextlib.nullcontext()
    with lock, engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_LOCK_ID})")
        command.upgrade(_config(conn), revision)


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at (None: never migrated)."""
    _quiet_alembic()
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str:
    """The newest revision shipped with this version."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_config(None)).get_current_head()
    if head is None:
        raise RuntimeError("no migration revisions shipped with this version")
    return head


def upgrade_if_available(engine: Engine) -> bool:
    """Migrate when Alembic is installed; False when it is not (the caller creates the tables)."""
    _quiet_alembic()
    try:
        import alembic  # noqa: F401
    except ImportError:
        return False
    upgrade(engine)
    return True
