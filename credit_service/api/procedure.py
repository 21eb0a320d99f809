"""Notices, objections and credit repair (Arts 10–12): thin views over services.procedure."""
from __future__ import annotations

import orjson
from flask import Response, current_app, g

from schemas.problems import PROBLEM, ProblemSchema
from schemas.procedure import (EvidenceCompleteRequestSchema, NoticeRequestSchema, NoticeSchema,
                               ObjectionDecisionRequestSchema, ObjectionDecisionSchema, ObjectionRequestSchema,
                               ObjectionSchema, RepairDecisionRequestSchema, RepairRequestSchema, RepairSchema)

from ..adapters.orm import ViolationRow
from ..adapters.subjects import reveal_one
from ..services import procedure as service
from ..services.measure_records import get_measure, measure_header, notice_of
from .auth import check_case_file, enters_paper_filings, require, sees_full_id
from .notice_page import NOTICE_CSP, render_notice
from .serializers import measure_row_json, notice_json, objection_json, repair_json
from .request_body import Blueprint

blp = Blueprint("procedure", __name__, url_prefix="/api/v1",
                description="信用结果告知、异议与复核、信用修复（第十条至第十二条）")
STAFF = ("staff", "admin")
_CONFLICT = {"schema": ProblemSchema, "content_type": PROBLEM}


def _c():
    return current_app.extensions["credit_service"]


def _json(body: dict, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status=status, mimetype="application/json")


def _number(c, subject_type: str, subject_key: str) -> str:
    """The identity number behind a stored lookup key (opened from `subjects`)."""
    with c.session_factory() as session:
        return reveal_one(session, c.keys, subject_key)


def _check_case_file(subject_type: str, subject_key: str, region: str) -> None:
    check_case_file(g.principal, subject_type, subject_key, region)


@blp.route("/measures/<measure_id>/notice", methods=["POST"])
@require(*STAFF)
@blp.arguments(NoticeRequestSchema)
@blp.response(201, NoticeSchema, description="已登记送达；objection_deadline = 签收后第15个工作日")
@blp.alt_response(404, **_CONFLICT, description="measure_not_found")
@blp.alt_response(409, **_CONFLICT, description="notice_exists / measure_revoked")
@blp.alt_response(422, **_CONFLICT, description="received_before_served / received_in_future / validation_failed")
def serve_notice(data, measure_id: str):
    """登记信用结果告知书的送达与签收，计算异议期限（第十条）。"""
    c = _c()
    _check_case_file(*measure_header(c.session_factory, measure_id))
    notice = service.serve_notice(c.workflow(), g.principal.name, measure_id, data["served_on"], data["received_on"])
    return _json(notice_json(notice), 201)


@blp.route("/measures/<measure_id>/notice", methods=["GET"])
@require("staff", "admin", "person")
@blp.response(200, description="可打印的信用结果告知书（HTML）", content_type="text/html")
@blp.alt_response(404, **_CONFLICT, description="measure_not_found")
def print_notice(measure_id: str):
    """可打印的中文信用结果告知书（一页）。"""
    c = _c()
    _check_case_file(*measure_header(c.session_factory, measure_id))
    with c.session_factory() as session:
        measure = get_measure(session, measure_id)
        notice = notice_of(session, measure_id)
        violation = session.get(ViolationRow, measure.violation_id)
        number = reveal_one(session, c.keys, measure.id_number)
        html = render_notice(measure, violation, notice, c.rules, c.clock.today(), number)
    return Response(html, mimetype="text/html", headers={"Content-Security-Policy": NOTICE_CSP})


@blp.route("/objections", methods=["POST"])
@require("staff", "admin", "person")
@blp.arguments(ObjectionRequestSchema)
@blp.response(201, ObjectionSchema)
@blp.alt_response(409, **_CONFLICT, description="objection_open / measure_revoked")
@blp.alt_response(422, **_CONFLICT, description="objection_window_closed（detail 写明期限）/ filed_on_not_today / "
                                                 "filed_in_future / validation_failed")
def file_objection(data):
    """提出异议申请（第十条：收到告知书15个工作日内，书面并附证明材料）。"""
    c = _c()
    _check_case_file(*measure_header(c.session_factory, data["measure_id"]))
    objection = service.file_objection(c.workflow(), g.principal.name, data["measure_id"], data["filed_on"],
                                       data["reason"], data["evidence"], enters_paper_filings(g.principal))
    number = _number(c, objection.subject_type, objection.id_number)
    return _json(objection_json(objection, number, sees_full_id(g.principal), c.clock.today()), 201)


@blp.route("/objections/<objection_id>", methods=["GET"])
@require("staff", "admin", "person")
@blp.response(200, ObjectionSchema)
def get_objection(objection_id: str):
    """一件异议申请及其复核情况。"""
    c = _c()
    with c.session_factory() as session:
        objection = service.get_objection(session, objection_id)
    _check_case_file(objection.subject_type, objection.id_number, objection.region)
    number = _number(c, objection.subject_type, objection.id_number)
    return _json(objection_json(objection, number, sees_full_id(g.principal), c.clock.today()))


