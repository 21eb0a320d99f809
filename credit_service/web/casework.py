"""The console's casework (issue 11): the worklist, the subject search, the case page, its actions
and the letters as PDF.

A handler here parses its form, names `g.principal` and calls ONE use case — the one the token API
calls for the same thing (services/record_queries.py, services/procedure.py, services/intake.py,
services/letters.py). Rules, role checks and queries live there; what an action would change is
computed by the use case itself (a dry run rolled back) and shown before it is confirmed.
"""
from __future__ import annotations

from datetime import date
from functools import wraps

from flask import Response, abort, current_app, g, redirect, request, url_for

from ..api.notice_page import _KIND, _STATE
from ..api.problems import as_problem
from ..documents import render_pdf
from ..domain.errors import RuleRefusal
from ..domain.identity import id_number_problem, normalise_id_number
from ..domain.money import MoneyError, parse_yuan
from ..domain.status import measure_state
from ..services import access, audit_query, evidence, intake, letters, procedure, qualification, record_queries
from ..services.errors import Forbidden, NotFound, ServiceError, invalid_fields
from credit_service.schemas.violation_rows import parse_violation
from .auth import staff_page
from .console import bp
from .forms import (HANDLINGS, OBJECTION_OUTCOMES, REPAIR_OUTCOMES, EvidenceCompleteForm, NoticeForm,
                    ObjectionDecisionForm, PaperObjectionForm, PaperRepairForm, RepairDecisionForm, ReregistrationForm, SearchForm,
                    ViolationForm)
from .pages import SUBJECT_NAMES, region_name, render_page

PAGE_SIZE = 50
KIND_NAMES = {"objection_review": "异议复核", "repair_reply": "信用修复答复", "objection_window": "异议期"}
MEASURE_KINDS = _KIND  # the words the printed notice and the letters use
STATES = _STATE
OUTCOMES = {"upheld": "异议成立", "modified": "异议部分成立", "rejected": "异议不成立", "approved": "同意修复"}
DONE = {"violation": "已记录违约违法信息。", "notice": "已登记告知书送达。", "objection": "已登记纸质异议申请。",
        "repair": "已登记纸质信用修复申请。", "evidence": "已登记材料补齐，复核期限已重新起算。",
        "objection_decided": "已作出复核决定。", "repair_decided": "已答复信用修复申请。",
        "reregistered": "已登记重新登记备案，医保支付资格自备案之日起恢复正常。"}


def _c():
    return current_app.extensions["credit_service"]


def _documents():
    return current_app.extensions["credit_service_web"].documents


