"""Notices, objections and credit repair (Arts 10–12): thin views over services.procedure."""
from __future__ import annotations

from urllib.parse import quote

import orjson
from flask import Response, current_app, g, request

from credit_service.schemas.problems import PROBLEM, ProblemSchema
from credit_service.schemas.procedure import (EvidenceCompleteRequestSchema, NoticeRequestSchema, NoticeSchema,
                               ObjectionDecisionRequestSchema, ObjectionDecisionSchema, ObjectionRequestSchema,
                               ObjectionSchema, RepairDecisionRequestSchema, RepairRequestSchema, RepairSchema,
                               EvidenceListSchema)

from ..domain import evidence as evidence_rules
from ..services import access
from ..services import evidence as evidence_service
from ..services import procedure as service
from .violations import UnsupportedMediaType
from .auth import require
from .notice_page import NOTICE_CSP, render_notice
from .serializers import measure_row_json, notice_json, objection_json, repair_json
from .request_body import Blueprint

blp = Blueprint("procedure", __name__, url_prefix="/api/v1",
                description="信用结果告知、异议与复核、信用修复（第十条至第十二条）")
_CONFLICT = {"schema": ProblemSchema, "content_type": PROBLEM}
# A request may bring a whole filing's files (each is checked by the use case: 10 MB, 20 per filing).
EVIDENCE_REQUEST_MAX_BYTES = evidence_rules.MAX_FILES_PER_FILING * evidence_rules.MAX_FILE_BYTES + 1024 * 1024


def evidence_download(row) -> Response:
    """A stored evidence file as the type read from its content, always as an attachment (both doors)."""
    return Response(row.content, mimetype=row.content_type, headers={
        "Content-Disposition": f"attachment; filename=\"evidence{evidence_rules.EXTENSIONS[row.content_type]}\"; "
                               f"filename*=UTF-8''{quote(row.filename)}",
        "X-Content-Type-Options": "nosniff", "X-Content-SHA256": row.sha256})


def _c():
    return current_app.extensions["credit_service"]


