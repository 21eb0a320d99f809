"""The credit evaluation with the contribution of each fact: GET …/evaluation and POST /evaluation/query."""
from __future__ import annotations

import orjson
from flask import Response, current_app, g, request
from flask_smorest import Blueprint

from credit_service.schemas.fields import subject_path_parameters
from credit_service.schemas.evaluation import EvaluationQuerySchema, EvaluationSchema
from credit_service.schemas.problems import PROBLEM, ProblemSchema

from ..domain.evaluation import CREDIT_PAYMENT
from ..domain.decisions import PRACTITIONER_TYPES
from ..services import access
from ..services.evaluation import SubjectEvaluation, evaluate_subject
from .auth import require
from .status import _checked_subject, _day

blp = Blueprint("evaluation", __name__, url_prefix="/api/v1",
                description="信用评价积分与信用等级（泰医保发〔2024〕21号；威海2024常态化监管第十三条）")


@blp.route("/subjects/<subject_type>/<id_number>/evaluation", methods=["GET"],
           parameters=subject_path_parameters())
@require(access.EVALUATION_READ)
@blp.doc(parameters=[{"in": "query", "name": "on", "required": False, "schema": {"type": "string", "format": "date"},
                      "description": "评价日期，缺省为今天（Asia/Shanghai）"}])
@blp.response(200, EvaluationSchema)
@blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM, description="no_evaluation_model：该日无评价模型")
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description="invalid_id_number / validation_failed")
def subject_evaluation(subject_type: str, id_number: str):
    """该主体在指定日期的信用评价积分、信用等级，以及每一项事实的影响（扣分、原因、条款）。"""
    id_number = _checked_subject(subject_type, id_number)
    c = current_app.extensions["credit_service"]
    return _answer(c, subject_type, id_number, _day(request.args.get("on"), c))


@blp.route("/evaluation/query", methods=["POST"])
@require(access.EVALUATION_READ)
@blp.arguments(EvaluationQuerySchema)
@blp.response(200, EvaluationSchema)
@blp.alt_response(404, schema=ProblemSchema, content_type=PROBLEM, description="no_evaluation_model：该日无评价模型")
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description="invalid_id_number / validation_failed")
def evaluation_query(data):
    """同上，身份证号在请求体中（不进入URL）。"""
    c = current_app.extensions["credit_service"]
    return _answer(c, data["subject_type"], data["id_number"], data["on"] or c.clock.today())


def _answer(c, subject_type: str, id_number: str, day) -> Response:
    result = evaluate_subject(g.principal, subject_type, id_number, day, facts_of=c.index.get,
                              lookup_key=c.keys.lookup_key, rules=c.rules)
    return Response(orjson.dumps(evaluation_json(result)), mimetype="application/json")


def evaluation_json(result: SubjectEvaluation) -> dict:
    e = result.evaluation
    practitioner = result.subject_type in PRACTITIONER_TYPES
    return {
        "subject_type": result.subject_type, "id_number": result.shown_id, "on": e.on.isoformat(),
        "score": e.score, "grade": e.grade.grade, "grade_title": e.grade.title, "base": e.base,
        "unlocks": sorted(e.grade.unlocks), "credit_payment": CREDIT_PAYMENT in e.grade.unlocks,
        "inspection": {"level": e.grade.inspection, "words": e.grade.inspection_words} if practitioner else None,
        "contributions": [{"change": x.change, "reason": x.reason, "rule_set": x.rule_set, "article": x.article}
                          for x in e.contributions],
        "clean_years": e.clean_years, "notes": list(e.notes), "rule_set": e.rule_set, "document": e.document,
        "past_expiry": e.past_expiry,
    }
