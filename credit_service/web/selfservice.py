"""The self-service pages (参保人自助) under /me/: real-name login over OpenID Connect, and the pages of
issue 12. The session is bound to one subject, by its lookup key; the number itself is never kept
in the session nor put in a URL.

Every page calls the same use cases as the API with the person's principal (services/people.py gathers
them for one person; the access policy decides, here nothing is checked a second time); every page,
letter and file the person opens, and every filing, is audited with the person as the actor."""
from __future__ import annotations

import logging
from urllib.parse import quote

from flask import Blueprint, Response, abort, current_app, g, redirect, request, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..api.problems import as_problem
from ..api.procedure import EVIDENCE_REQUEST_MAX_BYTES
from ..api.procedure import evidence_download as file_response
from ..documents import render_pdf
from ..domain import evidence as evidence_rules
from ..domain.errors import RuleRefusal
from ..domain.identity import SUBJECT_TYPES, id_number_problem, mask_id_number, normalise_id_number
from ..services import evidence, letters, people, procedure
from ..services.errors import ServiceError
from ..services.people import person_signed_in
from ..services.record_queries import year_record
from .auth import person_page, person_principal, protect_forms, web_session
from .console import error_page
from .forms import ObjectionForm, RepairForm
from .oidc import SignInRefused
from .pages import SUBJECT_NAMES, render_page

log = logging.getLogger(__name__)

bp = Blueprint("selfservice", __name__, url_prefix="/me")


@bp.before_request
def _limits_then_csrf():
    if request.endpoint in ("selfservice.file_objection", "selfservice.file_repair"):
        request.max_content_length = EVIDENCE_REQUEST_MAX_BYTES  # before the CSRF check reads the form
    protect_forms()


def _web():
    return current_app.extensions["credit_service_web"]


def _c():
    return _web().container


@bp.before_request
def _viewer():
    if person_principal() is not None:
        s = web_session()
        g.viewer = {"name": s.get("name") or "", "masked_id": s.get("masked_id", ""),
                    "role": SUBJECT_NAMES.get(s.subject_type, ""), "logout": url_for("selfservice.logout")}


@bp.get("/")
def index():
    if _web().person_oidc is None:
        return render_page("me/not_configured.html", title="自助服务未开通", status=503)
    if person_principal() is None:
        return render_page("me/landing.html", title="实名登录", timed_out=web_session().timed_out)
    return _home()


def _viewed(page: str, entity: str = "subject", entity_id: str | None = None) -> None:
    c = _c()
    people.person_viewed(c.uow(), c.clock, g.principal, page, entity, entity_id)


@person_page
def _home():
    """今天能否结算: the status answer and, for each measure, why and what the person can do."""
    c = _c()
    today = people.today_for(c, c.workflow(), g.principal)
    _viewed("today")
    return render_page("me/index.html", title="我的医保信用", today=today, rules=c.rules,
                       subject_type=g.principal.subject_type)


@bp.get("/record")
@person_page
def record():
    """我的信用记录 by natural year (第七条)."""
    c = _c()
    years = people.record_years(c.uow(), g.principal)
    asked = request.args.get("year", "")
    if asked:
        if not (asked.isdigit() and len(asked) == 4):
            abort(404)
        year = int(asked)
    else:
        year = years[0] if years else c.clock.today().year
    subject_type, number = people.own_number(c.uow(), g.principal)
    found = year_record(c.uow(), g.principal, subject_type, number, year)
    _viewed(f"record {year}")
    return render_page("me/record.html", title=f"{year}年度信用记录", year=year, years=years, record=found,
                       name=web_session().get("name") or "", masked_id=mask_id_number(number),
                       today=c.clock.today(), rules=c.rules)


@bp.get("/applications")
@person_page
def applications():
    """我的申请: objections and repair applications, their state, due date and decision letter."""
    c = _c()
    filings = people.applications(c.uow(), g.principal)
    _viewed("applications")
    return render_page("me/applications.html", title="我的申请", filings=filings, filed=request.args.get("filed"))


