"""The audit trail: every state change appends an event in the same transaction as the change.

Events form a hash chain: each stores its canonical JSON payload and sha256(previous hash + payload),
and sequence numbers are consecutive. Appends are serialised (PostgreSQL: a transaction-scoped
advisory lock taken just before commit; SQLite: one writer at a time), so the chain has no forks.
`verify` walks the chain: an edited payload, an edited column, a deleted or an inserted row breaks it.

The chain is anchored outside the database (issue 9, finding 12; docs/audit.md): every event carries a
MAC of its seq and hash under a key the database does not hold (adapters/audit_keys.py), so an edit
with every later hash recomputed still fails; and `anchor` appends the signed head to a file that
`verify` checks, so deleting the newest events fails too (back to the last anchor).
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

from . import audit_keys
from .audit_keys import AuditKeys
from .orm import AuditEventRow
from .records import bulk_insert
from ..clock import SHANGHAI

AUDIT_LOCK = {"a": 0x6372, "b": 2}
GENESIS = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who made a change, as the trail records it: given by the use case that stages the change (from
    its Principal, or the job or command that runs it), never read from ambient state."""

    name: str
    role: str
    region: str | None = None
    request_id: str | None = None


SYSTEM = Actor("system", "system")  # the service itself (a command-line set-up step, a sign-in)


@dataclass(frozen=True)
class Change:
    action: str  # e.g. "violation_recorded", "measure_revoked", "objection_decided"
    entity: str  # "violation" | "measure" | "notice" | "objection" | "repair" | "api_client"
    entity_id: str
    subject_type: str | None = None
    lookup_key: str | None = None  # the subject's lookup key (the payload's field `id_number`)
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


def stage(session: Session, changes: Iterable[Change], now: datetime, actor: Actor) -> None:
    """Queue changes, made by `actor`, for the trail; the unit of work appends them just before it commits."""
    staged = session.info.setdefault("audit_staged", [])
    staged.extend((change, now, actor) for change in changes)


def flush_staged(session: Session) -> int:
    staged = session.info.pop("audit_staged", [])
    if not staged:
        return 0
    return append(session, [(c, a) for c, _, a in staged], staged[-1][1])


def append(session: Session, changes: Iterable[tuple[Change, Actor]], now: datetime) -> int:
    """Append these changes, each with its actor, to the trail (call last before commit: the chain lock
    is held until then)."""
    changes = list(changes)
    if not changes:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:a, :b)"), AUDIT_LOCK)
    last = session.execute(select(AuditEventRow.seq, AuditEventRow.hash).order_by(AuditEventRow.seq.desc())
                           .limit(1)).first()
    seq, previous = (last.seq, last.hash) if last else (0, GENESIS)
    at = now.astimezone(SHANGHAI)
    macs = audit_keys.current()
    rows = []
    for change, actor in changes:
        seq += 1
        payload = {
            "seq": seq, "at": at, "actor": actor.name, "role": actor.role, "actor_region": actor.region,
            "request_id": actor.request_id, "action": change.action, "entity": change.entity,
            "entity_id": change.entity_id, "subject_type": change.subject_type, "id_number": change.lookup_key,
            "region": change.region, "before": change.before, "after": change.after,
        }
        payload_text = canonical(payload)
        digest = chain_hash(previous, payload_text)
        rows.append({"seq": seq, "at": at, "day": at.date(), "action": change.action, "entity": change.entity,
                     "entity_id": change.entity_id, "subject_type": change.subject_type,
                     "lookup_key": change.lookup_key, "region": change.region, "actor": actor.name,
                     "payload": payload_text, "prev_hash": previous, "hash": digest,
                     "mac": macs.event_mac(seq, digest)})
        previous = digest
    bulk_insert(session.connection(), AuditEventRow.__table__, rows)  # COPY on PostgreSQL for large batches
    return len(rows)


@dataclass(frozen=True)
class Broken:
    seq: int
    problem: str


@dataclass(frozen=True)
class Anchor:
    """One line of the anchor file, as read (record None: not a JSON object)."""
    line: int
    record: dict | None


# Columns kept beside the payload for queries; they must say what the payload says: (payload field, column).
# The payload's field `id_number` holds the lookup key, mirrored in the column `lookup_key` (named so by
# migration 0019; the hashed payloads were never rewritten, so old and new events carry the same field).
_MIRRORED = (("action", "action"), ("entity", "entity"), ("entity_id", "entity_id"),
             ("subject_type", "subject_type"), ("id_number", "lookup_key"), ("region", "region"), ("actor", "actor"))


