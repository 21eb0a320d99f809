"""POST /api/v1/claims/check: may this claim be settled? (济南 2023 第十七条; 医保发〔2024〕23号)"""
from __future__ import annotations

import orjson
from flask import Response, current_app, g

from credit_service.schemas.claims import ClaimResultSchema, ClaimSchema
from credit_service.schemas.problems import PROBLEM, ProblemSchema

from ..services import access
from ..services.errors import date_out_of_range
from ..services.status_query import claim_of
from .auth import require
from .request_body import Blueprint

blp = Blueprint("claims", __name__, url_prefix="/api/v1", description="结算前核验：参保人及开方、调剂的医（药）师")


@blp.route("/claims/check", methods=["POST"])
@require(access.STATUS_BATCH)
@blp.arguments(ClaimSchema)
@blp.response(200, ClaimResultSchema)
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description="invalid_id_number / validation_failed")
def check(data):
    """该笔费用能否医保结算？列出每一项原因；急救、抢救不受医（药）师暂停、终止的限制。"""
    c = current_app.extensions["credit_service"]
    day = data["on"] or c.clock.today()
    if problem := c.dates.query_problem(day, c.clock.today()):
        raise date_out_of_range({"on": [problem]})
    return Response(orjson.dumps(claim_of(g.principal, c, data, day)), mimetype="application/json")
