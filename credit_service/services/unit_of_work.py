"""A transaction around one use case (cosmicpython's unit of work)."""
from __future__ import annotations

import hashlib
from typing import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker


SUBJECT_LOCK_LIMIT = 500
INTAKE_LOCK = {"a": 0x6372, "b": 1}  # the two-int advisory key space: apart from the subjects' bigint keys


class UnitOfWork:
    def __init__(self, session_factory: sessionmaker):
        self._session_factory = session_factory
        self.session: Session | None = None

    def __enter__(self) -> "UnitOfWork":
        self.session = self._session_factory()
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()  # no-op after commit; undoes everything on error
        self.session.info.pop("audit_staged", None)
        self.session.close()

    # Repositories of the read models added with issue 14 (issue 10 gives every aggregate one).
    @property
    def report_facts(self):
        from ..adapters.report_store import ReportFacts
        return ReportFacts(self.session)

    @property
    def frozen_reports(self):
        from ..adapters.report_store import FrozenReports
        return FrozenReports(self.session)

    @property
    def listings(self):
        from ..adapters.listings import Listings
        return Listings(self.session)

    def commit(self) -> None:
        from . import audit  # the trail is written in the same transaction as the changes it records
        audit.flush_staged(self.session)
        self.session.commit()

    def lock_subjects(self, keys: Iterable[tuple[str, str]]) -> None:
        """Serialise concurrent intake per subject so that a year's aggregation is never raced.

        PostgreSQL: transaction-scoped advisory locks, taken in a fixed order (no deadlocks). Every
        writer holds the intake lock shared and its subjects' locks; a large import instead holds the
        intake lock exclusively, as thousands of subject locks could exhaust PostgreSQL's lock table
        (max_locks_per_transaction).
        SQLite: every transaction already began with BEGIN IMMEDIATE, which serialises writers.
        """
        if self.session.get_bind().dialect.name != "postgresql":
            return
        lock_ids = sorted({_lock_id(t, n) for t, n in keys})
        if not lock_ids:
            return
        if len(lock_ids) > SUBJECT_LOCK_LIMIT:
            self.session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), INTAKE_LOCK)
            return
        self.session.execute(text("SELECT pg_advisory_xact_lock_shared(:a, :b)"), INTAKE_LOCK)
        self.session.execute(text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:ids AS bigint[])) AS k"),
                             {"ids": lock_ids})


def _lock_id(subject_type: str, id_number: str) -> int:
    digest = hashlib.blake2b(f"{subject_type}:{id_number}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