def verify(session: Session, batch: int = 5000, keys: AuditKeys | None = None,
           anchors: Iterable[Anchor] = (), progress=None) -> tuple[int, list[Broken]]:
    """Walk the whole chain; returns (events checked, problems found). Every event's MAC must fit
    (`keys`: the configured audit keys), and the chain must hold every anchored head. `progress(n)`:
    called after each batch with the events checked so far."""
    keys = keys or audit_keys.current()
    problems: list[Broken] = []
    anchored = _anchored_heads(keys, list(anchors), problems)
    expected_seq, previous, checked = 1, GENESIS, 0
    mac_failures: dict[str, list[int]] = {}  # "mismatch:a1" / "unknown:a0" / "missing" → seqs
    macs_by_key: dict[str, int] = {}
    after = 0
    while True:
        rows = session.scalars(select(AuditEventRow).where(AuditEventRow.seq > after)
                               .order_by(AuditEventRow.seq).limit(batch)).all()
        if not rows:
            break
        if progress and checked:
            progress(checked)
        for row in rows:
            checked += 1
            if row.seq != expected_seq:
                problems.append(Broken(row.seq, f"序号不连续：应为{expected_seq}（记录被删除或插入）"))
            if row.prev_hash != previous:
                problems.append(Broken(row.seq, "前一条的哈希值不符（前一条被删除、插入或篡改）"))
            if chain_hash(row.prev_hash, row.payload) != row.hash:
                problems.append(Broken(row.seq, "内容与哈希值不符（记录被篡改）"))
            if (failure := keys.check_event(row.seq, row.hash, row.mac)) is not None:
                mac_failures.setdefault(failure, []).append(row.seq)
            if row.mac and ":" in row.mac:
                key_id = row.mac.split(":", 1)[0]
                macs_by_key[key_id] = macs_by_key.get(key_id, 0) + 1
            try:
                payload = json.loads(row.payload)
            except ValueError:
                payload = {}
            for field, column in _MIRRORED:
                if payload.get(field) != getattr(row, column):
                    problems.append(Broken(row.seq, f"字段 {column} 与记录内容不符（记录被篡改）"))
            if payload.get("seq") != row.seq:
                problems.append(Broken(row.seq, "序号与记录内容不符（记录被篡改）"))
            for line, anchored_hash in anchored.pop(row.seq, []):
                if anchored_hash != row.hash:
                    problems.append(Broken(row.seq, f"与锚点第{line}行记下的哈希值不符（此后的记录被改写）"))
            expected_seq, previous = row.seq + 1, row.hash
        after = rows[-1].seq
    for seq, lines in sorted(anchored.items()):
        problems.append(Broken(seq, f"锚点第{lines[0][0]}行锚定的第{seq}条事件不存在（最新的记录被删除）"))
    problems.extend(_mac_problems(mac_failures, macs_by_key))
    return checked, sorted(problems, key=lambda p: p.seq)


def _mac_problems(failures: dict[str, list[int]], macs_by_key: dict[str, int]) -> list[Broken]:
    """One line per event whose MAC fails — but one sentence when every event under a key fails, which
    is a wrong or missing key rather than a million edits."""
    problems = []
    for failure, seqs in failures.items():
        kind, _, key_id = failure.partition(":")
        if kind == "unknown":
            problems.append(Broken(seqs[0], f"MAC密钥 {key_id} 未配置（not configured; "
                                            f"CREDIT_SERVICE_AUDIT_MAC_KEYS）：{len(seqs)} 条事件无法核验"))
        elif kind == "mismatch" and len(seqs) == macs_by_key.get(key_id) and len(seqs) > 1:
            problems.append(Broken(seqs[0], f"全部 {len(seqs)} 条以密钥 {key_id} 签名的事件MAC都不符："
                                            f"CREDIT_SERVICE_AUDIT_MAC_KEYS 中的 {key_id} 不是写入时的密钥"
                                            "（或整条记录链被改写）"))
        elif kind == "mismatch":
            problems.extend(Broken(seq, "MAC不符（记录被改写后重算了哈希值）") for seq in seqs)
        else:
            problems.extend(Broken(seq, "缺少MAC（记录被插入或改写）") for seq in seqs)
    return problems


