"""The staff console (经办工作台) under /console/: sign-in, sign-out and the pages of issue 11."""
from __future__ import annotations

import json
import logging
import time

from flask import Blueprint, Response, abort, current_app, g, redirect, request, url_for
from flask_wtf.csrf import CSRFError
from markupsafe import Markup
from werkzeug.exceptions import HTTPException

from ..domain.reports import PROVINCE_ALL
from ..services import access, reports, staff_accounts
from ..services.errors import Forbidden, Invalid
from .auth import protect_forms, staff_page, staff_principal, web_session
from .charts import report_charts
from .forms import LoginForm, OtpForm
from .oidc import SignInRefused, staff_role
from .pages import ROLE_NAMES, region_name, render_page

log = logging.getLogger(__name__)

bp = Blueprint("console", __name__, url_prefix="/console")
bp.before_request(protect_forms)

OTP_PENDING_SECONDS = 300
_REFUSED = "用户名、密码或动态口令不正确。"
_LOCKED = (f"登录失败次数过多，请{int(staff_accounts.LOCKOUT_WINDOW.total_seconds() // 60)}分钟后再试；"
           "如忘记密码请联系系统管理员。")


def _web():
    return current_app.extensions["credit_service_web"]


@bp.before_request
def _viewer():
    principal = staff_principal()
    if principal is not None:
        user = web_session().user
        g.viewer = {"name": user.display_name, "username": user.username, "role": ROLE_NAMES[user.role],
                    "region": region_name(user.region), "logout": url_for("console.logout")}


@bp.get("/")
def home():
    return redirect(url_for("console.worklist"), 303)


@bp.route("/login", methods=["GET", "POST"])
def login():
    session = web_session()
    if staff_principal() is not None:
        return redirect(url_for("console.worklist"), 303)
    web = _web()
    pending = session.get("otp_pending")
    if pending and time.time() - pending["at"] > OTP_PENDING_SECONDS:
        session.pop("otp_pending")
        pending = None
    if request.method == "POST" and "username" not in request.form and pending:
        return _second_factor(pending["username"])
    form = LoginForm()
    message = "登录已超时或已退出，请重新登录。" if session.timed_out else None
    if request.method == "POST":
        if not form.validate():
            return _login_page(form, "请填写用户名和密码。", 422)
        c = web.container
        result = staff_accounts.sign_in(c.uow(), c.clock, c.keys, form.username.data, form.password.data,
                                        form.otp.data or None)
        if result.outcome == "otp_required":
            session["otp_pending"] = {"username": result.user.username, "at": time.time()}
            return render_page("console/otp.html", title="动态口令", form=OtpForm())
        if result.outcome != "ok":
            return _login_page(form, _LOCKED if result.outcome == "locked" else _REFUSED, 401)
        return _signed_in(result.user)
    return _login_page(form, message)


def _login_page(form, message, status=200):
    form.password.data = None
    return render_page("console/login.html", title="登录", form=form, message=message, status=status,
                       message_kind="error" if status >= 400 else "info", sso=_web().staff_oidc is not None)


def _second_factor(username: str):
    form = OtpForm()
    if not form.validate():
        return render_page("console/otp.html", title="动态口令", form=form, message="请填写动态口令。", status=422)
    c = _web().container
    result = staff_accounts.second_factor(c.uow(), c.clock, c.keys, username, form.otp.data)
    if result.outcome != "ok":
        web_session().pop("otp_pending", None)
        return _login_page(LoginForm(formdata=None), _LOCKED if result.outcome == "locked" else _REFUSED, 401)
    return _signed_in(result.user)


def _signed_in(user):
    web_session().sign_in(user_id=user.id)
    _web().sessions.purge_expired()
    return redirect(url_for("console.worklist"), 303)


@bp.post("/logout")
def logout():
    web_session().end()
    return redirect(url_for("console.login"), 303)


