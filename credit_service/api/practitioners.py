"""Incentives for practitioners marked by staff (第八条第一项)."""
from __future__ import annotations

import orjson
from flask import Response, current_app, g

from credit_service.schemas.claims import ExpertRecommendationResultSchema, ExpertRecommendationSchema
from credit_service.schemas.fields import subject_path_parameters
from credit_service.schemas.problems import PROBLEM, ProblemSchema

from ..domain.decisions import PRACTITIONER_TYPES
from ..services import access
from ..services.incentives import recommend_expert
from .auth import require
from .status import _checked_subject
from .request_body import Blueprint

blp = Blueprint("practitioners", __name__, url_prefix="/api/v1", description="医保医（药）师激励（第八条第一项）")


@blp.route("/subjects/<subject_type>/<id_number>/expert-recommendations", methods=["POST"],
           parameters=subject_path_parameters(PRACTITIONER_TYPES))
@require(access.EXPERT_MARK)
@blp.arguments(ExpertRecommendationSchema)
@blp.response(201, ExpertRecommendationResultSchema)
@blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM, description="already_recommended")
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description="validation_failed / year_in_future")
def mark_expert(data, subject_type: str, id_number: str):
    """标记表现突出的医保医（药）师某年度优先推荐入医保专家库（expert_recommendation），须写明理由。"""
    id_number = _checked_subject(subject_type, id_number)
    c = current_app.extensions["credit_service"]
    body = recommend_expert(c.uow(), c.clock, g.principal, subject_type, id_number, data["year"], data["region"],
                            data["reason"])
    return Response(orjson.dumps(body), status=201, mimetype="application/json")