def _anchored_heads(keys: AuditKeys, anchors: list[Anchor], problems: list[Broken]) -> dict[int, list]:
    """seq → [(line, hash)] of every anchor line whose signature fits; the others become problems."""
    heads: dict[int, list] = {}
    for anchor in anchors:
        record = anchor.record or {}
        seq, digest, mac, at = record.get("seq"), record.get("hash"), record.get("mac"), record.get("at")
        if not (isinstance(seq, int) and not isinstance(seq, bool) and seq > 0 and isinstance(digest, str)
                and isinstance(mac, str) and isinstance(at, str)):
            problems.append(Broken(0, f"锚点第{anchor.line}行格式无效"))
            continue
        failure = keys.check_anchor(seq, digest, mac, at, record.get("signature"))
        if failure is not None:
            kind, _, key_id = failure.partition(":")
            why = f"密钥 {key_id} 未配置（CREDIT_SERVICE_AUDIT_MAC_KEYS）" if kind == "unknown" else "签名不符（锚点被伪造或改动）"
            problems.append(Broken(seq, f"锚点第{anchor.line}行{why}"))
            continue
        heads.setdefault(seq, []).append((anchor.line, digest))
    return heads


def read_anchors(path) -> list[Anchor]:
    return [Anchor(line, record) for line, record in audit_keys.read_anchors(path)]


def anchor(session: Session, path, now: datetime, keys: AuditKeys | None = None) -> dict | None:
    """Append the signed head of the chain to the anchor file; None when there is nothing new to
    anchor. Only a head whose events since the last anchor verify is signed (raises AnchorRefused)."""
    keys = keys or audit_keys.current()
    head = session.execute(select(AuditEventRow.seq, AuditEventRow.hash, AuditEventRow.mac)
                           .order_by(AuditEventRow.seq.desc()).limit(1)).first()
    if head is None:
        return None
    since = (0, GENESIS)
    anchors = read_anchors(path)
    if anchors:  # go on from the last anchor, which must be genuine and still in the chain
        problems: list[Broken] = []
        [(seq, [(_, digest)])] = _anchored_heads(keys, anchors[-1:], problems).items() or [(0, [(0, None)])]
        stored = session.scalar(select(AuditEventRow.hash).where(AuditEventRow.seq == seq)) if seq else None
        if problems or stored is None or stored != digest:
            raise AnchorRefused(f"锚点文件最后一行（第{anchors[-1].line}行）无效或已不在记录链中，不予锚定："
                                "先运行 credit-service audit verify")
        if seq == head.seq:
            return None
        since = (seq, digest)
    if (problem := _check_since(session, keys, *since)) is not None:
        raise AnchorRefused(problem)
    at = now.astimezone(SHANGHAI).isoformat()
    record = {"seq": head.seq, "hash": head.hash, "mac": head.mac, "at": at,
              "signature": keys.sign_anchor(head.seq, head.hash, head.mac, at)}
    audit_keys.append_anchor(path, record)
    return record


class AnchorRefused(RuntimeError):
    pass


def _check_since(session: Session, keys: AuditKeys, seq: int, digest: str, batch: int = 5000) -> str | None:
    """Links and MACs of the events after (seq, digest): what the next anchor will vouch for."""
    previous, expected = digest, seq + 1
    while True:
        rows = session.execute(select(AuditEventRow.seq, AuditEventRow.prev_hash, AuditEventRow.hash,
                                      AuditEventRow.payload, AuditEventRow.mac)
                               .where(AuditEventRow.seq >= expected).order_by(AuditEventRow.seq).limit(batch)).all()
        if not rows:
            return None
        for row in rows:
            if (row.seq != expected or row.prev_hash != previous or chain_hash(row.prev_hash, row.payload) != row.hash
                    or keys.check_event(row.seq, row.hash, row.mac) is not None):
                return f"第{row.seq}条事件未通过核验，不予锚定：先运行 credit-service audit verify"
            previous, expected = row.hash, row.seq + 1


def events(session: Session, *, region: str | None, subject_type: str | None, keys: list[str] | None, since, until,
           after: int, limit: int) -> list[AuditEventRow]:
    query = select(AuditEventRow).order_by(AuditEventRow.seq)
    if region:
        query = query.where(AuditEventRow.region == region)
    if subject_type is not None:
        query = query.where(AuditEventRow.subject_type == subject_type)
    if keys is not None:
        query = query.where(AuditEventRow.lookup_key.in_(keys))
    if since is not None:
        query = query.where(AuditEventRow.day >= since)
    if until is not None:
        query = query.where(AuditEventRow.day <= until)
    return list(session.scalars(query.where(AuditEventRow.seq > after).limit(limit)))
