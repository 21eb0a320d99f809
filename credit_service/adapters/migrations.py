"""`credit-service db upgrade`: Alembic, configured in code so it works from any directory.

Safe to run from every replica at once (issue 13): on PostgreSQL the upgrade runs under a session-level
advisory lock, on SQLite under an exclusive lock on a file beside the database. Whoever comes second
waits, then finds the schema at head and has nothing to do.
"""
from __future__ import annotations

import contextlib
import logging
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# pg_advisory_lock's key: any 64-bit number no one else uses on this database ("credit-s" in ASCII).
ADVISORY_LOCK_KEY = 0x6372656469742D73

log = logging.getLogger(__name__)


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    with migration_lock(database_url):
        command.upgrade(alembic_config(database_url), revision)


@contextlib.contextmanager
def migration_lock(database_url: str):
    """One migration at a time per database, across processes and machines."""
    if database_url.startswith("sqlite"):
        with _file_lock(database_url):
            yield
        return
    from sqlalchemy import text

    from .database import make_engine
    engine = make_engine(database_url)  # no statement timeout: the wait may be as long as a migration
    try:
        with engine.connect() as connection:
            if not connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY}).scalar():
                log.info("another process is migrating this database; waiting for it to finish")
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            connection.commit()  # a session-level lock outlives the transaction; none is left open
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY})
                connection.commit()
    finally:
        engine.dispose()


@contextlib.contextmanager
def _file_lock(database_url: str):
    path = database_url.split("///", 1)[-1]
    if not path or path == ":memory:" or database_url == "sqlite://":
        yield
        return
    import fcntl
    lock_path = Path(path).with_name(Path(path).name + ".migrate-lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log.info("another process is migrating this database; waiting for it to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
