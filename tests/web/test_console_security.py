"""The staff console's sign-in and session rules (issue 11): CSRF, lock-out, timeouts, disabling,
cookie flags and headers — each as seen by a browser (Flask's test client keeps cookies)."""
from __future__ import annotations

import re

import pyotp
from sqlalchemy import func, select

from credit_service.adapters.orm import AuditEventRow, LoginFailureRow, StaffUserRow, WebSessionRow
from credit_service.services import staff_accounts
from tests.web.support import PASSWORD, cookie, csrf_of, sign_in


def _count(app, row) -> int:
    with app.extensions["credit_service"].session_factory() as s:
        return s.scalar(select(func.count()).select_from(row))


def test_login_redirects_to_the_worklist_which_shows_name_role_and_region(web_client, staff):
    response = sign_in(web_client, "li")
    assert response.status_code == 303 and response.headers["Location"].endswith("/console/worklist")
    page = web_client.get("/console/worklist").get_data(as_text=True)
    assert "李经办" in page and "经办人员" in page and "济南市（370100）" in page


def test_worklist_without_a_session_goes_to_the_login_page(web_client):
    response = web_client.get("/console/worklist")
    assert response.status_code == 303 and response.headers["Location"].endswith("/console/login")


def test_login_form_has_the_contract_fields(web_client):
    page = web_client.get("/console/login").get_data(as_text=True)
    for name in ("username", "password", "csrf_token"):
        assert f'name="{name}"' in page


def test_a_post_without_its_csrf_token_is_400_and_nothing_is_written(web_app, web_client, staff):
    before = (_count(web_app, LoginFailureRow), _count(web_app, AuditEventRow), _count(web_app, WebSessionRow))
    response = web_client.post("/console/login", data={"username": "li", "password": PASSWORD})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)
    assert (_count(web_app, LoginFailureRow), _count(web_app, AuditEventRow), _count(web_app, WebSessionRow)) == before
    assert web_client.get("/console/worklist").status_code == 303  # not signed in


def test_a_post_with_a_wrong_csrf_token_is_400(web_client, staff):
    web_client.get("/console/login")
    response = web_client.post("/console/login", data={"username": "li", "password": PASSWORD,
                                                       "csrf_token": "forged"})
    assert response.status_code == 400


def test_logout_without_its_csrf_token_is_400_and_the_session_stays(web_client, staff):
    sign_in(web_client, "li")
    assert web_client.post("/console/logout").status_code == 400
    assert web_client.get("/console/worklist").status_code == 200


def test_logout_ends_the_session_on_the_server(web_app, web_client, staff):
    sign_in(web_client, "li")
    page = web_client.get("/console/worklist").get_data(as_text=True)
    stolen = web_client.get_cookie("cs_console", path="/console/").value
    response = web_client.post("/console/logout", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303 and response.headers["Location"].endswith("/console/login")
    assert web_client.get("/console/worklist").status_code == 303
    replay = web_app.test_client()
    replay.set_cookie("cs_console", stolen, path="/console/")
    assert replay.get("/console/worklist").status_code == 303  # the old cookie opens nothing


def test_the_session_id_is_rotated_at_login(web_app, web_client, staff):
    web_client.get("/console/login")
    before = web_client.get_cookie("cs_console", path="/console/").value
    sign_in(web_client, "li")
    after = web_client.get_cookie("cs_console", path="/console/").value
    assert before != after
    fixation = web_app.test_client()
    fixation.set_cookie("cs_console", before, path="/console/")
    assert fixation.get("/console/worklist").status_code == 303


def test_a_disabled_users_open_session_stops_working_at_once(web_app, web_client, staff):
    sign_in(web_client, "li")
    assert web_client.get("/console/worklist").status_code == 200
    c = web_app.extensions["credit_service"]
    assert staff_accounts.disable_user(c.uow(), c.clock, "li") == 1
    assert web_client.get("/console/worklist").status_code == 303
    assert sign_in(web_client, "li").status_code == 401


def test_a_disabled_user_is_refused_even_if_the_session_row_survived(web_app, web_client, staff):
    """Belt and braces: the session is checked against the account on every request."""
    sign_in(web_client, "li")
    c = web_app.extensions["credit_service"]
    with c.session_factory() as s:
        s.get(StaffUserRow, staff["li"].id).disabled_at = c.clock.now()
        s.commit()
    assert web_client.get("/console/worklist").status_code == 303


def test_lockout_after_five_failed_logins_in_fifteen_minutes(web_client, staff, moving_clock):
    for _ in range(5):
        assert sign_in(web_client, "li", "wrong password!").status_code == 401
        moving_clock.advance(minutes=2)
    locked = sign_in(web_client, "li")  # the right password, within the window
    assert locked.status_code == 401 and "15分钟" in locked.get_data(as_text=True)
    assert web_client.get("/console/worklist").status_code == 303
    moving_clock.advance(minutes=16)
    assert sign_in(web_client, "li").status_code == 303


def test_four_failures_do_not_lock_and_a_success_clears_them(web_client, staff, moving_clock):
    for _ in range(4):
        sign_in(web_client, "li", "wrong password!")
    assert sign_in(web_client, "li").status_code == 303
    web_client.post("/console/logout", data={"csrf_token": csrf_of(web_client.get("/console/worklist").text)})
    for _ in range(4):
        sign_in(web_client, "li", "wrong password!")
    assert sign_in(web_client, "li").status_code == 303


def _page_without_values(response) -> str:
    """The page with its form values (the CSRF token, the name typed) left out."""
    return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))


