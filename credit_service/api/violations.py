"""POST /api/v1/violations and /api/v1/violations/import."""
from __future__ import annotations

import csv
import io
import logging
import time

import orjson

from flask import Response, current_app, g, request

from credit_service.schemas.problems import PROBLEM, ProblemSchema
from credit_service.schemas.violation_rows import parse_violation
from credit_service.schemas.violations import ImportResultSchema, ViolationResultSchema, ViolationSchema

from ..domain.violations import ViolationInput
from ..gc_pause import gc_paused
from ..services import access, intake
from ..services.errors import Invalid, ServiceError, invalid_fields, problem_body
from .auth import require
from .problems import as_problem
from .request_body import parse_json
from .serializers import measure_brief_json, violation_json
from .request_body import Blueprint

log = logging.getLogger(__name__)
blp = Blueprint("violations", __name__, url_prefix="/api/v1/violations",
                description="违约违法信息采集（Arts 6–7）")
CSV_COLUMNS = ("source", "source_ref", "subject_type", "id_number", "name", "region", "occurred_on",
               "determined_on", "fund_loss", "handling", "fraud", "points", "description", "months", "category")
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
    limit = current_app.extensions["credit_service"].settings.import_max_rows
    if len(raw_rows) > limit:
        raise Invalid(f"单次最多导入{limit}行，本次{len(raw_rows)}行，请拆分后重试。", code="too_many_rows")
    rows: list[ViolationInput | ServiceError] = []
    for raw in raw_rows:
        row, errors = parse_violation(raw)
        rows.append(row if row is not None else invalid_fields(errors, "本行未通过校验"))
    outcomes = _run(rows)
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
    body = orjson.dumps({"summary": {"total": len(raw_rows), **counts}, "results": results})
    log.info("import by %s: %d rows (%d created, %d duplicate, %d rejected) in %.3f s", g.principal.name,
             len(raw_rows), counts["created"], counts["duplicate"], counts["rejected"], time.perf_counter() - started)
    return Response(body, mimetype="application/json")


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
        try:
            payload = parse_json(request.get_data(), refuse_nul=False)  # per row: schemas/violation_rows.py
        except ValueError:
            raise Invalid("请求体不是有效的JSON。", code="malformed_import") from None
        if not isinstance(payload, list):
            raise Invalid("JSON导入的请求体须为违约违法信息数组。", code="malformed_import")
        return payload
    if content_type == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise Invalid("multipart 请求须包含名为 file 的CSV文件。", code="malformed_import")
        return _csv_rows(upload.read())
    if content_type in ("text/csv", "application/csv", "text/plain"):
        return _csv_rows(request.get_data())
    raise UnsupportedMediaType("导入仅支持 application/json、text/csv 或 multipart/form-data。")


def _csv_rows(data: bytes) -> list[dict]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China often saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid("CSV文件编码无法识别，请使用UTF-8。", code="malformed_import")
    if "\x00" in text:  # no text column can store it (PostgreSQL refuses U+0000)
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise Invalid(f"CSV文件第{line}行包含空字符（U+0000），请检查文件。", code="malformed_import")
    reader = csv.DictReader(io.StringIO(text))
    try:
        missing = [c for c in ("source", "source_ref", "subject_type", "id_number", "region", "occurred_on",
                               "determined_on", "fund_loss", "handling") if c not in (reader.fieldnames or [])]
        if missing:
            raise Invalid(f"CSV表头缺少列：{', '.join(missing)}。", code="malformed_import",
                          errors={"header": [f"缺少 {c}" for c in missing]})
        return [_csv_row(r) for r in reader]
    except csv.Error as exc:  # a stray carriage return, a field over the reader's limit (128 KiB), …
        # line_num counts the lines read whole: the one that failed is the next
        raise Invalid(f"CSV文件第{reader.line_num + 1}行无法解析（{exc}），请检查引号、换行和字段长度。",
                      code="malformed_import") from None


def _csv_row(r: dict) -> dict:
    """Flat CSV columns → the nested JSON body, keeping strings so the same schema judges both."""
    row = {k: v for k, v in r.items() if k in CSV_COLUMNS and k not in ("subject_type", "id_number", "name")
           and v not in (None, "")}
    if None in r:  # more cells than header columns
        row["_extra_cells"] = r[None]
    row["subject"] = {"subject_type": r.get("subject_type"), "id_number": r.get("id_number"),
                      "name": r.get("name") or None}
    if "fraud" in row:
        row["fraud"] = {"true": True, "1": True, "是": True, "false": False, "0": False, "否": False}.get(
            row["fraud"].strip().lower(), row["fraud"])
    for key in ("points", "months"):
        if key in row:
            try:
                row[key] = int(row[key])
            except ValueError:
                pass  # the schema reports it
    return row


def _today():
    return current_app.extensions["credit_service"].clock.today()


def _json(body: dict, status: int) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")