def _json(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


@blp.route("/measures/<measure_id>/notice", methods=["POST"])
@require(access.CASE_DECIDE)
@blp.arguments(NoticeRequestSchema)
@blp.response(201, NoticeSchema, description="已登记送达；objection_deadline = 签收后第15个工作日")
@blp.alt_response(404, **_CONFLICT, description="measure_not_found")
@blp.alt_response(409, **_CONFLICT, description="notice_exists / measure_revoked")
@blp.alt_response(422, **_CONFLICT, description="received_before_served / received_in_future / validation_failed")
def serve_notice(data, measure_id: str):
    """登记信用结果告知书的送达与签收，计算异议期限（第十条）。"""
    notice = service.serve_notice(_c().workflow(), g.principal, measure_id, data["served_on"], data["received_on"])
    return _json(notice_json(notice), 201)


@blp.route("/measures/<measure_id>/notice", methods=["GET"])
@require(access.CASE_READ)
@blp.response(200, description="可打印的信用结果告知书（HTML）", content_type="text/html")
@blp.alt_response(404, **_CONFLICT, description="measure_not_found")
def print_notice(measure_id: str):
    """可打印的中文信用结果告知书（一页）。"""
    c = _c()
    letter = service.notice_letter(c.uow(), g.principal, measure_id)
    html = render_notice(letter.measure, letter.violation, letter.notice, c.rules, c.clock.today(), letter.number)
    return Response(html, mimetype="text/html", headers={"Content-Security-Policy": NOTICE_CSP})


@blp.route("/objections", methods=["POST"])
@require(access.CASE_FILE)
@blp.arguments(ObjectionRequestSchema)
@blp.response(201, ObjectionSchema)
@blp.alt_response(409, **_CONFLICT, description="objection_open / measure_revoked")
@blp.alt_response(422, **_CONFLICT, description="objection_window_closed（detail 写明期限）/ filed_on_not_today / "
                                                 "filed_in_future / validation_failed")
def file_objection(data):
    """提出异议申请（第十条：收到告知书15个工作日内，书面并附证明材料）。"""
    c = _c()
    filed = service.file_objection(c.workflow(), g.principal, data["measure_id"], data["filed_on"], data["reason"],
                                   data["evidence"])
    return _json(objection_json(filed.row, filed.number, filed.full_numbers, c.clock.today()), 201)


@blp.route("/objections/<objection_id>", methods=["GET"])
@require(access.CASE_READ)
@blp.response(200, ObjectionSchema)
def get_objection(objection_id: str):
    """一件异议申请及其复核情况。"""
    c = _c()
    found = service.objection_for(c.uow(), g.principal, objection_id)
    return _json(objection_json(found.row, found.number, found.full_numbers, c.clock.today()))


@blp.route("/objections/<objection_id>/evidence-complete", methods=["POST"])
@require(access.CASE_DECIDE)
@blp.arguments(EvidenceCompleteRequestSchema)
@blp.response(200, ObjectionSchema, description="复核期限自材料补齐次日重新起算")
@blp.alt_response(409, **_CONFLICT, description="evidence_already_complete / objection_closed")
@blp.alt_response(422, **_CONFLICT, description="evidence_date_out_of_range（须在提出日期与今天之间）/ validation_failed")
def evidence_complete(data, objection_id: str):
    """登记证明材料补齐之日（复核期限重新起算）。"""
    c = _c()
    done = service.record_evidence_complete(c.workflow(), g.principal, objection_id, data["on"])
    return _json(objection_json(done.row, done.number, done.full_numbers, c.clock.today()))


@blp.route("/objections/<objection_id>/decision", methods=["POST"])
@require(access.CASE_DECIDE)
@blp.arguments(ObjectionDecisionRequestSchema)
@blp.response(200, ObjectionDecisionSchema)
@blp.alt_response(409, **_CONFLICT, description="objection_closed")
@blp.alt_response(422, **_CONFLICT, description="decided_before_filed / decided_in_future / fund_loss_required / "
                                                 "fund_loss_not_allowed / validation_failed")
def decide_objection(data, objection_id: str):
    """复核决定：upheld 撤销措施并重算本年度；modified 按更正金额重算；rejected 维持。"""
    c = _c()
    result = service.decide_objection(c.workflow(), g.principal, objection_id, data["outcome"],
                                      data["decided_on"], data["reason"], data["fund_loss"])
    today = c.clock.today()
    return _json({"objection": objection_json(result.objection, result.number, True, today),
                  "revoked_measures": [measure_row_json(m, today) for m in result.revoked],
                  "new_measures": [measure_row_json(m, today) for m in result.created]})


@blp.route("/repairs", methods=["POST"])
@require(access.CASE_FILE)
@blp.arguments(RepairRequestSchema)
@blp.response(201, RepairSchema, description="reply_due_on = 申请后第15个工作日（第十一条）")
@blp.alt_response(409, **_CONFLICT, description="repair_open / measure_revoked / credit_restored")
@blp.alt_response(422, **_CONFLICT, description="filed_on_not_today / filed_in_future / measure_not_of_subject / "
                                                 "invalid_id_number / validation_failed")
def file_repair(data):
    """信用修复申请：纠正失信行为、消除不良影响、修复承诺及证明材料（第十一条、第十二条）。"""
    c = _c()
    filed = service.file_repair(c.workflow(), g.principal, data["measure_id"], data["subject_type"],
                                data["id_number"], data["filed_on"], data["corrected"],
                                data["adverse_effects_removed"], data["commitment"], data["evidence"])
    return _json(repair_json(filed.row, filed.number, filed.full_numbers, c.clock.today()), 201)


@blp.route("/repairs/<repair_id>", methods=["GET"])
@require(access.CASE_READ)
@blp.response(200, RepairSchema)
def get_repair(repair_id: str):
    """一件信用修复申请及其答复。"""
    c = _c()
    found = service.repair_for(c.uow(), g.principal, repair_id)
    return _json(repair_json(found.row, found.number, found.full_numbers, c.clock.today(), found.credit_restored))


@blp.route("/repairs/<repair_id>/decision", methods=["POST"])
@require(access.CASE_DECIDE)
@blp.arguments(RepairDecisionRequestSchema)
@blp.response(200, RepairSchema)
@blp.alt_response(409, **_CONFLICT, description="repair_decided")
@blp.alt_response(422, **_CONFLICT, description="repair_conditions_incomplete / decided_before_filed / "
                                                 "decided_in_future / validation_failed")
def decide_repair(data, repair_id: str):
    """核准或驳回信用修复申请；措施已期满而待修复的，核准即修复。"""
    c = _c()
    result = service.decide_repair(c.workflow(), g.principal, repair_id, data["outcome"], data["decided_on"],
                                   data["reason"])
    return _json(repair_json(result.repair, result.number, True, c.clock.today(),
                             result.measure.credit_state == "restored"))


# -- evidence files (证明材料) of objections and repairs --------------------------------------------

_EVIDENCE_BODY = {
    "required": True,
    "description": "证明材料文件（字段名 evidence，可重复）：PDF、JPEG 或 PNG，按文件内容判断类型（与文件名无关），"
                   f"每个不超过 {evidence_rules.MAX_FILE_BYTES // (1024 * 1024)} MB，每件申请合计不超过 "
                   f"{evidence_rules.MAX_FILES_PER_FILING} 个。",
    "content": {"multipart/form-data": {"schema": {"type": "object", "required": ["evidence"], "properties": {
        "evidence": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}},
}


def evidence_json(row) -> dict:
    return {"id": row.id, "case": row.case_kind, "case_id": row.case_id, "filename": row.filename,
            "content_type": row.content_type, "size": row.size, "sha256": row.sha256,
            "uploaded_at": row.created_at.isoformat(), "href": f"/api/v1/evidence/{row.id}"}


def _uploads() -> list[evidence_service.Upload]:
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("证明材料须以 multipart/form-data 上传（字段名 evidence）。")
    files = []
    for part in request.files.getlist("evidence"):
        content = part.stream.read(evidence_rules.MAX_FILE_BYTES + 1)  # one byte past the limit is enough to refuse
        if part.filename or content:
            files.append(evidence_service.Upload(part.filename, content))
    return files


def _add_evidence(case_kind: str, case_id: str) -> Response:
    request.max_content_length = EVIDENCE_REQUEST_MAX_BYTES
    rows = evidence_service.add_evidence(_c().workflow(), g.principal, case_kind, case_id, _uploads())
    return _json({"files": [evidence_json(r) for r in rows]}, 201)


def _list_evidence(case_kind: str, case_id: str) -> Response:
    rows = evidence_service.evidence_of(_c().uow(), g.principal, case_kind, case_id)
    return _json({"files": [evidence_json(r) for r in rows]})


@blp.route("/objections/<objection_id>/evidence", methods=["POST"])
@require(access.CASE_FILE)
@blp.doc(requestBody=_EVIDENCE_BODY)
@blp.response(201, description="已接收的证明材料（类型按内容判断，附 SHA-256）", schema=EvidenceListSchema)
@blp.alt_response(404, **_CONFLICT, description="objection_not_found")
@blp.alt_response(409, **_CONFLICT, description="objection_closed")
@blp.alt_response(413, **_CONFLICT, description="evidence_too_large（单个文件超过10MB）")
@blp.alt_response(415, **_CONFLICT, description="unsupported_media_type")
@blp.alt_response(422, **_CONFLICT, description="evidence_type_not_allowed / too_many_evidence_files / validation_failed")
def add_objection_evidence(objection_id: str):
    """为复核中的异议补充证明材料（multipart，第十条）。"""
    return _add_evidence("objection", objection_id)


@blp.route("/objections/<objection_id>/evidence", methods=["GET"])
@require(access.CASE_READ)
@blp.response(200, description="该异议的证明材料（不含内容）", schema=EvidenceListSchema)
@blp.alt_response(404, **_CONFLICT, description="objection_not_found")
def list_objection_evidence(objection_id: str):
    """一件异议的证明材料清单。"""
    return _list_evidence("objection", objection_id)


@blp.route("/repairs/<repair_id>/evidence", methods=["POST"])
@require(access.CASE_FILE)
@blp.doc(requestBody=_EVIDENCE_BODY)
@blp.response(201, description="已接收的证明材料（类型按内容判断，附 SHA-256）", schema=EvidenceListSchema)
@blp.alt_response(404, **_CONFLICT, description="repair_not_found")
@blp.alt_response(409, **_CONFLICT, description="repair_decided")
@blp.alt_response(413, **_CONFLICT, description="evidence_too_large（单个文件超过10MB）")
@blp.alt_response(415, **_CONFLICT, description="unsupported_media_type")
@blp.alt_response(422, **_CONFLICT, description="evidence_type_not_allowed / too_many_evidence_files / validation_failed")
def add_repair_evidence(repair_id: str):
    """为待答复的信用修复申请补充证明材料（multipart，第十一条、第十二条）。"""
    return _add_evidence("repair", repair_id)


@blp.route("/repairs/<repair_id>/evidence", methods=["GET"])
@require(access.CASE_READ)
@blp.response(200, description="该信用修复申请的证明材料（不含内容）", schema=EvidenceListSchema)
@blp.alt_response(404, **_CONFLICT, description="repair_not_found")
def list_repair_evidence(repair_id: str):
    """一件信用修复申请的证明材料清单。"""
    return _list_evidence("repair", repair_id)


@blp.route("/evidence/<file_id>", methods=["GET"])
@require(access.CASE_READ)
@blp.response(200, description="文件内容（Content-Type 为按内容判断的类型；X-Content-SHA256 为其 SHA-256）",
              content_type="application/octet-stream")
@blp.alt_response(404, **_CONFLICT, description="evidence_not_found")
def download_evidence(file_id: str):
    """下载一个证明材料文件：本人、作出措施的统筹区经办人员、管理员。"""
    row = evidence_service.evidence_file(_c().uow(), g.principal, file_id)
    return evidence_download(row)