def casework(view):
    """A signed-in console user; the use cases' refusals become pages: another region's or an unknown
    case → 403/404 (nothing written: the use case refused before writing), a rule → the reason."""
    @staff_page
    @wraps(view)
    def wrapper(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Forbidden:
            abort(403)
        except NotFound:
            abort(404)
        except (ServiceError, RuleRefusal) as refusal:
            error = as_problem(refusal)  # the API's one table of codes → statuses
            back = request.referrer if request.referrer and request.referrer.startswith(request.host_url) else None
            return render_page("console/refused.html", title="未能办理", status=error.status, detail=error.detail,
                               errors=error.errors or {}, back=back)
    return wrapper


# -- 工作台 ----------------------------------------------------------------------------------------

@bp.get("/worklist")
@casework
def worklist():
    """The region's open work, soonest due first, in pages of PAGE_SIZE with the total."""
    c = _c()
    args = request.args
    kind = args.get("kind") or None
    due_before = _day(args.get("due_before"), "due_before") if args.get("due_before") else None
    page = _page_number(args.get("page", "1"))
    result = record_queries.worklist(c.uow(), g.principal, c.clock.today(), None, due_before, limit=PAGE_SIZE,
                                     offset=(page - 1) * PAGE_SIZE, kinds=(kind,) if kind else None,
                                     calendar=c.current_calendar())
    pages = max(1, -(-result.total // PAGE_SIZE))
    return render_page("console/worklist.html", title="工作台", work=result, page=page, pages=pages,
                       kind=kind or "", due_before=args.get("due_before") or "", kind_names=KIND_NAMES,
                       subject_names=SUBJECT_NAMES, search=SearchForm(formdata=None), today=c.clock.today())


def _page_number(value: str) -> int:
    if not (value.isascii() and value.isdigit() and 0 < len(value) <= 6) or int(value) < 1:
        abort(404)
    return int(value)


def _day(value: str | None, name: str) -> date:
    try:
        return date.fromisoformat(value or "")
    except ValueError:
        raise invalid_fields({name: ["日期格式应为YYYY-MM-DD。"]}) from None


# -- 查询信用主体 ----------------------------------------------------------------------------------

@bp.route("/search", methods=["GET", "POST"])
@casework
def search():
    """POST subject_type + id_number → 303 to /console/subjects/{opaque id}: the number is never in a URL."""
    form = SearchForm()
    if request.method == "GET":
        return render_page("console/search.html", title="查询信用主体", form=SearchForm(formdata=None))
    number = normalise_id_number(form.id_number.data or "")
    if not form.validate() or (problem := id_number_problem(number)):
        form.id_number.errors = list(form.id_number.errors) or [problem if form.id_number.data else "请填写身份证号码。"]
        form.id_number.data = ""
        return render_page("console/search.html", title="查询信用主体", form=form, status=422)
    key = record_queries.find_subject(_c().uow(), g.principal, form.subject_type.data, number)
    if key is None:
        return render_page("console/search.html", title="查询信用主体", form=SearchForm(formdata=None),
                           message="未找到该信用主体的违约违法记录。")
    return redirect(url_for("console.subject", subject_id=key), 303)


# -- 案卷 ------------------------------------------------------------------------------------------

@bp.get("/subjects/<subject_id>")
@casework
def subject(subject_id: str):
    """The natural-year record of the subject (第七条) and what the principal may do about it."""
    c = _c()
    today = c.clock.today()
    subject_type, number = record_queries.subject_of(c.uow(), g.principal, subject_id)
    year_arg = request.args.get("year")
    if year_arg is None:
        year = today.year
    elif year_arg.isascii() and year_arg.isdigit() and len(year_arg) == 4 and not c.dates.year_problem(int(year_arg), today):
        year = int(year_arg)
    else:
        abort(404)
    record = record_queries.year_record(c.uow(), g.principal, subject_type, number, year)
    trail = audit_query.audit_events(c.uow(), g.principal, subject_type=subject_type, id_number=number)["events"]
    names = [v.name for v in record.violations if v.name]
    may_decide = access.may(g.principal, access.CASE_DECIDE)
    files = {(kind, row.id): evidence.evidence_of(c.uow(), g.principal, kind, row.id)  # 证明材料 (issue 12)
             for kind, rows in (("objection", record.objections), ("repair", record.repairs)) for row in rows}
    return render_page(
        "console/case.html", title="信用主体案卷", subject_id=subject_id, subject_type=subject_type,
        subject_word=SUBJECT_NAMES.get(subject_type, subject_type), number=number, name=names[-1] if names else "",
        year=year, years=list(range(today.year, today.year - 6, -1)), record=record, today=today,
        timeline=_timeline(record, today), trail=list(reversed(trail))[:200], done=DONE.get(request.args.get("done")),
        may_write=access.may(g.principal, access.VIOLATION_WRITE), may_file=access.may(g.principal, access.PAPER_FILING),
        may_decide=may_decide, region_label=region_name(record.scope_region),
        default_region=g.principal.region or "",
        forms={"violation": ViolationForm(formdata=None, region=g.principal.region or "", occurred_on=None),
               "notice": NoticeForm(formdata=None), "objection": PaperObjectionForm(formdata=None),
               "repair": PaperRepairForm(formdata=None), "evidence": EvidenceCompleteForm(formdata=None),
               "objection_decision": ObjectionDecisionForm(formdata=None),
               "repair_decision": RepairDecisionForm(formdata=None),
               "reregistration": ReregistrationForm(formdata=None)},
        measure_kinds=MEASURE_KINDS, states=STATES, outcomes=OUTCOMES, handlings=HANDLINGS,
        objection_outcomes=OBJECTION_OUTCOMES, repair_outcomes=REPAIR_OUTCOMES, evidence=files)


def _timeline(record, today: date) -> list[dict]:
    """Each measure with what happened to it, in the order of its start (what the page shows)."""
    out = []
    for m in record.measures:
        events = [(m.starts_on, f"措施起始（{m.article}）")]
        if m.restores_on:
            events.append((m.restores_on, "措施期满"))
        for n in record.notices:
            if n.measure_id == m.id:
                events.append((n.received_on, f"告知书签收，异议期限至{n.objection_deadline}"
                                              f"{'（暂定）' if n.deadline_provisional else ''}"))
        for o in record.objections:
            if o.measure_id == m.id:
                events.append((o.filed_on, f"提出异议{'（纸质，经办录入）' if o.filed_on_entered else ''}"))
                if o.decided_on:
                    events.append((o.decided_on, f"复核决定：{OUTCOMES.get(o.outcome, o.outcome)}"))
        for r in record.repairs:
            if r.measure_id == m.id:
                events.append((r.filed_on, "申请信用修复"))
                if r.decided_on:
                    events.append((r.decided_on, f"修复答复：{'同意' if r.state == 'approved' else '暂不予修复'}"))
        if m.revoked_on:
            events.append((m.revoked_on, "措施撤销（异议复核后重新认定）"))
        if m.credit_restored_on:
            events.append((m.credit_restored_on, "信用修复"))
        out.append({"measure": m, "state": measure_state(m.starts_on, m.restores_on, m.revoked_on is not None, today),
                    "events": sorted(events, key=lambda e: e[0]),
                    "notice": next((n for n in record.notices if n.measure_id == m.id), None),
                    "objections": [o for o in record.objections if o.measure_id == m.id],
                    "repairs": [r for r in record.repairs if r.measure_id == m.id]})
    return out


def _back(subject_id: str, done: str):
    return redirect(url_for("console.subject", subject_id=subject_id, done=done), 303)


def _invalid(form):
    return invalid_fields({name: list(errors) for name, errors in form.errors.items()}, "表单未填写完整")


def _lines(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


# -- 操作：each the API's use case ---------------------------------------------------------------

@bp.post("/subjects/<subject_id>/violations")
@casework
def record_violation(subject_id: str):
    """Like POST /api/v1/violations: the same row parser and the same intake use case."""
    c = _c()
    subject_type, number = record_queries.subject_of(c.uow(), g.principal, subject_id)
    form = ViolationForm()
    if not form.validate():
        raise _invalid(form)
    raw = {"source": "console", "source_ref": form.source_ref.data, "region": form.region.data,
           "subject": {"subject_type": subject_type, "id_number": number,
                       **({"name": form.name.data} if form.name.data else {})},
           "occurred_on": form.occurred_on.data.isoformat(), "determined_on": form.determined_on.data.isoformat(),
           "fund_loss": form.fund_loss.data, "handling": form.handling.data, "fraud": bool(form.fraud.data),
           "description": form.description.data or ""}
    if form.points.data:
        raw["points"] = int(form.points.data) if form.points.data.isdigit() else form.points.data
    row, errors = parse_violation(raw)
    outcomes, _ = intake.record_violations(c.uow(), g.principal, [row if row is not None else invalid_fields(errors)],
                                           c.rules, c.clock, dates=c.dates)
    if outcomes[0].error is not None:
        raise outcomes[0].error
    return _back(subject_id, "violation")


@bp.post("/subjects/<subject_id>/measures/<measure_id>/notice")
@casework
def serve_notice(subject_id: str, measure_id: str):
    form = NoticeForm()
    if not form.validate():
        raise _invalid(form)
    procedure.serve_notice(_c().workflow(), g.principal, measure_id, form.served_on.data, form.received_on.data)
    return _back(subject_id, "notice")


@bp.post("/subjects/<subject_id>/measures/<measure_id>/objections")
@casework
def paper_objection(subject_id: str, measure_id: str):
    """An objection that came on paper: dated by its receipt, audited as entered by this user."""
    form = PaperObjectionForm()
    if not form.validate():
        raise _invalid(form)
    procedure.file_objection(_c().workflow(), g.principal, measure_id, form.filed_on.data, form.reason.data,
                             _lines(form.evidence.data))
    return _back(subject_id, "objection")


@bp.post("/subjects/<subject_id>/measures/<measure_id>/repairs")
@casework
def paper_repair(subject_id: str, measure_id: str):
    c = _c()
    form = PaperRepairForm()
    if not form.validate():
        raise _invalid(form)
    subject_type, number = record_queries.subject_of(c.uow(), g.principal, subject_id)
    procedure.file_repair(c.workflow(), g.principal, measure_id, subject_type, number, form.filed_on.data,
                          bool(form.corrected.data), bool(form.adverse_effects_removed.data),
                          bool(form.commitment.data), _lines(form.evidence.data))
    return _back(subject_id, "repair")


@bp.post("/subjects/<subject_id>/measures/<measure_id>/reregistration")
@casework
def reregistration(subject_id: str, measure_id: str):
    """重新登记备案 after a terminated qualification's bar: the API's use case (refused before the bar ends)."""
    form = ReregistrationForm()
    if not form.validate():
        raise _invalid(form)
    qualification.record_reregistration(_c().workflow(), g.principal, measure_id, form.registered_on.data,
                                        form.note.data or "")
    return _back(subject_id, "reregistered")


@bp.post("/subjects/<subject_id>/objections/<objection_id>/evidence-complete")
@casework
def evidence_complete(subject_id: str, objection_id: str):
    form = EvidenceCompleteForm()
    if not form.validate():
        raise _invalid(form)
    procedure.record_evidence_complete(_c().workflow(), g.principal, objection_id, form.on.data)
    return _back(subject_id, "evidence")


@bp.post("/subjects/<subject_id>/objections/<objection_id>/decision")
@casework
def decide_objection(subject_id: str, objection_id: str):
    """First post: the decision computed and rolled back, its consequences shown; `confirm=yes`: decided."""
    form = ObjectionDecisionForm()
    if not form.validate():
        raise _invalid(form)
    fund_loss = None
    if form.fund_loss.data:
        try:
            fund_loss = parse_yuan(form.fund_loss.data)
        except MoneyError as exc:
            raise invalid_fields({"fund_loss": [str(exc)]}) from None
    confirmed = form.confirm.data == "yes"
    result = procedure.decide_objection(_c().workflow(), g.principal, objection_id, form.outcome.data,
                                        form.decided_on.data, form.reason.data, fund_loss, dry_run=not confirmed)
    if confirmed:
        return _back(subject_id, "objection_decided")
    return render_page("console/confirm_objection.html", title="确认复核决定", form=form, subject_id=subject_id,
                       objection_id=objection_id, result=result, outcome=OUTCOMES.get(form.outcome.data),
                       measure_kinds=MEASURE_KINDS)


@bp.post("/subjects/<subject_id>/repairs/<repair_id>/decision")
@casework
def decide_repair(subject_id: str, repair_id: str):
    """As decide_objection: preview (dry run), then `confirm=yes`."""
    form = RepairDecisionForm()
    if not form.validate():
        raise _invalid(form)
    confirmed = form.confirm.data == "yes"
    result = procedure.decide_repair(_c().workflow(), g.principal, repair_id, form.outcome.data,
                                     form.decided_on.data, form.reason.data, dry_run=not confirmed)
    if confirmed:
        return _back(subject_id, "repair_decided")
    return render_page("console/confirm_repair.html", title="确认修复答复", form=form, subject_id=subject_id,
                       repair_id=repair_id, result=result, measure_kinds=MEASURE_KINDS)


# -- 文书（PDF）------------------------------------------------------------------------------------

@bp.get("/measures/<entity_id>/notice.pdf")
@casework
def notice_pdf(entity_id: str):
    return _pdf("measure", entity_id)


@bp.get("/objections/<entity_id>/decision.pdf")
@casework
def decision_pdf(entity_id: str):
    return _pdf("objection", entity_id)


@bp.get("/repairs/<entity_id>/reply.pdf")
@casework
def reply_pdf(entity_id: str):
    return _pdf("repair", entity_id)


def _pdf(what: str, entity_id: str) -> Response:
    c = _c()
    made = letters.letter(c.uow(), g.principal, _documents(), c.rules, what, entity_id, c.clock.today(),
                          c.clock.now())  # not decided / no letterhead: a Conflict, the refused page (409)
    return Response(render_pdf(made.issued.model), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{made.filename}"'})

