"""The settlement status views (the hot path itself is api/fast_status.py, in front of Flask): thin doors
onto services/status_query.py."""
from __future__ import annotations

import orjson
from datetime import date

from flask import Response, current_app, g, request

from credit_service.schemas.problems import PROBLEM, ProblemSchema

import credit_service.schemas.claims  # noqa: F401 (registers ClaimSchema, which the batch schema names)
from credit_service.schemas.fields import subject_path_parameters
from credit_service.schemas.status import BatchRequestSchema, BatchResultSchema, StatusQuerySchema, StatusResultSchema

from ..domain.dates import parse_day
from ..domain.identity import SUBJECT_TYPES, id_number_problem, normalise_id_number
from ..services import access
from ..services.errors import Invalid, date_out_of_range
from ..services.status_query import batch_of, status_of
from .auth import require
from .request_body import Blueprint

blp = Blueprint("status", __name__, url_prefix="/api/v1", description="结算状态查询（Arts 5, 9）")


@blp.route("/subjects/<subject_type>/<id_number>/status", methods=["GET"],
           parameters=subject_path_parameters())
@require(access.STATUS_READ)
@blp.doc(parameters=[{"in": "query", "name": "on", "required": False,
                      "schema": {"type": "string", "format": "date"},
                      "description": "查询日期，缺省为今天（Asia/Shanghai）"},
                     {"in": "query", "name": "emergency", "required": False,
                      "schema": {"type": "boolean"},
                      "description": "急救、抢救：医（药）师的暂停、终止不影响结算，答复中注明"}])
@blp.response(200, StatusResultSchema)
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description="invalid_id_number / validation_failed")
def subject_status(subject_type: str, id_number: str):
    """该主体在指定日期能否联网结算？各统筹区结果互认（第五条）。建议改用 POST /api/v1/status/query：
    身份证号码不进入URL（代理、服务器会记录URL）。"""
    id_number = _checked_subject(subject_type, id_number)
    c = current_app.extensions["credit_service"]
    access.check_number(g.principal, access.STATUS_READ, subject_type, id_number, c.keys.lookup_key)
    day = asked_day(request.args.get("on"), c)
    return _json(status_of(g.principal, c, subject_type, id_number, day, _flag(request.args.get("emergency"))))


@blp.route("/status/query", methods=["POST"])
@require(access.STATUS_READ)
@blp.arguments(StatusQuerySchema)
@blp.response(200, StatusResultSchema)
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM,
                  description="invalid_id_number / validation_failed / date_out_of_range")
@blp.alt_response(503, schema=ProblemSchema, content_type=PROBLEM, description="status_index_stale")
def status_query(data):
    """该主体在指定日期能否联网结算？（推荐）与 GET …/status 相同，主体放在请求体中，身份证号码不进入URL。"""
    c = current_app.extensions["credit_service"]
    access.check_number(g.principal, access.STATUS_READ, data["subject_type"], data["id_number"], c.keys.lookup_key)
    day = c.clock.today() if data["on"] is None else lawful_day(data["on"], c)
    return _json(status_of(g.principal, c, data["subject_type"], data["id_number"], day, data["emergency"]))


@blp.route("/status/batch", methods=["POST"])
@require(access.STATUS_BATCH)
@blp.arguments(BatchRequestSchema)
@blp.response(200, BatchResultSchema)
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description="任一项无效则整批422，errors 指明序号")
def batch_status(data):
    """批量查询（≤1000个主体），结果与请求同序；可附 claims（与 /claims/check 同样的请求体）逐笔核验，
    以及 emergency（急救、抢救）。"""
    c = current_app.extensions["credit_service"]
    subjects, claims = data["subjects"], data["claims"]
    count, limit = len(subjects) + len(claims or ()), c.settings.batch_max_subjects
    if count > limit:
        raise Invalid(f"单次最多查询{limit}个主体或费用，本次{count}个。", code="too_many_subjects",
                      errors={"subjects": [f"连同 claims 最多{limit}个。"]})
    day = c.clock.today() if data["on"] is None else lawful_day(data["on"], c)
    today = c.clock.today()
    if early_or_late := {f"claims.{i}.on": [problem] for i, claim in enumerate(claims or ())
                         if claim["on"] is not None and (problem := c.dates.query_problem(claim["on"], today))}:
        raise date_out_of_range(early_or_late)
    return _json(batch_of(g.principal, c, [(s["subject_type"], s["id_number"]) for s in subjects], day,
                          data["emergency"], claims))


def _checked_subject(subject_type: str, id_number: str) -> str:
    if subject_type not in SUBJECT_TYPES:
        raise Invalid("主体类型须为 insured、physician 或 pharmacist。",
                      errors={"subject_type": ["unknown subject type"]})
    id_number = normalise_id_number(id_number)
    if problem := id_number_problem(id_number):
        raise Invalid(problem, code="invalid_id_number", errors={"id_number": [problem]})
    return id_number


def _flag(value: str | None) -> bool | None:
    if value is None:
        return None
    if value in ("true", "false"):
        return value == "true"
    raise Invalid("emergency 须为 true 或 false。", errors={"emergency": ["应为 true 或 false。"]})


def asked_day(value, c, field: str = "on") -> date:
    """The day a status or claims check asks about (default today), within the lawful range."""
    if value is None:
        return c.clock.today()
    return lawful_day(_day(value, c), c, field)


def lawful_day(day: date, c, field: str = "on") -> date:
    if problem := c.dates.query_problem(day, c.clock.today()):
        raise date_out_of_range({field: [problem]})
    return day


def _day(value, c) -> date:
    if value is None:
        return c.clock.today()
    day = parse_day(value)
    if day is not None:
        return day
    raise Invalid("日期格式应为YYYY-MM-DD且为有效日期。", errors={"on": ["日期格式应为YYYY-MM-DD。"]})


def _json(body: dict) -> Response:
    return Response(orjson.dumps(body), mimetype="application/json")
