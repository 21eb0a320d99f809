"""Real-name login for self-service and staff single sign-on, against a real OpenID provider that the
tests start (oidc-provider-mock on a local port): the provider's page, its token endpoint, its keys."""
from __future__ import annotations

import json

from sqlalchemy import select

from credit_service.adapters.orm import AuditEventRow, StaffUserRow, SubjectRow, WebSessionRow
from credit_service.services import staff_accounts
from tests.web.conftest import callback_path
from tests.web.support import PASSWORD, csrf_of

NUMBER = "370102199001011231"


def _person_app(make_app, provider, **overrides):
    return make_app(oidc_issuer=provider.issuer, oidc_client_id="credit-service", oidc_client_secret="s3cret",
                    **overrides)


def _log_in(client, provider, sub="zhang", **claims):
    provider.set_user(sub, **({"id_number": NUMBER, "name": "张三"} | claims))
    start = client.get("/me/login")
    assert start.status_code == 302
    callback = provider.authorize(start.headers["Location"], sub)
    return client.get(callback_path(callback))


def test_self_service_says_plainly_when_no_identity_provider_is_configured(web_client):
    response = web_client.get("/me/")
    assert response.status_code == 503 and "尚未开通" in response.get_data(as_text=True)
    assert web_client.get("/me/login").status_code == 303


def test_login_through_the_provider_shows_the_persons_name_and_masked_number(make_app, provider):
    client = _person_app(make_app, provider).test_client()
    landing = client.get("/me/")
    assert landing.status_code == 200 and "实名登录" in landing.get_data(as_text=True)
    done = _log_in(client, provider)
    assert done.status_code == 303 and done.headers["Location"].endswith("/me/")
    page = client.get("/me/").get_data(as_text=True)
    assert "张三" in page and "370102********1231" in page and NUMBER not in page


def test_the_session_is_bound_to_the_lookup_key_never_the_number(make_app, provider):
    app = _person_app(make_app, provider)
    client = app.test_client()
    _log_in(client, provider)
    c = app.extensions["credit_service"]
    with c.session_factory() as s:
        rows = s.scalars(select(WebSessionRow).where(WebSessionRow.door == "me")).all()
        subject = s.get(SubjectRow, c.keys.lookup_key("insured", NUMBER))
        audited = s.scalars(select(AuditEventRow.action)).all()
    signed_in = [r for r in rows if r.signed_in_at is not None]
    assert len(signed_in) == 1
    row = signed_in[0]
    assert (row.subject_type, row.lookup_key) == ("insured", c.keys.lookup_key("insured", NUMBER))
    assert NUMBER not in json.dumps([r.data for r in rows]) and NUMBER not in row.lookup_key
    assert subject is not None  # sealed in `subjects`, so use cases given the key can reveal it
    assert "person_signed_in" in audited


def test_no_identity_number_in_any_url_of_the_login(make_app, provider):
    client = _person_app(make_app, provider).test_client()
    provider.set_user("zhang", id_number=NUMBER, name="张三")
    start = client.get("/me/login").headers["Location"]
    callback = provider.authorize(start, "zhang")
    final = client.get(callback_path(callback)).headers["Location"]
    assert NUMBER not in start + callback + final


def test_subject_type_from_the_configured_claim(make_app, provider):
    app = _person_app(make_app, provider, oidc_subject_type_claim="subject_type")
    client = app.test_client()
    assert _log_in(client, provider, subject_type="physician").status_code == 303
    assert "医保医师" in client.get("/me/").get_data(as_text=True)
    other = app.test_client()
    assert _log_in(other, provider, sub="x", subject_type="somebody").status_code == 401


def test_a_token_from_the_wrong_issuer_is_refused(make_app, provider):
    client = _person_app(make_app, provider).test_client()
    provider.tampering.mode = "wrong_issuer"
    response = _log_in(client, provider)
    assert response.status_code == 401 and "实名认证未通过" in response.get_data(as_text=True)
    assert "已登录" not in client.get("/me/").get_data(as_text=True)


def test_a_tampered_id_token_is_refused(make_app, provider):
    client = _person_app(make_app, provider).test_client()
    provider.tampering.mode = "tamper"  # claims someone else's number after the provider signed it
    response = _log_in(client, provider)
    assert response.status_code == 401
    assert "已登录" not in client.get("/me/").get_data(as_text=True)


def test_an_id_number_claim_that_is_not_a_valid_number_is_refused(make_app, provider):
    client = _person_app(make_app, provider).test_client()
    assert _log_in(client, provider, id_number="370102199001011237").status_code == 401  # wrong check digit
    assert _log_in(client, provider, sub="b", id_number=None).status_code == 401


