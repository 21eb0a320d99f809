"""POST /api/v1/claims/check: may this claim be settled? (济南 2023 第十七条; 医保发〔2024〕23号)"""
from __future__ import annotations

from datetime import date
from typing import Callable

import orjson
from flask import Response, current_app, g

from schemas.claims import ClaimResultSchema, ClaimSchema
from schemas.problems import PROBLEM, ProblemSchema

from ..domain.claims import ClaimCheck, Party, check_claim
from ..domain.identity import mask_id_number
from ..domain.rules import RuleBook
from ..domain.status import SubjectFacts, status_on
from ..services.errors import date_out_of_range
from .auth import require, sees_full_id
from .serializers import _iso, status_json
from .request_body import Blueprint

blp = Blueprint("claims", __name__, url_prefix="/api/v1", description="结算前核验：参保人及开方、调剂的医（药）师")


@blp.route("/claims/check", methods=["POST"])
@require("settlement", "staff", "admin")
@blp.arguments(ClaimSchema)
@blp.response(200, ClaimResultSchema)
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description="invalid_id_number / validation_failed")
def check(data):
    """该笔费用能否医保结算？列出每一项原因；急救、抢救不受医（药）师暂停、终止的限制。"""
    c = current_app.extensions["credit_service"]
    day = data["on"] or c.clock.today()
    if problem := c.dates.query_problem(day, c.clock.today()):
        raise date_out_of_range({"on": [problem]})
    body = claim_json(data, day, c.index.lookup(), sees_full_id(g.principal), c.rules)
    return Response(orjson.dumps(body), mimetype="application/json")


def claim_json(data: dict, day: date, facts_of: Callable[[tuple[str, str]], SubjectFacts], full_id: bool,
               rules: RuleBook | None = None) -> dict:
    """A loaded ClaimSchema body → the answer (also used for the claims of a batch)."""
    emergency = data["emergency"]

    def party(subject: dict) -> Party:
        key = (subject["subject_type"], subject["id_number"])
        shown = key[1] if full_id else mask_id_number(key[1])
        return Party(key[0], shown, status_on(key[0], facts_of(key), day, emergency=emergency, rules=rules))

    insured = party(data["insured"])
    practitioners = [party(p) for p in data["practitioners"]]
    result: ClaimCheck = check_claim(insured, practitioners, emergency)
    return {
        "on": day.isoformat(), "emergency": emergency, "settleable": result.settleable,
        "reasons": [{"code": r.code, "subject_type": r.party.subject_type, "id_number": r.party.shown_id,
                     "measure_id": r.measure.measure_id, "kind": r.measure.kind, "region": r.measure.region,
                     "starts_on": r.measure.starts_on.isoformat(), "restores_on": _iso(r.measure.restores_on),
                     "blocking": r.blocking, "detail": r.detail} for r in result.reasons],
        "parties": [status_json(p.subject_type, p.shown_id, p.status) for p in (insured, *practitioners)],
    }
