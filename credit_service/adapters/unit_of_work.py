"""The SQL unit of work: one session per use case, its repositories, locks, and the commit that
appends the audit trail last and then publishes (services/unit_of_work.py)."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Iterable

from sqlalchemy import insert, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..domain.identity import SubjectKey
from ..services.unit_of_work import DuplicateRow, Publisher, UnitOfWork
from .accounts import ApiClients, StaffAccounts
from .case_files import CaseFiles
from .sweep_store import Sweeps
from .webhook_store import Webhooks
from .orm import SubjectChangeRow
from .pii import KeyRing

SUBJECT_LOCK_LIMIT = 500
INTAKE_LOCK = {"a": 0x6372, "b": 1}  # the two-int advisory key space: apart from the subjects' bigint keys


class ChangeFeed:
    """The subject_changes feed (the outbox): every process's status index and the webhooks read it."""

    def __init__(self, session: Session):
        self._session = session

    def append(self, keys: Iterable[SubjectKey], now: datetime, origin: str | None = None) -> None:
        """`origin` None: every process, this one included, reloads these subjects from the database."""
        rows = [{"subject_type": t, "lookup_key": n, "changed_at": now, "origin": origin} for t, n in sorted(set(keys))]
        if rows:
            self._session.execute(insert(SubjectChangeRow), rows)

    def latest_seq(self) -> int:
        from .records import latest_change_seq
        return latest_change_seq(self._session.connection())


class SubjectRecords:
    """A subject's record: its violations and measures as intake reads and writes them in bulk, and
    the `subjects` table (lookup key → sealed number)."""

    def __init__(self, session: Session, keys: KeyRing):
        self._session, self._keys = session, keys

    def by_refs(self, refs):
        from .records import find_by_refs
        return find_by_refs(self._session, refs)

    def measures_of_violations(self, violation_ids):
        from .records import measures_of_violations
        return measures_of_violations(self._session, violation_ids)

    def ledgers(self, keys):
        from .records import load_ledgers
        return load_ledgers(self._session, keys)

    def insert(self, violations: list[dict], measures: list[dict], changed, changed_at, origin: str | None) -> None:
        """The new violations and measures, and their change-feed entries (one per subject)."""
        from .records import insert_rows
        try:
            insert_rows(self._session, violations, measures, changed, changed_at, origin)
        except IntegrityError as exc:
            raise DuplicateRow(str(exc.orig)) from exc

    def remember(self, subjects) -> dict:
        """The lookup key of each (subject_type, number); new subjects are stored sealed."""
        from .subjects import remember
        return remember(self._session, self._keys, subjects)

    def reveal(self, keys) -> dict[str, str]:
        from .subjects import reveal
        return reveal(self._session, self._keys, keys)

    def reveal_one(self, key: str) -> str:
        from .subjects import reveal_one
        return reveal_one(self._session, self._keys, key)

    def identify(self, key: str) -> tuple[str, str] | None:
        """The subject (type, identity number) of a current lookup key, or None (unknown or retired key)."""
        from .subjects import identify
        return identify(self._session, self._keys, key)


class AuditTrail:
    """Changes staged in this transaction; appended to the hash chain just before it commits."""

    def __init__(self, session: Session):
        self._session = session

    def stage(self, changes, now: datetime, actor) -> None:
        """`actor`: who made these changes (audit_trail.Actor; a Principal's `.actor`)."""
        from .audit_trail import stage
        stage(self._session, changes, now, actor)

    def events(self, *, region: str | None, subject_type: str | None, keys: list[str] | None, since, until,
               after: int, limit: int):
        """The stored events after seq `after`, filtered, in order (at most `limit`)."""
        from .audit_trail import events
        return events(self._session, region=region, subject_type=subject_type, keys=keys, since=since, until=until,
                      after=after, limit=limit)


class SqlUnitOfWork(UnitOfWork):
    def __init__(self, session_factory: sessionmaker, keys: KeyRing, publisher: Publisher | None = None,
                 reads=None, read_only: bool = False):
        self._session_factory = session_factory
        self._keys = keys
        self.publisher = publisher
        self.session: Session | None = None
        # read_replica.ReadRouter when a replica is configured: a read-only unit of work asks it which
        # database to read; every commit tells it the primary's position (reads that must see it).
        self._reads, self._read_only = reads, read_only
        self.read_from = "primary"

    def reading(self) -> "SqlUnitOfWork":
        """Read-only: from the replica when the router allows (read_replica.py), else the primary."""
        return SqlUnitOfWork(self._session_factory, self._keys, reads=self._reads, read_only=True)

    @property
    def origin(self) -> str | None:
        """This process, if its status index is loaded (and so takes what is merged after commit)."""
        if self.publisher is None or not getattr(self.publisher, "loaded", False):
            return None
        from .status_index import process_origin
        return process_origin()

    @property
    def keys(self) -> KeyRing:
        return self._keys

    def _begin(self) -> None:
        factory = self._session_factory
        if self._read_only and self._reads is not None:
            engine, _ = self._reads.choose()
            self.read_from = "replica" if engine is self._reads.replica else "primary"
            factory = self._reads.session_factory_of(engine)
        self.session = factory()
        self.feed = ChangeFeed(self.session)
        self.subjects = SubjectRecords(self.session, self.keys)
        self.cases = CaseFiles(self.session)
        self.audit = AuditTrail(self.session)
        self.clients = ApiClients(self.session)
        self.staff = StaffAccounts(self.session)
        self.webhooks = Webhooks(self.session)
        self.sweeps = Sweeps(self.session)

    def _rollback(self) -> None:
        # What the use case read stays readable after it returns (rolling back would expire it).
        self.session.expunge_all()
        self.session.rollback()

    def _close(self) -> None:
        self.session.info.pop("audit_staged", None)
        self.session.close()

    def _commit(self) -> None:
        from .audit_trail import flush_staged  # the trail is written in the same transaction as what it records
        if self._read_only:
            raise RuntimeError("a read-only unit of work (reading()) does not commit")
        try:
            flush_staged(self.session)
            self.session.commit()
        except IntegrityError as exc:
            raise DuplicateRow(str(exc.orig)) from exc
        if self._reads is not None:  # this node's reads see this write (read_replica.py)
            self._reads.note_write()

    # Repositories of the read models added with issue 14.
    @property
    def report_facts(self):
        from .report_store import ReportFacts
        return ReportFacts(self.session)

    @property
    def frozen_reports(self):
        from .report_store import FrozenReports
        return FrozenReports(self.session)

    # Repositories of the maintenance use cases (issue 10: no service holds SQL).
    @property
    def key_rotation(self):
        from .key_store import KeyRotation
        return KeyRotation(self.session)

    @property
    def retention(self):
        from .retention_store import Retention
        return Retention(self.session)

    @property
    def letters(self):
        """The letters issued (numbered without gaps in this transaction): documents/numbering.py."""
        from ..documents.numbering import Letters
        return Letters(self.session)

    @property
    def listings(self):
        from .listings import Listings
        return Listings(self.session, self.keys)

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


def _lock_id(subject_type: str, lookup_key: str) -> int:
    digest = hashlib.blake2b(f"{subject_type}:{lookup_key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
