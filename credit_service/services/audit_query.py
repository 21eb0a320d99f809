"""Reading the audit trail (GET /api/v1/audit): admin all of it, staff their own region's."""
from __future__ import annotations

import json
from datetime import date

from ..domain.identity import SUBJECT_TYPES
from . import access
from .clients import Principal
from .unit_of_work import UnitOfWork

PAGE = 1000
MAX_SEQ = 2**63 - 1


def audit_events(uow: UnitOfWork, principal: Principal, *, region: str | None = None, subject_type: str | None = None,
                 id_number: str | None = None, since: date | None = None, until: date | None = None,
                 after: int = 0) -> dict:
    """One page of events after seq `after`; `next_after` names the next page (None: the last)."""
    region = access.region_for(principal, access.AUDIT_READ, region)
    keys = None
    if id_number is not None:
        # The trail is never rewritten: events written before a key rotation carry the lookup key of an
        # older HMAC key, so match the key under every configured one (adapters/pii.py); without a
        # subject_type, under every type.
        keys = [k for t in ([subject_type] if subject_type else SUBJECT_TYPES)
                for k in uow.keys.lookup_keys(t, id_number)]
    uow = uow.reading()
    with uow:
        rows = uow.audit.events(region=region, subject_type=subject_type, keys=keys, since=since, until=until,
                                after=after, limit=PAGE + 1)
        # Events name the subject's lookup key; staff and admin see the number (from `subjects`).
        numbers = uow.subjects.reveal(row.lookup_key for row in rows[:PAGE])
    events = []
    for row in rows[:PAGE]:
        event = json.loads(row.payload)
        if event.get("id_number") is not None:
            event["id_number"] = numbers.get(event["id_number"], event["id_number"])
        event.update(prev_hash=row.prev_hash, hash=row.hash)
        events.append(event)
    return {"events": events, "next_after": rows[PAGE - 1].seq if len(rows) > PAGE else None}
