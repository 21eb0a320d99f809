"""Staff mark an outstanding practitioner for a year (第八条第一项：优先推荐入医保专家库)."""
from __future__ import annotations

import uuid

from ..adapters.orm import ExpertRecommendationRow
from ..clock import Clock
from . import access
from .clients import Principal
from .errors import Conflict, Invalid
from .unit_of_work import UnitOfWork


def recommend_expert(uow: UnitOfWork, clock: Clock, principal: Principal, subject_type: str, id_number: str,
                     year: int, region: str, reason: str) -> dict:
    access.check_region(principal, access.EXPERT_MARK, region)
    actor = principal.name
    if subject_type not in ("physician", "pharmacist"):
        raise Invalid("优先推荐入医保专家库仅适用于医保医（药）师（第八条第一项）。",
                      errors={"subject_type": ["须为 physician 或 pharmacist。"]})
    today = clock.today()
    if not 2000 <= year <= today.year + 1:
        raise Invalid(f"推荐年度须在2000年至{today.year + 1}年之间。", errors={"year": ["年度超出范围。"]},
                      code="validation_failed" if year < 2000 else "year_in_future")
    with uow:
        key = uow.subjects.remember([(subject_type, id_number)])[(subject_type, id_number)]
        if uow.cases.recommendation(subject_type, key, year) is not None:
            raise Conflict(f"该医（药）师已被标记为{year}年度优先推荐入医保专家库。", code="already_recommended")
        row = ExpertRecommendationRow(id=uuid.uuid4().hex, subject_type=subject_type, id_number=key,
                                      year=year, region=region, reason=reason, marked_by=actor,
                                      marked_at=clock.now())
        uow.cases.add(row)
        uow.subjects_changed([(subject_type, key)], clock.now())
        uow.commit()
        return {"id": row.id, "subject_type": subject_type, "id_number": id_number, "year": year,
                "region": region, "reason": reason, "marked_by": actor}
