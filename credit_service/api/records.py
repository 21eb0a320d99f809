"""The natural-year record of a subject and the staff worklist."""
from __future__ import annotations

from datetime import date

import orjson
from flask import Response, current_app, g, request

from credit_service.schemas.fields import REGION_SCHEMA, subject_path_parameters
from credit_service.schemas.problems import PROBLEM, ProblemSchema
from credit_service.schemas.procedure import RecordQuerySchema, RecordSchema, WorklistSchema

from ..domain.identity import mask_id_number
from ..domain.money import format_yuan
from ..services import access
from ..services.errors import Invalid
from ..services.record_queries import (WORK_KINDS, WORKLIST_OFFSET_MAX, WORKLIST_PAGE_MAX, worklist,
                                       year_record)
from ..services.status_query import score_of
from .auth import require
from .serializers import measure_row_json, notice_json, objection_json, repair_json, violation_row_json
from .query_args import choice_arg, count_arg, date_arg, region_arg
from .status import _checked_subject
from .request_body import Blueprint

blp = Blueprint("records", __name__, url_prefix="/api/v1", description="自然年度记录与经办工作清单（第七条、第十条至第十二条）")


@blp.route("/subjects/<subject_type>/<id_number>/record", methods=["GET"],
           parameters=subject_path_parameters())
@require(access.RECORD_READ)
@blp.doc(parameters=[{"in": "query", "name": "year", "required": False,
                      "schema": {"type": "integer", "minimum": 1901, "maximum": 9999},
                      "description": "自然年度（记录周期），缺省为今年"}])
@blp.response(200, RecordSchema)
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM,
                  description="invalid_id_number / validation_failed / date_out_of_range")
def subject_record(subject_type: str, id_number: str):
    """一个自然年度的记录：违约违法信息、基金损失合计、措施、告知书、异议、修复。经办人员只看到本统筹区作出的部分
    （scope_region；partial 表示另有其他统筹区的记录未列出），管理员与本人看到全部。建议改用
    POST /api/v1/records/query：身份证号码不进入URL。"""
    id_number = _checked_subject(subject_type, id_number)
    c = current_app.extensions["credit_service"]
    access.check_number(g.principal, access.RECORD_READ, subject_type, id_number, c.keys.lookup_key)
    today = c.clock.today()
    return _record_answer(c, subject_type, id_number, _year(request.args.get("year"), today, c), today)


@blp.route("/records/query", methods=["POST"])
@require(access.RECORD_READ)
@blp.arguments(RecordQuerySchema)
@blp.response(200, RecordSchema)
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM,
                  description="invalid_id_number / validation_failed / date_out_of_range")
def record_query(data):
    """一个自然年度的记录（推荐）：与 GET …/record 相同，主体放在请求体中，身份证号码不进入URL。"""
    c = current_app.extensions["credit_service"]
    access.check_number(g.principal, access.RECORD_READ, data["subject_type"], data["id_number"], c.keys.lookup_key)
    today = c.clock.today()
    if problem := c.dates.year_problem(data["year"], today):
        raise Invalid(problem, code="date_out_of_range", errors={"year": [problem]})
    return _record_answer(c, data["subject_type"], data["id_number"], data["year"], today)


def _record_answer(c, subject_type: str, id_number: str, year: int, today: date) -> Response:
    record = year_record(c.uow(), g.principal, subject_type, id_number, year)
    full = record.full_numbers
    body = {
        "subject_type": subject_type, "id_number": id_number if full else mask_id_number(id_number), "year": year,
        "scope_region": record.scope_region, "partial": record.partial,
        "total_fund_loss": format_yuan(record.total_fund_loss),
        "violations": [violation_row_json(v, id_number, full) for v in record.violations],
        "measures": [measure_row_json(m, today) for m in record.measures],
        "notices": [notice_json(n) for n in record.notices],
        "objections": [objection_json(o, id_number, full, today) for o in record.objections],
        "repairs": [repair_json(r, id_number, full, today, _restored(record, r.measure_id)) for r in record.repairs],
        "evaluation": score_of(c, subject_type, id_number, today if year >= today.year else date(year, 12, 31)),
    }
    return Response(orjson.dumps(body), mimetype="application/json")


def _restored(record, measure_id: str) -> bool:
    return any(m.id == measure_id and m.credit_state == "restored" for m in record.measures)


def _year(value: str | None, today: date, c) -> int:
    if value is None:
        return today.year
    if not (len(value) == 4 and value.isascii() and value.isdigit()):
        raise Invalid("year 须为四位数的自然年度，例如 2026。", errors={"year": ["应为四位年份。"]})
    if problem := c.dates.year_problem(int(value), today):
        raise Invalid(problem, code="date_out_of_range", errors={"year": [problem]})
    return int(value)


@blp.route("/worklist", methods=["GET"])
@require(access.WORKLIST_READ)
@blp.doc(parameters=[
    {"in": "query", "name": "region", "required": False, "schema": REGION_SCHEMA,
     "description": "统筹区；经办人员缺省且只能为本统筹区"},
    {"in": "query", "name": "due_before", "required": False, "schema": {"type": "string", "format": "date"},
     "description": "只列期限早于该日的事项"},
    {"in": "query", "name": "kind", "required": False, "explode": True,
     "schema": {"type": "array", "items": {"type": "string", "enum": list(WORK_KINDS)}},
     "description": "只列这些类别的事项（可重复）；缺省为全部"},
    {"in": "query", "name": "limit", "required": False,
     "schema": {"type": "integer", "minimum": 1, "maximum": WORKLIST_PAGE_MAX, "default": WORKLIST_PAGE_MAX},
     "description": "每页条数"},
    {"in": "query", "name": "offset", "required": False,
     "schema": {"type": "integer", "minimum": 0, "maximum": WORKLIST_OFFSET_MAX, "default": 0},
     "description": "分页：跳过的条数（total 为全部条数）"}])
@blp.response(200, WorklistSchema)
def staff_worklist():
    """待复核的异议、待答复的修复申请、尚在异议期内的告知书，按期限先后排列（含暂定期限标记、剩余工作日），
    分页，total 为符合条件的全部条数。"""
    c = current_app.extensions["credit_service"]
    region = region_arg(request.args)
    due_before = date_arg(request.args, "due_before", c)
    kinds = choice_arg(request.args, "kind", WORK_KINDS)
    limit = count_arg(request.args, "limit", WORKLIST_PAGE_MAX, WORKLIST_PAGE_MAX, minimum=1)
    offset = count_arg(request.args, "offset", 0, WORKLIST_OFFSET_MAX)
    page = worklist(c.uow(), g.principal, c.clock.today(), region, due_before, limit=limit, offset=offset,
                    kinds=kinds, calendar=c.current_calendar())
    body = {"items": [{"kind": i.kind, "id": i.id, "measure_id": i.measure_id, "subject_type": i.subject_type,
                       "id_number": i.id_number, "region": i.region, "due_on": i.due_on.isoformat(),
                       "provisional": i.provisional, "overdue": i.overdue, "working_days_left": i.working_days_left}
                      for i in page.items],
            "total": page.total, "offset": page.offset, "limit": page.limit}
    return Response(orjson.dumps(body), mimetype="application/json")
