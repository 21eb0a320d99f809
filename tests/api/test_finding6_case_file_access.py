"""Issue 9, finding 6: staff of one pooling region read another region's case files (full ID number,
name, description). A case file — a measure of a year, its notice, objection and repair — belongs to
the region that decided the measure: its staff read and act on it, admin on all, the person on their
own; other staff get 403 region_not_allowed, and in the natural-year record only their own region's
part (`partial` says the rest exists). The status stays readable everywhere (第五条: mutual recognition).

The whole matrix, role × endpoint × own/other region, table-driven. The case is Jinan's (370100)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from credit_service.adapters.orm import AuditEventRow
from credit_service.services.clients import create_client
from tests.conftest import PERSON_ID
from tests.factories import id_number, violation

PROBLEM = "application/problem+json"
ROLES = ("admin", "staff-own", "staff-other", "person-self", "person-other", "settlement", "reporter")
TOKEN_OF = {"staff-own": "staff-jinan", "staff-other": "staff-taian", "person-self": "person"}
REFUSAL = {"staff-other": "region_not_allowed", "person-other": "not_own_subject",
           "settlement": "role_not_allowed", "reporter": "role_not_allowed"}


@pytest.fixture
def as_role(auth, container, tokens):
    _, other = create_client(container.uow(), container.clock, "person-other", "person",
                             subject=f"insured:{id_number()}")

    def headers(role: str) -> dict:
        if role == "person-other":
            return {"Authorization": f"Bearer {other}"}
        return auth(TOKEN_OF.get(role, role))
    return headers


@dataclass
class Case:
    measure: str          # noticed, objected to, repair applied for
    fresh_measure: str    # no notice, objection or repair yet
    objection: str
    repair: str
    doctor: str


def jinan_case(client, auth) -> Case:
    def measure(determined_on: str) -> str:
        response = client.post("/api/v1/violations", headers=auth("staff-jinan"), json=violation(
            id_number=PERSON_ID, determined_on=determined_on, occurred_on="2026-09-01", description="冒名就医"))
        assert response.status_code == 201, response.json
        return response.json["measures"][0]["id"]

    first, second = measure("2026-10-09"), measure("2026-10-10")
    assert client.post(f"/api/v1/measures/{first}/notice", headers=auth("staff-jinan"),
                       json={"served_on": "2026-11-20", "received_on": "2026-11-20"}).status_code == 201
    objection = client.post("/api/v1/objections", headers=auth("staff-jinan"),
                            json={"measure_id": first, "filed_on": "2026-11-23", "reason": "金额有误"})
    repair = client.post("/api/v1/repairs", headers=auth("staff-jinan"), json={
        "subject_type": "insured", "id_number": PERSON_ID, "measure_id": first, "corrected": True,
        "adverse_effects_removed": True, "commitment": True})
    assert objection.status_code == 201 and repair.status_code == 201, (objection.json, repair.json)
    return Case(first, second, objection.json["id"], repair.json["id"], id_number())


def refused(response, role: str) -> None:
    assert response.status_code == 403, (role, response.status_code, response.get_data(as_text=True)[:300])
    assert response.mimetype == PROBLEM and response.json["code"] == REFUSAL[role]
    text = response.get_data(as_text=True)
    assert PERSON_ID not in text and "张三" not in text and "冒名就医" not in text


def audit_events(container) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(AuditEventRow))


# -- reads ------------------------------------------------------------------------------------------

READS = {  # endpoint: the roles that may read it (the others are refused with REFUSAL[role])
    "notice": ("admin", "staff-own", "person-self"),
    "objection": ("admin", "staff-own", "person-self"),
    "repair": ("admin", "staff-own", "person-self"),
}


def read(client, headers, case: Case, endpoint: str):
    url = {"notice": f"/api/v1/measures/{case.measure}/notice", "objection": f"/api/v1/objections/{case.objection}",
           "repair": f"/api/v1/repairs/{case.repair}"}[endpoint]
    return client.get(url, headers=headers)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", READS)
def test_finding6_reading_a_case_file(client, auth, as_role, endpoint, role):
    case = jinan_case(client, auth)
    response = read(client, as_role(role), case, endpoint)
    if role in READS[endpoint]:
        assert response.status_code == 200, response.get_data(as_text=True)[:300]
        if endpoint != "notice":
            assert response.json["region"] == "370100"
            assert response.json["id_number"] == (PERSON_ID if role != "person-self" else "370102********1231")
    else:
        refused(response, role)


RECORD = {  # what each role gets of the subject's 2026 record: (status, sees the Jinan entries, number shown)
    "admin": (200, True, PERSON_ID),
    "staff-own": (200, True, PERSON_ID),
    "staff-other": (200, False, PERSON_ID),
    "person-self": (200, True, "370102********1231"),
    "person-other": (403, None, None),
    "settlement": (403, None, None),
    "reporter": (403, None, None),
}


@pytest.mark.parametrize("role", ROLES)
def test_finding6_the_natural_year_record_shows_staff_only_their_regions_part(client, auth, as_role, role):
    jinan_case(client, auth)
    taian = client.post("/api/v1/violations", headers=auth("staff-taian"), json=violation(
        id_number=PERSON_ID, region="370900", determined_on="2026-10-12", occurred_on="2026-09-01",
        fund_loss="1000.00", description="泰安：串换药品"))
    assert taian.status_code == 201, taian.json
    response = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/record?year=2026", headers=as_role(role))
    status, sees_jinan, shown = RECORD[role]
    if status == 403:
        return refused(response, role)
    body = response.json
    assert response.status_code == 200 and body["id_number"] == shown
    regions = {v["region"] for v in body["violations"]}
    descriptions = {v["description"] for v in body["violations"]}
    if role == "staff-other":  # Tai'an staff: Tai'an's part only, and told that there is more
        assert (regions, body["scope_region"], body["partial"]) == ({"370900"}, "370900", True)
        assert body["total_fund_loss"] == "1000.00"
        assert "冒名就医" not in response.get_data(as_text=True)
        assert {m["region"] for m in body["measures"]} <= {"370900"}
        assert body["notices"] == body["objections"] == body["repairs"] == []
    elif role == "staff-own":  # Jinan staff: Jinan's part
        assert (regions, body["scope_region"], body["partial"]) == ({"370100"}, "370100", True)
        assert "泰安：串换药品" not in descriptions and len(body["objections"]) == len(body["repairs"]) == 1
    else:  # admin and the person themself: the whole record
        assert (regions, body["scope_region"], body["partial"]) == ({"370100", "370900"}, None, False)
        assert sees_jinan and len(body["notices"]) == 1


@pytest.mark.article("第五条")
@pytest.mark.parametrize("role", ROLES)
def test_finding6_the_status_stays_readable_in_every_region_art5(client, auth, as_role, role):
    case = jinan_case(client, auth)
    response = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/status?on=2026-11-26", headers=as_role(role))
    if role in ("person-other", "reporter"):
        return refused(response, role)
    assert response.status_code == 200 and response.json["settlement_allowed"] is False
    assert case.measure in {r["measure_id"] for r in response.json["restrictions"]}


@pytest.mark.parametrize("role", ("admin", "staff-own", "staff-other"))
def test_finding6_worklist_and_audit_stay_scoped(client, auth, as_role, role):
    case = jinan_case(client, auth)
    items = client.get("/api/v1/worklist", headers=as_role(role)).json["items"]
    trail = client.get("/api/v1/audit", headers=as_role(role)).json["events"]
    visible = role != "staff-other"
    assert (case.objection in {i["id"] for i in items}) is visible
    assert (case.objection in {e["entity_id"] for e in trail}) is visible


# -- writes -----------------------------------------------------------------------------------------

def _write(client, headers, case: Case, endpoint: str):
    post = lambda url, body: client.post(url, json=body, headers=headers)  # noqa: E731
    if endpoint == "serve notice":
        return post(f"/api/v1/measures/{case.fresh_measure}/notice",
                    {"served_on": "2026-11-24", "received_on": "2026-11-25"})
    if endpoint == "file objection":
        return post("/api/v1/objections", {"measure_id": case.fresh_measure, "reason": "金额有误"})
    if endpoint == "evidence complete":
        return post(f"/api/v1/objections/{case.objection}/evidence-complete", {"on": "2026-11-25"})
    if endpoint == "decide objection":
        return post(f"/api/v1/objections/{case.objection}/decision",
                    {"outcome": "rejected", "decided_on": "2026-11-26", "reason": "维持"})
    if endpoint == "apply for repair":
        return post("/api/v1/repairs", {"subject_type": "insured", "id_number": PERSON_ID,
                                        "measure_id": case.fresh_measure, "corrected": True,
                                        "adverse_effects_removed": True, "commitment": True})
    if endpoint == "decide repair":
        return post(f"/api/v1/repairs/{case.repair}/decision",
                    {"outcome": "rejected", "decided_on": "2026-11-26", "reason": "材料不全"})
    if endpoint == "recommend expert":
        return post(f"/api/v1/subjects/physician/{case.doctor}/expert-recommendations",
                    {"year": 2026, "region": "370100", "reason": "表现突出"})
    raise AssertionError(endpoint)


WRITES = {  # endpoint: (status on success, the roles that may)
    "serve notice": (201, ("admin", "staff-own")),
    "file objection": (201, ("admin", "staff-own", "person-self")),
    "evidence complete": (200, ("admin", "staff-own")),
    "decide objection": (200, ("admin", "staff-own")),
    "apply for repair": (201, ("admin", "staff-own", "person-self")),
    "decide repair": (200, ("admin", "staff-own")),
    "recommend expert": (201, ("admin", "staff-own")),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", WRITES)
def test_finding6_acting_on_a_case_file(client, auth, as_role, container, endpoint, role):
    case = jinan_case(client, auth)
    before = audit_events(container)
    response = _write(client, as_role(role), case, endpoint)
    status, allowed = WRITES[endpoint]
    if role in allowed:
        assert response.status_code == status, response.json
        assert audit_events(container) > before or endpoint == "recommend expert"  # (not audited today)
        return
    if role.startswith("person") and "person-self" not in allowed:
        expected = "role_not_allowed"
    else:
        expected = REFUSAL[role]
    assert response.status_code == 403 and response.json["code"] == expected, (role, response.json)
    assert audit_events(container) == before  # nothing written
