"""Repository of the joint-punishment list (失信联合惩戒对象名单): listing measures with the names and
dates the public credit platform needs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from ..domain.decisions import JOINT_PUNISHMENT_LISTING
from . import subjects
from .pii import KeyRing
from .orm import MeasureEventRow, MeasureRow, ViolationRow


@dataclass(frozen=True)
class Listing:
    measure_id: str
    subject_type: str
    lookup_key: str  # adapters/pii.py
    name: str | None
    region: str
    listed_on: date
    article: str
    rule_set: str
    recorded_at: datetime
    revoked_on: date | None
    revoked_by: str | None


class Listings:
    def __init__(self, session: Session, keys: KeyRing):
        self._session, self._keys = session, keys

    def _query(self, region: str | None):
        m, v = MeasureRow.__table__.c, ViolationRow.__table__.c
        query = (select(m.id, m.subject_type, m.lookup_key, v.name, m.region, m.starts_on, m.article, m.rule_set,
                        m.created_at, m.revoked_on, m.revoked_by)
                 .select_from(MeasureRow.__table__.join(ViolationRow.__table__, v.id == m.violation_id))
                 .where(m.kind == JOINT_PUNISHMENT_LISTING))
        if region is not None:
            query = query.where(m.region == region)
        return query.order_by(m.starts_on, m.created_at, m.id)

    def current(self, region: str | None, on: date) -> list[Listing]:
        m = MeasureRow.__table__.c
        return self._run(self._query(region).where(m.revoked_on.is_(None), m.starts_on <= on))

    def added_since(self, region: str | None, since: date, since_at: datetime) -> list[Listing]:
        """Listings in force from `since` on, or recorded since then (a late entry is not missed)."""
        m = MeasureRow.__table__.c
        return self._run(self._query(region).where(or_(m.starts_on >= since, m.created_at >= since_at)))

    def removed_since(self, region: str | None, since: date, since_at: datetime) -> list[Listing]:
        """Listings revoked (an objection upheld, 第十条) on or after `since`, or whose revocation was
        recorded since then."""
        m, e = MeasureRow.__table__.c, MeasureEventRow.__table__.c
        recorded = select(e.measure_id).where(e.event == "revoked", e.recorded_at >= since_at)
        return self._run(self._query(region).where(
            m.revoked_on.is_not(None), or_(m.revoked_on >= since, m.id.in_(recorded))))

    def numbers(self, keys) -> dict[str, str]:
        """Lookup key → identity number (opened from `subjects`)."""
        return subjects.reveal(self._session, self._keys, keys)

    def _run(self, query) -> list[Listing]:
        return [Listing(*row) for row in self._session.execute(query)]
