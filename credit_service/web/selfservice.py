"""The self-service pages (参保人自助) under /me/: real-name login over OpenID Connect, and the pages of
issue 12. The session is bound to one subject, by its lookup key; the number itself is never kept
in the session nor put in a URL."""
from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, redirect, url_for
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..domain.identity import SUBJECT_TYPES, id_number_problem, mask_id_number, normalise_id_number
from ..services.people import person_signed_in
from .auth import person_page, person_principal, protect_forms, web_session
from .console import error_page
from .oidc import SignInRefused
from .pages import SUBJECT_NAMES, render_page

log = logging.getLogger(__name__)

bp = Blueprint("selfservice", __name__, url_prefix="/me")
bp.before_request(protect_forms)


def _web():
    return current_app.extensions["credit_service_web"]


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


@person_page
def _home():
    # Today's status and the record come with the use cases of issue 10; this page proves the door.
    return render_page("me/index.html", title="我的医保信用")


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
    web_session().sign_in(subject_type=subject_type, subject_key=key, data={
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