def _pdf(issued, filename: str) -> Response:
    return Response(render_pdf(issued.model), mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=\"letter.pdf\"; filename*=UTF-8''{quote(filename)}"})


@bp.get("/measures/<measure_id>/notice.pdf")
@person_page
def notice_pdf(measure_id: str):
    """信用结果告知书 (第十条): the letter the console prints, numbered once (services/letters.py)."""
    return _letter("measure", measure_id, "credit_result_notice", "信用结果告知书.pdf")


@bp.get("/objections/<objection_id>/decision.pdf")
@person_page
def objection_decision_pdf(objection_id: str):
    return _letter("objection", objection_id, "objection_decision", "异议复核决定书.pdf")


@bp.get("/repairs/<repair_id>/reply.pdf")
@person_page
def repair_reply_pdf(repair_id: str):
    return _letter("repair", repair_id, "repair_reply", "信用修复回复书.pdf")


def _letter(what: str, entity_id: str, page: str, filename: str) -> Response:
    """The one letters use case the console prints through too; the person's look is audited."""
    c = _c()
    made = letters.letter(c.uow(), g.principal, _web().documents, c.rules, what, entity_id, c.clock.today(),
                          c.clock.now())
    _viewed(page, what, entity_id)
    return _pdf(made.issued, filename)


@bp.get("/evidence/<file_id>")
@person_page
def evidence_download(file_id: str):
    c = _c()
    row = evidence.evidence_file(c.uow(), g.principal, file_id)
    _viewed("evidence_file", "evidence_file", file_id)
    return file_response(row)


def _measure_today(measure_id: str):
    c = _c()
    today = people.today_for(c, c.workflow(), g.principal)
    found = next((m for m in today.measures if m.measure.id == measure_id), None)
    if found is None:
        abort(404)  # not one of this person's standing measures (another subject's id gives the same)
    return today, found


@bp.get("/measures/<measure_id>/object")
@person_page
def objection_form(measure_id: str):
    """提出异议 (第十条): the form while the window is open; after it, the date it ended."""
    _, item = _measure_today(measure_id)
    form = ObjectionForm(formdata=None, measure_id=measure_id)
    _viewed("objection_form", "measure", measure_id)
    return render_page("me/object.html", title="提出异议", item=item, form=form)


@bp.post("/objections")
@person_page
def file_objection():
    form = ObjectionForm()
    measure_id = (form.measure_id.data or "")[:32]
    if not form.validate():
        _, item = _measure_today(measure_id)
        return render_page("me/object.html", title="提出异议", item=item, form=form, status=422)
    c = _c()
    try:
        filed = procedure.file_objection(c.workflow(), g.principal, measure_id, None, form.reason.data.strip(), [],
                                         _uploads())
    except (ServiceError, RuleRefusal) as error:
        return _refused(error, "me/object.html", "提出异议", form, measure_id)
    return redirect(url_for("selfservice.applications", filed=filed.row.id) + f"#objection-{filed.row.id}", 303)


@bp.get("/measures/<measure_id>/repair")
@person_page
def repair_form(measure_id: str):
    """申请信用修复 (第十一、十二条)."""
    _, item = _measure_today(measure_id)
    form = RepairForm(formdata=None, measure_id=measure_id)
    _viewed("repair_form", "measure", measure_id)
    return render_page("me/repair.html", title="申请信用修复", item=item, form=form)


@bp.post("/repairs")
@person_page
def file_repair():
    form = RepairForm()
    measure_id = (form.measure_id.data or "")[:32]
    if not form.validate():
        _, item = _measure_today(measure_id)
        return render_page("me/repair.html", title="申请信用修复", item=item, form=form, status=422)
    c = _c()
    try:
        subject_type, number = people.own_number(c.uow(), g.principal)
        filed = procedure.file_repair(c.workflow(), g.principal, measure_id, subject_type, number, None,
                                      form.corrected.data, form.adverse_effects_removed.data, form.commitment.data,
                                      [], _uploads())
    except (ServiceError, RuleRefusal) as error:
        return _refused(error, "me/repair.html", "申请信用修复", form, measure_id)
    return redirect(url_for("selfservice.applications", filed=filed.row.id) + f"#repair-{filed.row.id}", 303)


