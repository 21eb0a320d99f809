"""Exactly one job runner acts at a time, across processes and hosts.

PostgreSQL: a session-level advisory lock held while the sweep runs.
SQLite: an exclusive file lock beside the database file (SQLite is single-host by nature).
"""
from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

JOB_LOCK_ID = 0x6372_6564_6974  # "credit"
OUTBOX_LOCK_ID = 0x6372_6564_6975  # the webhook outbox: runs all day, apart from the daily sweeps


@contextlib.contextmanager
def runner_lock(engine: Engine, key: int = JOB_LOCK_ID, name: str = "jobs"):
    """Yields True if this process holds the lock, False if another runner has it (do nothing)."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            got = connection.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
            connection.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    connection.commit()
        return
    database = engine.url.database or ""
    lock_path = Path(f"{database}.{name}.lock") if database and database != ":memory:" else Path(
        f"/tmp/credit-service-memory.{name}.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
