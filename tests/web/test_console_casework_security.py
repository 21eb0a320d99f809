"""The console's casework under attack (issue 11, "Done when"): another region's staff, forms without
their CSRF token, a name that is a script, a disabled user's open session, the headers and cookies."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from credit_service.adapters.orm import MeasureRow, ObjectionRow, RepairRow
from credit_service.services import procedure, staff_accounts
from credit_service.web.auth import CONTENT_SECURITY_POLICY
from tests.unit_helpers import acting
from tests.web.support import csrf_of, sign_in
from tests.web.test_console_casework import ESCAPED, NAME, Desk, _case_url, desk  # noqa: F401 (the fixture)
from tests.web.test_documents import pdf_text

D = date.fromisoformat


def _worked_case(desk: Desk):
    """A 370100 case with a notice, a decided (modified) objection, an open objection on the new
    measure and a decided repair: every kind of page, letter and action exists for it."""
    c = desk.app.extensions["credit_service"]
    number, measure = desk.record()
    w = c.workflow()
    procedure.serve_notice(w, acting(), measure["id"], D("2026-11-03"), D("2026-11-04"))
    first = procedure.file_objection(w, acting(), measure["id"], D("2026-11-05"), "金额有误", []).row
    procedure.decide_objection(w, acting(), first.id, "modified", D("2026-11-10"), "更正", Decimal("60000.00"))
    with c.session_factory() as s:
        standing = s.scalars(select(MeasureRow).where(MeasureRow.revoked_on.is_(None),
                                                      MeasureRow.lookup_key == first.lookup_key)).one()
    repair = procedure.file_repair(w, acting(), standing.id, "insured", number, D("2026-11-11"), True, True, True,
                                   []).row
    procedure.decide_repair(w, acting(), repair.id, "approved", D("2026-11-12"), "同意")
    second = procedure.file_objection(w, acting(), standing.id, D("2026-11-13"), "仍有误", []).row
    return {"number": number, "measure": measure["id"], "standing": standing.id, "decided": first.id,
            "open": second.id, "repair": repair.id}


def _actions(key: str, case: dict) -> dict[str, dict]:
    """Every state-changing console URL of the case, with a body that would be accepted."""
    return {
        f"/console/subjects/{key}/violations": {
            "source_ref": "X-1", "region": "370100", "occurred_on": "2026-10-01", "determined_on": "2026-11-20",
            "fund_loss": "1.00", "handling": "administrative"},
        f"/console/subjects/{key}/measures/{case['standing']}/objections": {"filed_on": "2026-11-20", "reason": "x"},
        f"/console/subjects/{key}/measures/{case['standing']}/repairs": {
            "filed_on": "2026-11-20", "corrected": "y", "adverse_effects_removed": "y", "commitment": "y"},
        f"/console/subjects/{key}/objections/{case['open']}/evidence-complete": {"on": "2026-11-20"},
        f"/console/subjects/{key}/objections/{case['open']}/decision": {
            "outcome": "upheld", "decided_on": "2026-11-20", "reason": "x", "confirm": "yes"},
    }


def _letters(case: dict) -> list[str]:
    return [f"/console/measures/{case['measure']}/notice.pdf", f"/console/objections/{case['decided']}/decision.pdf",
            f"/console/repairs/{case['repair']}/reply.pdf"]


@pytest.mark.article("第五条")
def test_staff_of_370200_cannot_see_or_act_on_a_370100_case_and_nothing_is_written(desk, web_client):
    """第五条 and docs/access.md: a case file belongs to the region that decided the measure."""
    case = _worked_case(desk)
    sign_in(web_client, "zhao")
    url = _case_url(web_client, case["number"])
    key = url.rsplit("/", 1)[1]
    page = web_client.get(url).get_data(as_text=True)
    assert "另有其他统筹区的记录" in page
    for secret in (ESCAPED, case["measure"], case["standing"], "第九条", "金额有误", "violation_recorded"):
        assert secret not in page, secret
    before = desk.counts()
    for letter in _letters(case):
        assert web_client.get(letter).status_code in (403, 404), letter
    token = csrf_of(page)
    for action, body in _actions(key, case).items():
        response = web_client.post(action, data={**body, "csrf_token": token})
        assert response.status_code in (403, 404), (action, response.status_code)
        preview = {k: v for k, v in body.items() if k != "confirm"}
        assert web_client.post(action, data={**preview, "csrf_token": token}).status_code in (403, 404), action
    assert desk.counts() == before
    own = desk.app.test_client()  # the case's own region reads the same letters: the refusals are the region's
    sign_in(own, "li")
    assert [own.get(letter).status_code for letter in _letters(case)] == [200, 200, 200]


def test_every_form_posted_without_its_csrf_token_is_400_and_nothing_is_written(desk, web_client):
    case = _worked_case(desk)
    sign_in(web_client, "li")
    url = _case_url(web_client, case["number"])
    key = url.rsplit("/", 1)[1]
    before = desk.counts()
    for action, body in _actions(key, case).items():
        assert web_client.post(action, data=body).status_code == 400, action
        assert web_client.post(action, data={**body, "csrf_token": "forged"}).status_code == 400, action
    assert web_client.post("/console/search", data={"subject_type": "insured",
                                                     "id_number": case["number"]}).status_code == 400
    assert desk.counts() == before
    with desk.app.extensions["credit_service"].session_factory() as s:
        assert s.get(ObjectionRow, case["open"]).state == "open"


def test_a_script_as_the_name_is_escaped_on_every_page_and_plain_text_in_every_letter(desk, web_client, tmp_path):
    case = _worked_case(desk)
    sign_in(web_client, "li")
    url = _case_url(web_client, case["number"])
    key = url.rsplit("/", 1)[1]
    token = csrf_of(web_client.get(url).get_data(as_text=True))
    pages = [web_client.get("/console/worklist"), web_client.get(url), web_client.get(f"{url}?year=2026"),
             web_client.post(f"/console/subjects/{key}/objections/{case['open']}/decision",
                             data={"outcome": "rejected", "decided_on": "2026-11-20", "reason": NAME,
                                   "csrf_token": token}),
             web_client.post(f"/console/subjects/{key}/repairs/{case['repair']}/decision",
                             data={"outcome": "approved", "decided_on": "2026-11-20", "reason": NAME,
                                   "csrf_token": token})]
    for response in pages:
        assert NAME not in response.get_data(as_text=True), response.request.path
    assert ESCAPED in pages[1].get_data(as_text=True)
    for letter in _letters(case):
        response = web_client.get(letter)
        assert response.status_code == 200 and NAME in pdf_text(response.data, tmp_path), letter


def test_a_disabled_users_open_session_stops_working_at_once(desk, web_client):
    case = _worked_case(desk)
    sign_in(web_client, "li")
    url = _case_url(web_client, case["number"])
    key = url.rsplit("/", 1)[1]
    token = csrf_of(web_client.get(url).get_data(as_text=True))
    c = desk.app.extensions["credit_service"]
    staff_accounts.disable_user(c.uow(), c.clock, "li")
    before = desk.counts()
    assert web_client.get(url).status_code == 303
    assert web_client.get(_letters(case)[0]).status_code == 303
    for action, body in _actions(key, case).items():
        response = web_client.post(action, data={**body, "csrf_token": token})
        assert response.status_code in (303, 400), action
        assert "/console/subjects" not in response.headers.get("Location", ""), action
    assert desk.counts() == before


def test_case_pages_and_letters_carry_the_security_headers(desk, web_client):
    case = _worked_case(desk)
    login = web_client.get("/console/login")
    for header in login.headers.getlist("Set-Cookie"):
        assert "HttpOnly" in header and "SameSite=Lax" in header
    sign_in(web_client, "li")
    url = _case_url(web_client, case["number"])
    for response in (web_client.get(url), web_client.get("/console/worklist"), web_client.get(_letters(case)[1])):
        h = response.headers
        assert response.status_code == 200
        assert h["Content-Security-Policy"] == CONTENT_SECURITY_POLICY and "unsafe-inline" not in CONTENT_SECURITY_POLICY
        assert "script-src 'self'" in CONTENT_SECURITY_POLICY
        assert h["X-Frame-Options"] == "DENY" and h["Referrer-Policy"] == "same-origin"
        assert h["Cache-Control"] == "no-store"
    page = web_client.get(url).get_data(as_text=True)
    assert "<script" not in page and " style=" not in page and " on" + "click=" not in page


def test_an_admin_may_act_on_every_region(desk, web_client):
    case = _worked_case(desk)
    sign_in(web_client, "wang")
    url = _case_url(web_client, case["number"])
    key = url.rsplit("/", 1)[1]
    token = csrf_of(web_client.get(url).get_data(as_text=True))
    done = web_client.post(f"/console/subjects/{key}/objections/{case['open']}/decision",
                           data={"outcome": "rejected", "decided_on": "2026-11-20", "reason": "维持",
                                 "confirm": "yes", "csrf_token": token})
    assert done.status_code == 303
    with desk.app.extensions["credit_service"].session_factory() as s:
        assert s.get(ObjectionRow, case["open"]).outcome == "rejected"
        assert s.get(RepairRow, case["repair"]).state == "approved"
