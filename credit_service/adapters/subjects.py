"""The `subjects` table: lookup key → sealed identity number (adapters/pii.py does the cryptography)."""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .orm import SubjectRow
from .pii import KeyRing
from .records import _chunk_size, _chunks, _member_of, index_probes

Subject = tuple[str, str]  # (subject_type, id_number)


def remember(session: Session | Connection, keyring: KeyRing, subjects: Iterable[Subject]) -> dict[Subject, str]:
    """The lookup key of each subject; subjects not yet known are stored sealed (in the caller's
    transaction). Concurrent writers of the same new subject: the first row wins, the rest are no-ops."""
    keys = {(t, n): keyring.lookup_key(t, n) for t, n in set(subjects)}
    if not keys:
        return keys
    connection = session.connection() if isinstance(session, Session) else session
    dialect = connection.dialect.name
    known: set[str] = set()
    wanted = sorted(keys.values())
    table = SubjectRow.__table__
    index_probes(session, len(wanted))
    for chunk in _chunks(wanted, _chunk_size(dialect)):
        known.update(connection.execute(select(table.c.lookup_key).where(
            _member_of(dialect, table.c.lookup_key, chunk))).scalars())
    rows = [{"lookup_key": key, "subject_type": t, "id_sealed": keyring.seal(t, n), "retired_at": None}
            for (t, n), key in keys.items() if key not in known]
    if rows and dialect == "postgresql":
        # One statement for the whole import: the rows as three array parameters (an executemany would
        # send one INSERT per subject).
        connection.execute(_INSERT_UNNEST, {"keys": [r["lookup_key"] for r in rows],
                                            "types": [r["subject_type"] for r in rows],
                                            "sealed": [r["id_sealed"] for r in rows]})
    elif rows:
        insert = sqlite.insert(table).on_conflict_do_nothing(index_elements=["lookup_key"])
        for chunk in _chunks(rows, 200):
            connection.execute(insert, chunk)
    return keys


_INSERT_UNNEST = text(
    "INSERT INTO subjects (lookup_key, subject_type, id_sealed) "
    "SELECT * FROM unnest(CAST(:keys AS varchar[]), CAST(:types AS varchar[]), CAST(:sealed AS varchar[])) "
    "ON CONFLICT (lookup_key) DO NOTHING")


def reveal(session: Session | Connection, keyring: KeyRing, keys: Iterable[str | None]) -> dict[str, str]:
    """Lookup key → identity number, for the keys known (staff answers, masking, webhooks)."""
    wanted = sorted({k for k in keys if k})
    if not wanted:
        return {}
    connection = session.connection() if isinstance(session, Session) else session
    dialect = connection.dialect.name
    c = SubjectRow.__table__.c
    found: dict[str, str] = {}
    for chunk in _chunks(wanted, _chunk_size(dialect)):
        for key, subject_type, sealed in connection.execute(
                select(c.lookup_key, c.subject_type, c.id_sealed).where(_member_of(dialect, c.lookup_key, chunk))):
            found[key] = keyring.open(subject_type, sealed)
    return found


def reveal_one(session: Session | Connection, keyring: KeyRing, key: str) -> str:
    number = reveal(session, keyring, [key]).get(key)
    if number is None:  # every stored key has its subjects row (written in the same transaction)
        raise LookupError("lookup key without a subjects row")
    return number


def identify(session: Session, keyring: KeyRing, key: str) -> tuple[str, str] | None:
    """(subject_type, identity number) of a current (not retired) lookup key, or None."""
    c = SubjectRow.__table__.c
    row = session.connection().execute(select(c.subject_type, c.id_sealed).where(
        c.lookup_key == key, c.retired_at.is_(None))).first()
    return None if row is None else (row.subject_type, keyring.open(row.subject_type, row.id_sealed))