def test_the_answer_tells_nothing_about_whether_the_user_exists(web_client, staff):
    known = sign_in(web_client, "li", "wrong password!")
    unknown = sign_in(web_client, "nobody", "wrong password!")
    assert known.status_code == unknown.status_code == 401
    assert _page_without_values(known) == _page_without_values(unknown)
    for _ in range(4):
        sign_in(web_client, "nobody", "wrong password!")
        sign_in(web_client, "li", "wrong password!")
    locked_unknown, locked_known = sign_in(web_client, "nobody", "x"), sign_in(web_client, "li", PASSWORD)
    assert locked_unknown.status_code == locked_known.status_code == 401
    assert _page_without_values(locked_unknown) == _page_without_values(locked_known)
    assert "15分钟" in locked_known.get_data(as_text=True)


def test_idle_timeout_of_30_minutes(web_client, staff, moving_clock):
    sign_in(web_client, "li")
    moving_clock.advance(minutes=29)
    assert web_client.get("/console/worklist").status_code == 200  # activity: the idle clock restarts
    moving_clock.advance(minutes=29)
    assert web_client.get("/console/worklist").status_code == 200
    moving_clock.advance(minutes=31)
    assert web_client.get("/console/worklist").status_code == 303
    assert "已超时" in web_client.get("/console/login").get_data(as_text=True)


def test_absolute_timeout_of_8_hours_even_when_active(web_client, staff, moving_clock):
    sign_in(web_client, "li")
    for _ in range(16):  # 7 h 50 min of work, a page every 29 minutes at most
        moving_clock.advance(minutes=29)
        assert web_client.get("/console/worklist").status_code == 200
    moving_clock.advance(minutes=29)  # 8 h 3 min after sign-in
    assert web_client.get("/console/worklist").status_code == 303


def test_timeouts_come_from_settings(make_app, moving_clock):
    app = make_app(web_idle_minutes=5)
    c = app.extensions["credit_service"]
    staff_accounts.create_user(c.uow(), c.clock, "li", "staff", "370100", PASSWORD)
    client = app.test_client()
    sign_in(client, "li")
    moving_clock.advance(minutes=6)
    assert client.get("/console/worklist").status_code == 303


def test_security_headers_on_every_web_page(web_client, staff):
    pages = [web_client.get("/console/login"), web_client.get("/console/nope"), web_client.get("/me/")]
    sign_in(web_client, "li")
    pages.append(web_client.get("/console/worklist"))
    for response in pages:
        csp = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] in ("same-origin", "no-referrer", "strict-origin")
        assert response.headers["Cache-Control"] == "no-store"
        assert response.mimetype == "text/html"


def test_no_inline_script_or_style_in_the_pages(web_client, staff):
    sign_in(web_client, "li")
    for path in ("/console/login", "/console/worklist", "/me/"):
        page = web_client.get(path).get_data(as_text=True)
        assert "<script" not in page and "<style" not in page and " style=" not in page and "onclick" not in page


