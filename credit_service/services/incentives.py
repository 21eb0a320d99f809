"""Staff mark an outstanding practitioner for a year (第八条第一项：优先推荐入医保专家库), list the marks,
and withdraw one. A withdrawn mark is kept with its withdrawal and no longer gives the incentive."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from ..adapters.orm import ExpertRecommendationRow
from ..clock import Clock
from . import access
from .audit import Change
from .clients import Principal
from .errors import Conflict, Invalid, NotFound
from .unit_of_work import UnitOfWork

_PRACTITIONERS = ("physician", "pharmacist")
_ENTITY = "expert_recommendation"


@dataclass(frozen=True)
class Recommendation:
    """A mark as the doors show it (`id_number`: the practitioner's number, opened)."""

    id: str
    subject_type: str
    id_number: str
    year: int
    region: str
    reason: str
    marked_by: str
    marked_at: datetime
    withdrawn_on: date | None = None
    withdrawn_by: str | None = None
    withdrawal_reason: str | None = None

    @property
    def state(self) -> str:
        return "withdrawn" if self.withdrawn_on is not None else "active"

    def as_dict(self) -> dict:
        return {"id": self.id, "subject_type": self.subject_type, "id_number": self.id_number, "year": self.year,
                "region": self.region, "reason": self.reason, "marked_by": self.marked_by,
                "marked_at": self.marked_at.isoformat(), "state": self.state,
                "withdrawn_on": self.withdrawn_on.isoformat() if self.withdrawn_on else None,
                "withdrawn_by": self.withdrawn_by, "withdrawal_reason": self.withdrawal_reason}


def _shown(row: ExpertRecommendationRow, number: str) -> Recommendation:
    return Recommendation(row.id, row.subject_type, number, row.year, row.region, row.reason, row.marked_by,
                          row.marked_at, row.withdrawn_on, row.withdrawn_by, row.withdrawal_reason)


def _check_practitioner(subject_type: str) -> None:
    if subject_type not in _PRACTITIONERS:
        raise Invalid("优先推荐入医保专家库仅适用于医保医（药）师（第八条第一项）。",
                      errors={"subject_type": ["须为 physician 或 pharmacist。"]})


def _change(row: ExpertRecommendationRow, action: str, before: dict | None, after: dict) -> Change:
    return Change(action=action, entity=_ENTITY, entity_id=row.id, subject_type=row.subject_type,
                  lookup_key=row.lookup_key, region=row.region, before=before, after={"year": row.year, **after})


def recommend_expert(uow: UnitOfWork, clock: Clock, principal: Principal, subject_type: str, id_number: str,
                     year: int, region: str, reason: str) -> dict:
    """Mark the practitioner for `year`; a mark withdrawn earlier is marked again (same id)."""
    access.check_region(principal, access.EXPERT_MARK, region)
    actor = principal.name
    _check_practitioner(subject_type)
    today = clock.today()
    if not 2000 <= year <= today.year + 1:
        raise Invalid(f"推荐年度须在2000年至{today.year + 1}年之间。", errors={"year": ["年度超出范围。"]},
                      code="validation_failed" if year < 2000 else "year_in_future")
    now = clock.now()
    with uow:
        key = uow.subjects.remember([(subject_type, id_number)])[(subject_type, id_number)]
        row = uow.cases.recommendation(subject_type, key, year)
        if row is not None and row.withdrawn_on is None:
            raise Conflict(f"该医（药）师已被标记为{year}年度优先推荐入医保专家库。", code="already_recommended")
        if row is not None:  # withdrawn before: marked again (one mark per practitioner and year)
            before = {"withdrawn_on": row.withdrawn_on, "reason": row.reason, "region": row.region}
            row.region, row.reason, row.marked_by, row.marked_at = region, reason, actor, now
            row.withdrawn_on = row.withdrawn_by = row.withdrawal_reason = None
        else:
            before = None
            row = ExpertRecommendationRow(id=uuid.uuid4().hex, subject_type=subject_type, lookup_key=key,
                                          year=year, region=region, reason=reason, marked_by=actor, marked_at=now)
            uow.cases.add(row)
        uow.audit.stage([_change(row, "expert_recommended", before, {"reason": reason, "marked_by": actor})], now,
                        principal.actor)
        uow.subjects_changed([(subject_type, key)], now)
        uow.commit()
        return {"id": row.id, "subject_type": subject_type, "id_number": id_number, "year": year,
                "region": region, "reason": reason, "marked_by": actor}


def expert_recommendations(uow: UnitOfWork, principal: Principal, subject_type: str,
                           id_number: str) -> list[Recommendation]:
    """The practitioner's marks, withdrawn ones included, newest year first. Staff see their region's."""
    region = access.region_for(principal, access.EXPERT_READ, None)
    _check_practitioner(subject_type)
    with uow:
        key = uow.keys.lookup_key(subject_type, id_number)
        rows = [r for r in uow.cases.recommendations_of(subject_type, key) if region is None or r.region == region]
        return [_shown(r, id_number) for r in sorted(rows, key=lambda r: -r.year)]


def withdraw_expert_recommendation(uow: UnitOfWork, clock: Clock, principal: Principal, recommendation_id: str,
                                   reason: str) -> Recommendation:
    """Take a mark back from today: the practitioner no longer has the incentive for that year.
    Staff of the region that marked it, or admin."""
    now, today = clock.now(), clock.today()
    with uow:
        row = uow.cases.recommendation_by_id(recommendation_id, for_update=True)
        if row is None:
            raise NotFound(f"未找到编号为{recommendation_id}的专家库推荐标记。", code="recommendation_not_found")
        access.check_region(principal, access.EXPERT_MARK, row.region)
        if row.withdrawn_on is not None:
            raise Conflict(f"该推荐标记已于{row.withdrawn_on}撤回。", code="recommendation_withdrawn")
        row.withdrawn_on, row.withdrawn_by, row.withdrawal_reason = today, principal.name, reason
        uow.audit.stage([_change(row, "expert_recommendation_withdrawn", {"withdrawn_on": None},
                                 {"withdrawn_on": today, "reason": reason, "withdrawn_by": principal.name})], now,
                        principal.actor)
        uow.subjects_changed([(row.subject_type, row.lookup_key)], now)
        shown = _shown(row, uow.subjects.reveal_one(row.lookup_key))
        uow.commit()
        return shown