@blp.route("/objections/<objection_id>/evidence-complete", methods=["POST"])
@require(*STAFF)
@blp.arguments(EvidenceCompleteRequestSchema)
@blp.response(200, ObjectionSchema, description="复核期限自材料补齐次日重新起算")
@blp.alt_response(409, **_CONFLICT, description="evidence_already_complete / objection_closed")
@blp.alt_response(422, **_CONFLICT, description="evidence_date_out_of_range（须在提出日期与今天之间）/ validation_failed")
def evidence_complete(data, objection_id: str):
    """登记证明材料补齐之日（复核期限重新起算）。"""
    c = _c()
    _check_case_file(*service.objection_header(c.session_factory, objection_id))
    objection = service.record_evidence_complete(c.workflow(), g.principal.name, objection_id, data["on"])
    number = _number(c, objection.subject_type, objection.id_number)
    return _json(objection_json(objection, number, True, c.clock.today()))


@blp.route("/objections/<objection_id>/decision", methods=["POST"])
@require(*STAFF)
@blp.arguments(ObjectionDecisionRequestSchema)
@blp.response(200, ObjectionDecisionSchema)
@blp.alt_response(409, **_CONFLICT, description="objection_closed")
@blp.alt_response(422, **_CONFLICT, description="decided_before_filed / decided_in_future / fund_loss_required / "
                                                 "fund_loss_not_allowed / validation_failed")
def decide_objection(data, objection_id: str):
    """复核决定：upheld 撤销措施并重算本年度；modified 按更正金额重算；rejected 维持。"""
    c = _c()
    _check_case_file(*service.objection_header(c.session_factory, objection_id))
    result = service.decide_objection(c.workflow(), g.principal.name, objection_id, data["outcome"],
                                      data["decided_on"], data["reason"], data["fund_loss"])
    if result.revoked or result.created:
        c.index.refresh([result.subject])
    today = c.clock.today()
    number = _number(c, result.objection.subject_type, result.objection.id_number)
    return _json({"objection": objection_json(result.objection, number, True, today),
                  "revoked_measures": [measure_row_json(m, today) for m in result.revoked],
                  "new_measures": [measure_row_json(m, today) for m in result.created]})


@blp.route("/repairs", methods=["POST"])
@require("staff", "admin", "person")
@blp.arguments(RepairRequestSchema)
@blp.response(201, RepairSchema, description="reply_due_on = 申请后第15个工作日（第十一条）")
@blp.alt_response(409, **_CONFLICT, description="repair_open / measure_revoked / credit_restored")
@blp.alt_response(422, **_CONFLICT, description="filed_on_not_today / filed_in_future / measure_not_of_subject / "
                                                 "invalid_id_number / validation_failed")
def file_repair(data):
    """信用修复申请：纠正失信行为、消除不良影响、修复承诺及证明材料（第十一条、第十二条）。"""
    c = _c()
    subject = (data["subject_type"], c.keys.lookup_key(data["subject_type"], data["id_number"]))
    _, _, region = measure_header(c.session_factory, data["measure_id"])
    _check_case_file(*subject, region)  # the service checks that the measure is this subject's
    repair = service.file_repair(c.workflow(), g.principal.name, data["measure_id"], subject, data["filed_on"],
                                 data["corrected"], data["adverse_effects_removed"], data["commitment"],
                                 data["evidence"], enters_paper_filings(g.principal))
    return _json(repair_json(repair, data["id_number"], sees_full_id(g.principal), c.clock.today()), 201)


@blp.route("/repairs/<repair_id>", methods=["GET"])
@require("staff", "admin", "person")
@blp.response(200, RepairSchema)
def get_repair(repair_id: str):
    """一件信用修复申请及其答复。"""
    c = _c()
    with c.session_factory() as session:
        repair = service.get_repair(session, repair_id)
        restored = get_measure(session, repair.measure_id).credit_state == "restored"
    _check_case_file(repair.subject_type, repair.id_number, repair.region)
    number = _number(c, repair.subject_type, repair.id_number)
    return _json(repair_json(repair, number, sees_full_id(g.principal), c.clock.today(), restored))


@blp.route("/repairs/<repair_id>/decision", methods=["POST"])
@require(*STAFF)
@blp.arguments(RepairDecisionRequestSchema)
@blp.response(200, RepairSchema)
@blp.alt_response(409, **_CONFLICT, description="repair_decided")
@blp.alt_response(422, **_CONFLICT, description="repair_conditions_incomplete / decided_before_filed / "
                                                 "decided_in_future / validation_failed")
def decide_repair(data, repair_id: str):
    """核准或驳回信用修复申请；措施已期满而待修复的，核准即修复。"""
    c = _c()
    _check_case_file(*service.repair_header(c.session_factory, repair_id))
    result = service.decide_repair(c.workflow(), g.principal.name, repair_id, data["outcome"], data["decided_on"],
                                   data["reason"])
    if result.restored:
        c.index.refresh([(result.repair.subject_type, result.repair.id_number)])
    number = _number(c, result.repair.subject_type, result.repair.id_number)
    return _json(repair_json(result.repair, number, True, c.clock.today(), result.measure.credit_state == "restored"))
