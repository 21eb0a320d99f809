"""The audit trail: every state change appends an event in the same transaction as the change.

Events form a hash chain: each stores its canonical JSON payload and sha256(previous hash + payload),
and sequence numbers are consecutive. Appends are serialised (PostgreSQL: a transaction-scoped
advisory lock taken just before commit; SQLite: one writer at a time), so the chain has no forks.
`verify` walks the chain: an edited payload, an edited column, a deleted or an inserted row breaks it.
"""
from __future__ import annotations

import hashlib
import json

import orjson
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Iterable

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from ..adapters.orm import AuditEventRow
from ..adapters.records import bulk_insert
from ..audit_context import current_actor
from ..clock import SHANGHAI

AUDIT_LOCK = {"a": 0x6372, "b": 2}
GENESIS = "0" * 64


@dataclass(frozen=True)
class Change:
    action: str  # e.g. "violation_recorded", "measure_revoked", "objection_decided"
    entity: str  # "violation" | "measure" | "notice" | "objection" | "repair" | "api_client"
    entity_id: str
    subject_type: str | None = None
    id_number: str | None = None
    region: str | None = None  # the pooling region the change concerns (staff read their own)
    before: dict | None = None
    after: dict | None = None


def _default(value: Any):
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def canonical(payload: dict) -> str:
    """Sorted keys, no spaces, UTF-8, dates ISO 8601, money with 2 places. Verification hashes the
    stored text itself, so only appending needs this to be deterministic."""
    return orjson.dumps(payload, default=_default, option=orjson.OPT_SORT_KEYS).decode()


def chain_hash(previous: str, payload_text: str) -> str:
    return hashlib.sha256((previous + payload_text).encode("utf-8")).hexdigest()


def stage(session: Session, changes: Iterable[Change], now: datetime) -> None:
    """Queue changes for the trail; the unit of work appends them just before it commits."""
    staged = session.info.setdefault("audit_staged", [])
    staged.extend((change, now) for change in changes)


def flush_staged(session: Session) -> int:
    staged = session.info.pop("audit_staged", [])
    if not staged:
        return 0
    return append(session, [c for c, _ in staged], staged[-1][1])


def append(session: Session, changes: Iterable[Change], now: datetime) -> int:
    """Append these changes to the trail (call last before commit: the chain lock is held until then)."""
    changes = list(changes)
    if not changes:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), AUDIT_LOCK)
    last = session.execute(select(AuditEventRow.seq, AuditEventRow.hash).order_by(AuditEventRow.seq.desc())
                           .limit(1)).first()
    seq, previous = (last.seq, last.hash) if last else (0, GENESIS)
    actor = current_actor()
    at = now.astimezone(SHANGHAI)
    rows = []
    for change in changes:
        seq += 1
        payload = {
            "seq": seq, "at": at, "actor": actor.name, "role": actor.role, "actor_region": actor.region,
            "request_id": actor.request_id, "action": change.action, "entity": change.entity,
            "entity_id": change.entity_id, "subject_type": change.subject_type, "id_number": change.id_number,
            "region": change.region, "before": change.before, "after": change.after,
        }
        payload_text = canonical(payload)
        digest = chain_hash(previous, payload_text)
        rows.append({"seq": seq, "at": at, "day": at.date(), "action": change.action, "entity": change.entity,
                     "entity_id": change.entity_id, "subject_type": change.subject_type,
                     "id_number": change.id_number, "region": change.region, "actor": actor.name,
                     "payload": payload_text, "prev_hash": previous, "hash": digest})
        previous = digest
    bulk_insert(session.connection(), AuditEventRow.__table__, rows)  # COPY on PostgreSQL for large batches
    return len(rows)


@dataclass(frozen=True)
class Broken:
    seq: int
    problem: str


# Columns kept beside the payload for queries; they must say what the payload says.
_MIRRORED = ("action", "entity", "entity_id", "subject_type", "id_number", "region", "actor")


def verify(session: Session, batch: int = 5000) -> tuple[int, list[Broken]]:
    """Walk the whole chain; returns (events checked, problems found)."""
    problems: list[Broken] = []
    expected_seq, previous, checked = 1, GENESIS, 0
    after = 0
    while True:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.seq > after)
                               .order_by(AuditEventRow.seq).limit(batch)).all()
        if not rows:
            break
        for row in rows:
            checked += 1
            if row.seq != expected_seq:
                problems.append(Broken(row.seq, f"序号不连续：应为{expected_seq}（记录被删除或插入）"))
            if row.prev_hash != previous:
                problems.append(Broken(row.seq, "前一条的哈希值不符（前一条被删除、插入或篡改）"))
            if chain_hash(row.prev_hash, row.payload) != row.hash:
                problems.append(Broken(row.seq, "内容与哈希值不符（记录被篡改）"))
            try:
                payload = json.loads(row.payload)
            except ValueError:
                payload = {}
            for column in _MIRRORED:
                if payload.get(column) != getattr(row, column):
                    problems.append(Broken(row.seq, f"字段 {column} 与记录内容不符（记录被篡改）"))
            if payload.get("seq") != row.seq:
                problems.append(Broken(row.seq, "序号与记录内容不符（记录被篡改）"))
            expected_seq, previous = row.seq + 1, row.hash
        after = rows[-1].seq
    return checked, problems
