"""Exactly one job runner acts at a time, across processes and hosts.

PostgreSQL: a session-level advisory lock held while the sweep runs.
SQLite: an exclusive file lock beside the database file (SQLite is single-host by nature).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import Engine

JOB_LOCK_ID = 0x6372_6564_6974  # "credit"


def _lock_key(job: str) -> int:
    """One lock per job: different sweeps may run side by side; the same sweep never twice at once."""
    digest = hashlib.blake2b(job.encode(), digest_size=8).digest()
    return JOB_LOCK_ID ^ int.from_bytes(digest, "big", signed=True)


@contextlib.contextmanager
def runner_lock(engine: Engine, job: str = "all"):
    """Yields True if this process holds the job's lock, False if another runner has it (do nothing)."""
    if engine.dialect.name == "postgresql":
        key = _lock_key(job)
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
    lock_path = Path(database + f".jobs.{job}.lock") if database and database != ":memory:" else Path(
        f"/tmp/credit-service-memory.jobs.{job}.lock")
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
