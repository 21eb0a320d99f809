"""Document numbers per region, kind and year, without gaps.

The counter row is incremented with UPDATE … RETURNING in the caller's transaction, which holds its
row lock (PostgreSQL) or the database's write lock (SQLite) until that transaction ends: a second
issuer waits, and an issue that rolls back takes its number back with it. A letter is issued once
per record (kind, entity): printing it again gives the same number and the same text.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from typing import Callable

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..adapters.orm import DocumentCounterRow, IssuedDocumentRow
from .config import DocumentSettings
from .model import KINDS, Letterhead, from_json, to_json


class DocumentNotConfigured(LookupError):
    """The region has no bureau or prefix in config/documents.toml: no number is made up."""


@dataclass(frozen=True)
class IssuedDocument:
    number: str
    model: object
    newly_issued: bool


def format_number(prefix: str, year: int, seq: int) -> str:
    return f"{prefix}〔{year}〕{seq:04d}号"


def next_seq(session: Session, region: str, kind: str, year: int) -> int:
    table = DocumentCounterRow.__table__
    where = (table.c.region == region, table.c.kind == kind, table.c.year == year)
    for _ in range(2):
        seq = session.execute(update(table).where(*where).values(last_number=table.c.last_number + 1)
                              .returning(table.c.last_number)).scalar()
        if seq is not None:
            return seq
        dialect = session.get_bind().dialect.name
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        created = session.execute(insert.values(region=region, kind=kind, year=year, last_number=1)
                                  .on_conflict_do_nothing().returning(table.c.last_number)).scalar()
        if created is not None:
            return created
    raise RuntimeError("document counter neither updated nor created")  # cannot happen: the row exists now


def issue(session: Session, settings: DocumentSettings, kind: str, region: str, entity_id: str, on: date,
          build: Callable[[Letterhead], object], issued_by: str, now: datetime) -> IssuedDocument:
    """The letter of this record: the one issued before, or a new one numbered now (in `session`'s
    transaction: the caller commits it together with whatever the letter records)."""
    if kind not in KINDS:
        raise ValueError(f"unknown document kind {kind}")
    existing = session.scalar(select(IssuedDocumentRow).where(IssuedDocumentRow.kind == kind,
                                                              IssuedDocumentRow.entity_id == entity_id))
    if existing is not None:
        return IssuedDocument(existing.number, from_json(existing.content), False)
    config = settings.regions.get(region)
    if config is None:
        raise DocumentNotConfigured(f"统筹区{region}未在 config/documents.toml 中配置出具机关和文号，不能出具{KINDS[kind]}。")
    seq = next_seq(session, region, kind, on.year)
    number = format_number(config.prefixes[kind], on.year, seq)
    model = build(Letterhead(bureau=config.bureau, number=number, issued_on=on))
    session.add(IssuedDocumentRow(id=uuid.uuid4().hex, kind=kind, entity_id=entity_id, region=region, year=on.year,
                                  seq=seq, number=number, content=to_json(model), issued_by=issued_by[:128],
                                  issued_at=now))
    session.flush()
    return IssuedDocument(number, model, True)


class Letters:
    """The unit of work's repository of issued letters (adapters/unit_of_work.py: `uow.letters`)."""

    def __init__(self, session: Session):
        self._session = session

    def issue(self, settings: DocumentSettings, kind: str, region: str, entity_id: str, on: date,
              build: Callable[[Letterhead], object], issued_by: str, now: datetime) -> IssuedDocument:
        return issue(self._session, settings, kind, region, entity_id, on, build, issued_by, now)
