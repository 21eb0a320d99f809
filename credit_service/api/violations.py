"""POST /api/v1/violations and /api/v1/violations/import."""
from __future__ import annotations

import logging
import time

import orjson

from flask import Response, current_app, g, request

from credit_service.schemas.problems import PROBLEM, ProblemSchema
from credit_service.schemas.violations import ImportResultSchema, ViolationResultSchema, ViolationSchema

from ..domain.violations import ViolationInput
from ..gc_pause import gc_paused
from ..services import access, bulk_import, intake
from ..services.bulk_import import CSV_COLUMNS
from ..services.errors import Invalid, ServiceError, problem_body
from .auth import require
from .problems import as_problem
from .serializers import measure_brief_json, violation_json
from .request_body import Blueprint

log = logging.getLogger(__name__)
blp = Blueprint("violations", __name__, url_prefix="/api/v1/violations",
                description="违约违法信息采集（Arts 6–7）")
# The document's CSV: the header in the usual order (any order is read), then lines without U+0000 or a
# lone carriage return (which the reader refuses: 422 malformed_import).
CSV_PATTERN = r"^\ufeff?" + ",".join(CSV_COLUMNS[:10]) + r"(?:(?:,|\r?\n)(?:[^\r\u0000]|\r\n)*)?$"


@blp.route("", methods=["POST"])
@require(access.VIOLATION_WRITE)
@blp.arguments(ViolationSchema)
@blp.response(201, ViolationResultSchema, description="新记录")
@blp.alt_response(200, schema=ViolationResultSchema, description="同一(source, source_ref)、同样内容的重放：首次的结果")
@blp.alt_response(409, schema=ProblemSchema, content_type=PROBLEM, description="duplicate_source_ref：同一编号、不同内容")
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description=(
    "校验失败：invalid_id_number、validation_failed；规则：determined_in_future、months_out_of_range、"
    "points_out_of_band、unknown_category、category_not_applicable"))
@blp.alt_response(403, schema=ProblemSchema, content_type=PROBLEM,
                  description="role_not_allowed / region_not_allowed / override_not_allowed")
def record_violation(data):
    """记录一条违约违法信息，返回其引起的信用管理措施及说明。"""
    outcome = _run([_to_input(data)])[0]
    if outcome.error is not None:
        raise outcome.error
    status = 201 if outcome.status == "created" else 200
    full = access.sees_full_numbers(g.principal, access.VIOLATION_WRITE)
    return _json(violation_json(outcome.violation, full, _today()), status)


@blp.route("/import", methods=["POST"])
@require(access.VIOLATION_WRITE)
@blp.doc(requestBody={
    "required": True,
    "description": "每一行同 POST /api/v1/violations 的请求体（ViolationSchema）。不符合的行不使整批失败：它在结果中被拒绝"
                   "（status rejected，error 为 problem），其余行照常记录。CSV 的列可为任意顺序，必须有 source、source_ref、"
                   "subject_type、id_number、region、occurred_on、determined_on、fund_loss、handling（UTF-8 或 GBK）。",
    "content": {
        # Items are any JSON value: each row is judged on its own, and reported, not refused as a body.
        "application/json": {"schema": {"type": "array", "maxItems": 10000, "items": {},
                                        "description": "违约违法信息数组（每项见 Violation）"}},
        "text/csv": {"schema": {"type": "string", "pattern": CSV_PATTERN}, "example": ",".join(CSV_COLUMNS)},
        "multipart/form-data": {"schema": {"type": "object", "required": ["file"], "properties": {
            "file": {"type": "string", "format": "binary", "description": "CSV文件"}}}},
    }})
@blp.response(200, ImportResultSchema, description="逐行结果；错误行不影响其他行")
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description="too_many_rows / malformed_import")
def import_violations():
    """批量导入（JSON数组或CSV，最多10,000行），逐行返回结果。"""
    with gc_paused():
        return _import_violations()


def _import_violations():
    started = time.perf_counter()
    raw_rows = _read_import_rows()
    c = current_app.extensions["credit_service"]
    limit = c.settings.import_max_rows
    if len(raw_rows) > limit:
        raise Invalid(f"单次最多导入{limit}行，本次{len(raw_rows)}行，请拆分后重试。", code="too_many_rows")
    outcomes = bulk_import.import_rows(c.uow, g.principal, raw_rows, c.rules, c.clock, c.dates)
    result = import_result_json(outcomes, raw_rows)
    counts = result["summary"]
    log.info("import by %s: %d rows (%d created, %d duplicate, %d rejected) in %.3f s", g.principal.name,
             len(raw_rows), counts["created"], counts["duplicate"], counts["rejected"], time.perf_counter() - started)
    return Response(orjson.dumps(result), mimetype="application/json")


def import_result_json(outcomes, raw_rows: list) -> dict:
    """The import's answer: the summary, and per row its status, violation and measures or its problem
    (`credit-service import --json` writes the same)."""
    results, counts = [], {"created": 0, "duplicate": 0, "rejected": 0}
    for outcome, raw in zip(outcomes, raw_rows):
        counts[outcome.status] += 1
        entry = {"index": outcome.index, "status": outcome.status,
                 "source_ref": raw.get("source_ref") if isinstance(raw, dict) else None}
        if outcome.violation is not None:
            entry["violation_id"] = outcome.violation.id
            entry["measures"] = [measure_brief_json(m) for m in outcome.violation.measures]
        else:
            entry["error"] = problem_body(as_problem(outcome.error))
        results.append(entry)
    return {"summary": {"total": len(raw_rows), **counts}, "results": results}


def _run(rows):
    c = current_app.extensions["credit_service"]
    outcomes, _ = intake.record_violations(c.uow(), g.principal, rows, c.rules, c.clock, dates=c.dates)
    return outcomes


class UnsupportedMediaType(ServiceError):
    status, code, title = 415, "unsupported_media_type", "不支持的内容类型"


def _to_input(data: dict) -> ViolationInput:
    subject = data["subject"]
    return ViolationInput(
        source=data["source"], source_ref=data["source_ref"], subject_type=subject["subject_type"],
        id_number=subject["id_number"], name=subject.get("name"), region=data["region"],
        occurred_on=data["occurred_on"], determined_on=data["determined_on"], fund_loss=data["fund_loss"],
        handling=data["handling"], fraud=data["fraud"], points=data["points"],
        description=data["description"], months_override=data["months"], category=data["category"])


def _read_import_rows() -> list:
    content_type = request.mimetype
    if content_type == "application/json":
        return bulk_import.read_json(request.get_data())  # each row judged on its own (U+0000 too)
    if content_type == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise Invalid("multipart 请求须包含名为 file 的CSV文件。", code="malformed_import")
        return bulk_import.read_csv(upload.read())
    if content_type in ("text/csv", "application/csv", "text/plain"):
        return bulk_import.read_csv(request.get_data())
    raise UnsupportedMediaType("导入仅支持 application/json、text/csv 或 multipart/form-data。")


def _today():
    return current_app.extensions["credit_service"].clock.today()


def _json(body: dict, status: int) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")
