"""Practitioners (第八条): expert recommendations (mark, list, withdraw; 第八条第一项) and the
re-registration (重新登记备案) that ends a terminated payment qualification (第八条第二项、协议约定)."""
from __future__ import annotations

import orjson
from flask import Response, current_app, g

from credit_service.schemas.claims import ExpertRecommendationResultSchema, ExpertRecommendationSchema
from credit_service.schemas.fields import subject_path_parameters
from credit_service.schemas.practitioners import (ExpertMarkSchema, ExpertRecommendationListSchema,
                                                  ExpertRecommendationQuerySchema, ReregistrationRequestSchema,
                                                  ReregistrationSchema, WithdrawalRequestSchema)
from credit_service.schemas.problems import PROBLEM, ProblemSchema

from ..domain.decisions import PRACTITIONER_TYPES
from ..services import access
from ..services.incentives import expert_recommendations, recommend_expert, withdraw_expert_recommendation
from ..services.qualification import record_reregistration
from .auth import require
from .serializers import measure_row_json
from .status import _checked_subject
from .request_body import Blueprint

blp = Blueprint("practitioners", __name__, url_prefix="/api/v1",
                description="医保医（药）师：专家库推荐（第八条第一项）与重新登记备案")
_PROBLEM = {"schema": ProblemSchema, "content_type": PROBLEM}


def _c():
    return current_app.extensions["credit_service"]


def _json(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


@blp.route("/subjects/<subject_type>/<id_number>/expert-recommendations", methods=["POST"],
           parameters=subject_path_parameters(PRACTITIONER_TYPES))
@require(access.EXPERT_MARK)
@blp.arguments(ExpertRecommendationSchema)
@blp.response(201, ExpertRecommendationResultSchema)
@blp.alt_response(409, **_PROBLEM, description="already_recommended")
@blp.alt_response(422, **_PROBLEM, description="validation_failed / year_in_future")
def mark_expert(data, subject_type: str, id_number: str):
    """标记表现突出的医保医（药）师某年度优先推荐入医保专家库（expert_recommendation），须写明理由；
    已撤回的标记可再次标记。"""
    id_number = _checked_subject(subject_type, id_number)
    c = _c()
    body = recommend_expert(c.uow(), c.clock, g.principal, subject_type, id_number, data["year"], data["region"],
                            data["reason"])
    return _json(body, 201)


def _listed(subject_type: str, id_number: str) -> Response:
    found = expert_recommendations(_c().uow(), g.principal, subject_type, id_number)
    return _json({"recommendations": [r.as_dict() for r in found]})


@blp.route("/subjects/<subject_type>/<id_number>/expert-recommendations", methods=["GET"],
           parameters=subject_path_parameters(PRACTITIONER_TYPES))
@require(access.EXPERT_READ)
@blp.response(200, ExpertRecommendationListSchema)
def list_experts(subject_type: str, id_number: str):
    """该医（药）师的专家库推荐标记（含已撤回的）；经办人员只见本统筹区作出的标记。
    不想让身份证号出现在URL中：用 POST /api/v1/expert-recommendations/query。"""
    return _listed(subject_type, _checked_subject(subject_type, id_number))


@blp.route("/expert-recommendations/query", methods=["POST"])
@require(access.EXPERT_READ)
@blp.arguments(ExpertRecommendationQuerySchema)
@blp.response(200, ExpertRecommendationListSchema)
def query_experts(data):
    """同 GET …/expert-recommendations，主体在请求体中（身份证号不进URL）。"""
    return _listed(data["subject_type"], data["id_number"])


@blp.route("/expert-recommendations/<recommendation_id>/withdrawal", methods=["POST"])
@require(access.EXPERT_MARK)
@blp.arguments(WithdrawalRequestSchema)
@blp.response(200, ExpertMarkSchema)
@blp.alt_response(404, **_PROBLEM, description="recommendation_not_found")
@blp.alt_response(409, **_PROBLEM, description="recommendation_withdrawn")
def withdraw_expert(data, recommendation_id: str):
    """撤回一项专家库推荐标记（自今天起不再享受该年度的激励），须写明理由；作出标记的统筹区经办人员或管理员。"""
    c = _c()
    return _json(withdraw_expert_recommendation(c.uow(), c.clock, g.principal, recommendation_id,
                                                data["reason"]).as_dict())


@blp.route("/measures/<measure_id>/reregistration", methods=["POST"])
@require(access.REREGISTER)
@blp.arguments(ReregistrationRequestSchema)
@blp.response(200, ReregistrationSchema)
@blp.alt_response(404, **_PROBLEM, description="measure_not_found")
@blp.alt_response(409, **_PROBLEM, description="already_reregistered / measure_revoked")
@blp.alt_response(422, **_PROBLEM, description="reregistration_barred（detail 写明可登记之日）/ "
                                                "reregistration_not_applicable / registered_in_future / validation_failed")
def reregister(data, measure_id: str):
    """登记终止医保支付资格的医（药）师重新登记备案：不得再次登记备案的期限届满后方可登记，
    医保支付资格自登记之日起恢复正常（措施 restores_on 为该日）。"""
    c = _c()
    done = record_reregistration(c.workflow(), g.principal, measure_id, data["registered_on"], data["note"])
    return _json({"measure": measure_row_json(done.measure, c.clock.today()), "article": done.article})
