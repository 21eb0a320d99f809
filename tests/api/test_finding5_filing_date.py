"""Issue 9, finding 5: a person could backdate `filed_on` past a closed objection window (API.md v1.1:
a person's filing is dated by the service; staff entering a paper filing give its day of receipt, which
is shown and audited as entered by them). Today (the injected clock) is 2026-11-26, 第十条."""
from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from credit_service.adapters.orm import AuditEventRow
from credit_service.domain.procedure import TransitionRefused, filing_date
from tests.conftest import PERSON_ID
from tests.factories import violation
from credit_service.api.problems import status_of

TODAY = "2026-11-26"
PROBLEM = "application/problem+json"


def measure_of(client, auth, notice_received_on: str | None = None) -> str:
    body = violation(id_number=PERSON_ID, determined_on="2026-10-09", occurred_on="2026-09-01")
    measure = client.post("/api/v1/violations", json=body, headers=auth("staff-jinan")).json["measures"][0]["id"]
    if notice_received_on:  # received 10-13 → objection deadline 11-03 (15th working day)
        served = client.post(f"/api/v1/measures/{measure}/notice", headers=auth("staff-jinan"),
                             json={"served_on": notice_received_on, "received_on": notice_received_on})
        assert served.status_code == 201, served.json
    return measure


def objection(client, auth, measure: str, who: str, filed_on: str | None = None):
    body = {"measure_id": measure, "reason": "金额计算有误", "evidence": ["费用清单"]}
    if filed_on is not None:
        body["filed_on"] = filed_on
    return client.post("/api/v1/objections", json=body, headers=auth(who))


def repair(client, auth, measure: str, who: str, filed_on: str | None = None):
    body = {"subject_type": "insured", "id_number": PERSON_ID, "measure_id": measure, "corrected": True,
            "adverse_effects_removed": True, "commitment": True, "evidence": ["退款凭证"]}
    if filed_on is not None:
        body["filed_on"] = filed_on
    return client.post("/api/v1/repairs", json=body, headers=auth(who))


def refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.json
    assert response.mimetype == PROBLEM and response.json["code"] == code
    return response.json


def audit_after(container, action: str) -> dict:
    with container.session_factory() as session:
        row = session.scalars(select(AuditEventRow).where(AuditEventRow.action == action)
                              .order_by(AuditEventRow.seq.desc())).first()
    return json.loads(row.payload)


@pytest.mark.article("第十条")
def test_finding5_art10_a_person_cannot_backdate_an_objection_into_a_closed_window(client, auth):
    measure = measure_of(client, auth, notice_received_on="2026-10-13")  # deadline 2026-11-03 has passed
    detail = refused(objection(client, auth, measure, "person", "2026-11-03"), 422, "filed_on_not_today")["detail"]
    assert TODAY in detail and "2026-11-03" in detail
    refused(objection(client, auth, measure, "person", "2026-10-20"), 422, "filed_on_not_today")
    # dated by the service, it is late: the window closed on 11-03
    assert "2026-11-03" in refused(objection(client, auth, measure, "person"), 422, "objection_window_closed")["detail"]
    refused(objection(client, auth, measure, "person", TODAY), 422, "objection_window_closed")


def test_finding5_a_persons_filing_is_dated_today_when_the_date_is_left_out(client, auth):
    measure = measure_of(client, auth)  # no notice yet: the window has not started
    filed = objection(client, auth, measure, "person")
    assert filed.status_code == 201, filed.json
    assert (filed.json["filed_on"], filed.json["filed_on_entered"]) == (TODAY, False)
    assert filed.json["review_due_on"] == "2026-12-17"  # 11-27(1) .. 12-17 Thu(15)
    same_day = objection(client, auth, measure_of(client, auth), "person", TODAY)
    assert same_day.status_code == 201 and same_day.json["filed_on_entered"] is False


@pytest.mark.article("第十一条")
@pytest.mark.parametrize("filed_on", ["2026-11-25", "2026-11-27", "2025-11-26"])
def test_finding5_art11_a_person_cannot_date_a_repair_application_another_day(client, auth, filed_on):
    measure = measure_of(client, auth)
    refused(repair(client, auth, measure, "person", filed_on), 422, "filed_on_not_today")
    filed = repair(client, auth, measure, "person")
    assert filed.status_code == 201, filed.json
    assert (filed.json["filed_on"], filed.json["filed_on_entered"], filed.json["reply_due_on"]) == (
        TODAY, False, "2026-12-17")


@pytest.mark.parametrize("who", ["staff-jinan", "admin"])
def test_finding5_staff_enter_a_paper_filings_day_of_receipt_shown_and_audited(client, auth, container, who):
    measure = measure_of(client, auth, notice_received_on="2026-10-13")  # deadline 2026-11-03
    paper = objection(client, auth, measure, who, "2026-11-03")  # received on the last day, entered later
    assert paper.status_code == 201, paper.json
    assert (paper.json["filed_on"], paper.json["filed_on_entered"]) == ("2026-11-03", True)
    event = audit_after(container, "objection_filed")
    assert (event["actor"], event["after"]["on"], event["after"]["filed_on_entered_by"]) == (who, "2026-11-03", who)

    filed = repair(client, auth, measure, who, "2026-11-02")
    assert (filed.json["filed_on"], filed.json["filed_on_entered"]) == ("2026-11-02", True)
    assert audit_after(container, "repair_filed")["after"]["filed_on_entered_by"] == who

    shown = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/record?year=2026", headers=auth("person")).json
    assert [(o["filed_on"], o["filed_on_entered"]) for o in shown["objections"]] == [("2026-11-03", True)]
    assert [(r["filed_on"], r["filed_on_entered"]) for r in shown["repairs"]] == [("2026-11-02", True)]
    assert client.get(f"/api/v1/objections/{paper.json['id']}", headers=auth("person")).json["filed_on_entered"]


def test_finding5_staff_leaving_the_date_out_file_today_and_cannot_postdate(client, auth, container):
    measure = measure_of(client, auth)
    refused(objection(client, auth, measure, "staff-jinan", "2026-11-27"), 422, "filed_in_future")
    filed = objection(client, auth, measure, "staff-jinan")
    assert (filed.json["filed_on"], filed.json["filed_on_entered"]) == (TODAY, False)
    assert "filed_on_entered_by" not in audit_after(container, "objection_filed")["after"]


D = date.fromisoformat


@pytest.mark.parametrize("given, paper, expected", [
    (None, False, (D(TODAY), False)),
    (None, True, (D(TODAY), False)),
    (D(TODAY), False, (D(TODAY), False)),
    (D(TODAY), True, (D(TODAY), True)),
    (D("2026-10-20"), True, (D("2026-10-20"), True)),
])
def test_finding5_filing_date_rule(given, paper, expected):
    assert filing_date(given, D(TODAY), paper) == expected


@pytest.mark.parametrize("given", [D("2026-11-25"), D("2026-11-27")])
def test_finding5_filing_date_rule_refuses_a_persons_other_day(given):
    with pytest.raises(TransitionRefused) as caught:
        filing_date(given, D(TODAY), paper_filing=False)
    assert (caught.value.code, caught.value.field, status_of(caught.value)) == ("filed_on_not_today", "filed_on", 422)
