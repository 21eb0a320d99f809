"""A transaction around one use case (cosmicpython's unit of work)."""
from __future__ import annotations

import hashlib
from typing import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker):
        self._session_factory = session_factory
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()  # no-op after commit; undoes everything on error
        self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def lock_subjects(self, keys: Iterable[tuple[str, str]]) -> None:
        """Serialise concurrent intake per subject so that a year's aggregation is never raced.

        PostgreSQL: transaction-scoped advisory locks, taken in a fixed order (no deadlocks).
        SQLite: every transaction already began with BEGIN IMMEDIATE, which serialises writers.
        """
        if self.session.get_bind().dialect.name != "postgresql":
            return
        lock_ids = sorted({_lock_id(t, n) for t, n in keys})
        if lock_ids:
            self.session.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) AS k"),
                                 {"ids": lock_ids})


def _lock_id(subject_type: str, id_number: str) -> int:
    digest = hashlib.blake2b(f"{subject_type}:{id_number}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