def test_a_callback_replayed_or_forged_is_refused(make_app, provider):
    client = _person_app(make_app, provider).test_client()
    provider.set_user("zhang", id_number=NUMBER, name="张三")
    callback = provider.authorize(client.get("/me/login").headers["Location"], "zhang")
    assert client.get(callback_path(callback)).status_code == 303
    stranger = _person_app(make_app, provider).test_client()  # the same code in another browser: no state
    assert stranger.get(callback_path(callback)).status_code == 401


def test_an_issuer_whose_metadata_names_another_issuer_is_refused(make_app, provider):
    client = _person_app(make_app, provider).test_client()
    provider.tampering.mode = "metadata_issuer"
    response = client.get("/me/login")
    assert response.status_code == 503 and "Location" not in response.headers


def test_an_expired_session_shows_the_login_again(make_app, provider, moving_clock):
    client = _person_app(make_app, provider).test_client()
    _log_in(client, provider)
    assert "张三" in client.get("/me/").get_data(as_text=True)
    moving_clock.advance(minutes=31)
    page = client.get("/me/").get_data(as_text=True)
    assert "张三" not in page and "已超时" in page and "实名登录" in page


def test_logout_of_self_service(make_app, provider):
    client = _person_app(make_app, provider).test_client()
    _log_in(client, provider)
    page = client.get("/me/").get_data(as_text=True)
    assert client.post("/me/logout").status_code == 400  # no CSRF token
    assert client.post("/me/logout", data={"csrf_token": csrf_of(page)}).status_code == 303
    assert "张三" not in client.get("/me/").get_data(as_text=True)


def test_me_pages_are_no_store(make_app, provider):
    client = _person_app(make_app, provider).test_client()
    _log_in(client, provider)
    response = client.get("/me/")
    assert response.headers["Cache-Control"] == "no-store" and "Secure" not in response.headers.get("Set-Cookie", "")


def test_the_two_doors_have_separate_sessions(make_app, provider):
    app = _person_app(make_app, provider)
    client = app.test_client()
    _log_in(client, provider)
    assert client.get("/console/worklist").status_code == 303


# -- staff single sign-on -------------------------------------------------------------------------------

def _staff_app(make_app, provider, **overrides):
    return make_app(staff_oidc_issuer=provider.issuer, staff_oidc_client_id="console", staff_oidc_client_secret="x",
                    staff_oidc_role_map="医保经办=staff,信用管理员=admin", **overrides)


def _sso(client, provider, sub, **claims):
    provider.set_user(sub, **claims)
    start = client.get("/console/sso")
    assert start.status_code == 302
    return client.get(callback_path(provider.authorize(start.headers["Location"], sub)))


def test_staff_single_sign_on_maps_the_claims_to_role_and_region(make_app, provider):
    app = _staff_app(make_app, provider)
    client = app.test_client()
    assert "统一身份认证" in client.get("/console/login").get_data(as_text=True)
    done = _sso(client, provider, "u-1", preferred_username="zhao", name="赵经办",
                credit_service_role=["其他", "医保经办"], region="370900")
    assert done.status_code == 303 and done.headers["Location"].endswith("/console/worklist")
    page = client.get("/console/worklist").get_data(as_text=True)
    assert "赵经办" in page and "经办人员" in page and "泰安市（370900）" in page
    with app.extensions["credit_service"].session_factory() as s:
        user = s.scalar(select(StaffUserRow).where(StaffUserRow.username == "zhao"))
    assert (user.role, user.region, user.password_hash) == ("staff", "370900", None)


def test_staff_sso_without_a_mapped_role_or_region_is_refused(make_app, provider):
    client = _staff_app(make_app, provider).test_client()
    assert _sso(client, provider, "u-2", preferred_username="qian", credit_service_role="访客",
                region="370100").status_code == 401
    assert _sso(client, provider, "u-3", preferred_username="sun", credit_service_role="医保经办").status_code == 401
    assert client.get("/console/worklist").status_code == 303


def test_a_disabled_sso_account_is_refused(make_app, provider):
    app = _staff_app(make_app, provider)
    client = app.test_client()
    _sso(client, provider, "u-4", preferred_username="zhou", credit_service_role="医保经办", region="370100")
    c = app.extensions["credit_service"]
    staff_accounts.disable_user(c.uow(), c.clock, "zhou")
    assert client.get("/console/worklist").status_code == 303
    again = app.test_client()
    assert _sso(again, provider, "u-4", preferred_username="zhou", credit_service_role="医保经办",
                region="370100").status_code == 401


def test_sso_cannot_take_over_a_local_account(make_app, provider):
    app = _staff_app(make_app, provider)
    c = app.extensions["credit_service"]
    staff_accounts.create_user(c.uow(), c.clock, "li", "admin", None, PASSWORD)
    client = app.test_client()
    assert _sso(client, provider, "u-5", preferred_username="li", credit_service_role="信用管理员").status_code == 401