@bp.get("/sso")
def sso():
    client = _web().staff_oidc
    if client is None:
        return redirect(url_for("console.login"), 303)
    try:
        return client.redirect(url_for("console.sso_callback", _external=True))
    except SignInRefused as exc:
        log.warning("staff single sign-on unavailable: %s", exc)
        return _login_page(LoginForm(formdata=None), "统一身份认证暂不可用，请稍后再试或使用本地账户登录。", 503)


@bp.get("/sso/callback")
def sso_callback():
    web = _web()
    client, settings, c = web.staff_oidc, web.container.settings, web.container
    if client is None:
        return redirect(url_for("console.login"), 303)
    try:
        claims = client.claims()
        role = staff_role(claims, settings.staff_oidc_role_claim, web.staff_role_map)
        region = claims.get(settings.staff_oidc_region_claim)
        username = claims.get(settings.staff_oidc_username_claim)
        if role is None or not isinstance(username, str) or (region is not None and not isinstance(region, str)):
            raise SignInRefused("no mapped role, or no user name")
        user = staff_accounts.sso_user(c.uow(), c.clock, f"{client.provider.issuer} {claims['sub']}", username,
                                       str(claims.get(settings.staff_oidc_name_claim) or username), role,
                                       region or None)
        if user is None:
            raise SignInRefused("account disabled, or its user name belongs to a local account")
    except SignInRefused as exc:
        log.warning("staff single sign-on refused: %s", exc)
        return _login_page(LoginForm(formdata=None), "统一身份认证未通过，或该身份未获得本系统的角色和统筹区。", 401)
    except Exception as exc:  # e.g. the role claim maps to staff but no region came: fail closed
        log.warning("staff single sign-on refused: %s", type(exc).__name__)
        return _login_page(LoginForm(formdata=None), "统一身份认证未通过，或该身份未获得本系统的角色和统筹区。", 401)
    return _signed_in(user)


@bp.get("/reports/monthly")
@staff_page
def monthly_report():
    """月度统计报表: the table of GET /api/v1/reports/monthly with its charts, and the same file downloads."""
    c = _web().container
    fmt = request.args.get("format", "html")
    if fmt not in ("html", *reports.FORMATS):
        abort(404)
    try:
        month = reports.month_asked(request.args.get("month") or None, c.clock.today())
        region = reports.region_asked(request.args.get("region") or None)  # the form's empty field: the province
        report = reports.monthly_report(c.uow(), g.principal, region, month, "json" if fmt == "html" else fmt,
                                        rules=c.rules, clock=c.clock)
    except Forbidden:
        abort(403)
    except Invalid as error:
        return render_page("error.html", title="无法生成报表", status=422, message=error.detail)
    if fmt != "html":
        return Response(report.content, headers={"Content-Type": reports.FORMATS[fmt],
                                                 "Content-Disposition": f'attachment; filename="{report.filename}"'})
    body = json.loads(report.content)
    return render_page("console/monthly_report.html", title="月度统计报表", report=body,
                       region_label=region_name(None if body["region"] == PROVINCE_ALL else body["region"]),
                       charts=[Markup(svg) for svg in report_charts(body)],
                       month=str(month), region=request.args.get("region") or "",
                       may_choose_region=access.scope_for(g.principal, access.REPORT_READ) == access.ALL)


@bp.errorhandler(CSRFError)
def _csrf_error(error):
    return render_page("error.html", title="请求无效", status=400,
                       message="表单已失效或来源不明（缺少安全令牌），未做任何更改。请返回上一页刷新后重新提交。")


@bp.errorhandler(HTTPException)
def _http_error(error):
    return error_page(error)


def error_page(error: HTTPException):
    messages = {403: "您无权查看或办理此事项。", 404: "页面或事项不存在。", 405: "不支持此操作方式。",
                413: "提交的内容过大。"}
    return render_page("error.html", title=error.name, status=error.code or 500,
                       message=messages.get(error.code, "请求未能完成。"))