def _uploads() -> list[evidence.Upload]:
    """The chosen files (an empty file input sends one nameless empty part: not a file). Each is read
    to one byte past the limit, so an oversized file is refused without holding more of it."""
    files = []
    for part in request.files.getlist("evidence"):
        content = part.stream.read(evidence_rules.MAX_FILE_BYTES + 1)
        if not part.filename and not content:
            continue
        files.append(evidence.Upload(part.filename, content))
    return files


def _refused(error, template: str, title: str, form, measure_id: str):
    problem = as_problem(error)
    if problem.status in (403, 404):
        abort(problem.status)
    try:
        _, item = _measure_today(measure_id)
    except HTTPException:
        return render_page("error.html", title=title, status=problem.status, message=problem.detail)
    return render_page(template, title=title, item=item, form=form, status=problem.status, message=problem.detail)


@bp.get("/login")
def login():
    client = _web().person_oidc
    if client is None:
        return redirect(url_for("selfservice.index"), 303)
    try:
        return client.redirect(url_for("selfservice.callback", _external=True))
    except SignInRefused as exc:
        log.warning("self-service identity provider unavailable: %s", exc)
        return render_page("me/refused.html", title="暂时无法登录", status=503,
                           message="实名认证服务暂时无法访问，请稍后再试。")


@bp.get("/callback")
def callback():
    web = _web()
    client, settings, c = web.person_oidc, web.container.settings, web.container
    if client is None:
        return redirect(url_for("selfservice.index"), 303)
    try:
        claims = client.claims()
        subject_type, number = _subject(claims, settings)
    except SignInRefused as exc:
        log.warning("self-service sign-in refused: %s", exc)
        return render_page("me/refused.html", title="实名认证未通过", status=401,
                           message="实名认证未通过，未能确认您的身份。请重新登录；如仍不能登录，请联系当地医保经办机构。")
    key = person_signed_in(c.uow(), c.clock, c.keys, subject_type, number)
    name = claims.get(settings.oidc_name_claim)
    web_session().sign_in(subject_type=subject_type, lookup_key=key, data={
        "name": name if isinstance(name, str) else "", "masked_id": mask_id_number(number)})
    return redirect(url_for("selfservice.index"), 303)


def _subject(claims: dict, settings) -> tuple[str, str]:
    """(subject_type, id_number) from the configured claims; refused unless both are well-formed."""
    raw = claims.get(settings.oidc_subject_claim)
    if not isinstance(raw, str):
        raise SignInRefused(f"claim {settings.oidc_subject_claim} missing")
    number = normalise_id_number(raw)
    if id_number_problem(number):
        raise SignInRefused(f"claim {settings.oidc_subject_claim} is not a valid identity number")
    subject_type = "insured"
    if settings.oidc_subject_type_claim:
        subject_type = claims.get(settings.oidc_subject_type_claim)
        if subject_type not in SUBJECT_TYPES:
            raise SignInRefused(f"claim {settings.oidc_subject_type_claim} is not one of {SUBJECT_TYPES}")
    return subject_type, number


@bp.post("/logout")
def logout():
    web_session().end()
    return redirect(url_for("selfservice.index"), 303)


@bp.errorhandler(CSRFError)
def _csrf_error(error):
    return render_page("error.html", title="请求无效", status=400,
                       message="表单已失效或来源不明（缺少安全令牌），未做任何更改。请返回上一页刷新后重新提交。")


@bp.errorhandler(HTTPException)
def _http_error(error):
    return error_page(error)


@bp.errorhandler(ServiceError)
@bp.errorhandler(RuleRefusal)
def _service_error(error):
    """A use case's refusal on a page (another subject's record: 403; a letter not yet issued: 409)."""
    problem = as_problem(error)
    messages = {403: "您只能查看本人的信用信息。", 404: "页面或事项不存在。"}
    return render_page("error.html", title=problem.title, status=problem.status,
                       message=messages.get(problem.status, problem.detail))