def test_cookie_flags_over_https(web_client):
    header = cookie(web_client.get("/console/login", base_url="https://console.bureau.example"), "cs_console")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" in header and "Path=/console/" in header


def test_cookie_not_secure_on_plain_http_loopback_by_default(web_client):
    """`./dev serve` is plain HTTP on 127.0.0.1: a Secure cookie would never come back."""
    header = cookie(web_client.get("/console/login", base_url="http://127.0.0.1:8000"), "cs_console")
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Secure" not in header


def test_cookie_secure_on_plain_http_to_another_host_by_default(web_client):
    """Fail closed: behind a TLS-terminating proxy the request looks like plain HTTP to a public name."""
    header = cookie(web_client.get("/console/login", base_url="http://console.bureau.example"), "cs_console")
    assert "Secure" in header


def test_cookie_secure_setting(make_app):
    on = make_app(web_cookie_secure="true").test_client()
    assert "Secure" in cookie(on.get("/console/login", base_url="http://127.0.0.1"), "cs_console")
    off = make_app(web_cookie_secure="false").test_client()
    assert "Secure" not in cookie(off.get("/console/login", base_url="https://x.example"), "cs_console")


def test_the_token_api_stays_cookie_free(web_client, auth):
    for response in (web_client.get("/healthz"), web_client.get("/api/v1/worklist", headers=auth("admin")),
                     web_client.post("/api/v1/status/batch", json={"subjects": [{
                         "subject_type": "insured", "id_number": "370102199001011231"}]},
                         headers=auth("settlement"))):
        assert response.status_code == 200
        assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
        assert "Content-Security-Policy" not in response.headers


def test_api_posts_need_no_csrf_token(web_client, auth):
    response = web_client.post("/api/v1/objections", json={"measure_id": "nope", "reason": "x"},
                               headers=auth("admin"))
    assert response.status_code not in (400, 403) and response.mimetype == "application/problem+json"


def test_second_factor_asked_after_the_right_password(web_app, web_client, staff, moving_clock):
    c = web_app.extensions["credit_service"]
    uri = staff_accounts.enrol_totp(c.uow(), c.clock, c.keys, "li")
    totp = pyotp.parse_uri(uri)
    step = sign_in(web_client, "li")
    assert step.status_code == 200 and 'name="otp"' in step.get_data(as_text=True)
    assert web_client.get("/console/worklist").status_code == 303  # not signed in yet
    code = totp.at(moving_clock.now())
    done = web_client.post("/console/login", data={"otp": code, "csrf_token": csrf_of(step.get_data(as_text=True))})
    assert done.status_code == 303 and web_client.get("/console/worklist").status_code == 200


def test_second_factor_in_one_post_and_a_code_is_accepted_once(web_app, web_client, staff, moving_clock):
    c = web_app.extensions["credit_service"]
    totp = pyotp.parse_uri(staff_accounts.enrol_totp(c.uow(), c.clock, c.keys, "li"))
    code = totp.at(moving_clock.now())
    assert sign_in(web_client, "li", otp=code).status_code == 303
    again = web_app.test_client()
    assert sign_in(again, "li", otp=code).status_code == 401  # replayed


def test_wrong_codes_count_towards_the_lockout(web_app, web_client, staff, moving_clock):
    c = web_app.extensions["credit_service"]
    totp = pyotp.parse_uri(staff_accounts.enrol_totp(c.uow(), c.clock, c.keys, "li"))
    for _ in range(5):
        assert sign_in(web_client, "li", otp="000000").status_code == 401
    assert sign_in(web_client, "li", otp=totp.at(moving_clock.now())).status_code == 401


def test_totp_secret_is_not_stored_readable(web_app, staff):
    c = web_app.extensions["credit_service"]
    secret = pyotp.parse_uri(staff_accounts.enrol_totp(c.uow(), c.clock, c.keys, "li")).secret
    with c.session_factory() as s:
        row = s.get(StaffUserRow, staff["li"].id)
    assert secret not in row.totp_sealed and row.password_hash.startswith("$argon2id$")


def test_sign_in_and_user_changes_are_audited(web_app, web_client, staff):
    sign_in(web_client, "li")
    with web_app.extensions["credit_service"].session_factory() as s:
        actions = s.scalars(select(AuditEventRow.action)).all()
    assert actions.count("staff_user_created") == 2 and "staff_signed_in" in actions
