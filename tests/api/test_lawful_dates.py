"""Issue 9, finding 1 (first layer): every date a caller gives lies in a lawful range.

A violation determined 1899-12-31 was accepted and broke the status index of every other worker. Facts
that happened (occurred, determined, served, received, filed, decided, evidence complete) lie between
CREDIT_SERVICE_EARLIEST_DATE (default 1990-01-01) and the service's today; a day asked about (`on` of
status, batch and claims) between that earliest date and CREDIT_SERVICE_QUERY_DAYS_AHEAD days after
today. Outside → 422 problem+json naming the field. Today (the injected clock) is 2026-11-26.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from credit_service import create_app
from credit_service.settings import Settings
from tests.factories import id_number, violation

PROBLEM = "application/problem+json"


def out_of_range(response, field: str) -> dict:
    assert response.status_code == 422, response.json
    assert response.mimetype == PROBLEM
    body = response.json
    assert body["code"] == "date_out_of_range" and body["detail"]
    assert field in body["errors"], body
    return body


def test_finding_1_a_violation_determined_in_1899_is_refused(client, auth):
    response = client.post("/api/v1/violations", headers=auth(), json=violation(
        occurred_on="1899-12-01", determined_on="1899-12-31"))
    body = out_of_range(response, "occurred_on")
    assert "1990-01-01" in body["detail"]


@pytest.mark.parametrize("occurred_on, determined_on, field", [
    ("1989-12-31", "2025-04-10", "occurred_on"),
    ("0001-01-01", "0001-01-02", "occurred_on"),
])
def test_finding_1_violation_dates_before_the_earliest_date_are_refused(client, auth, occurred_on, determined_on,
                                                                        field):
    out_of_range(client.post("/api/v1/violations", headers=auth(), json=violation(
        occurred_on=occurred_on, determined_on=determined_on)), field)


def test_finding_1_the_earliest_date_itself_is_lawful(client, auth):
    response = client.post("/api/v1/violations", headers=auth(), json=violation(
        occurred_on="1990-01-01", determined_on="1990-01-01", fund_loss="100.00"))
    assert response.status_code == 201, response.json


def test_finding_1_a_violation_determined_after_today_is_still_refused(client, auth):
    response = client.post("/api/v1/violations", headers=auth(), json=violation(
        occurred_on="2026-11-20", determined_on="2026-11-27"))
    assert response.status_code == 422 and "determined_on" in response.json["errors"]


def test_finding_1_json_import_rejects_the_old_row_and_records_the_others(client, auth):
    good, old = violation(), violation(occurred_on="1899-12-01", determined_on="1899-12-31")
    response = client.post("/api/v1/violations/import", headers=auth(), json=[good, old])
    assert response.status_code == 200
    created, rejected = response.json["results"]
    assert created["status"] == "created"
    assert rejected["status"] == "rejected" and rejected["error"]["code"] == "date_out_of_range"
    assert "occurred_on" in rejected["error"]["errors"]


def test_finding_1_csv_import_rejects_the_old_row_and_records_the_others(client, auth):
    header = "source,source_ref,subject_type,id_number,name,region,occurred_on,determined_on,fund_loss,handling"
    rows = [f"csv,C-1,insured,{id_number()},张三,370100,2025-03-02,2025-04-10,150000.00,administrative",
            f"csv,C-2,insured,{id_number()},李四,370100,1899-12-01,1899-12-31,150000.00,administrative"]
    response = client.post("/api/v1/violations/import", headers={**auth(), "Content-Type": "text/csv"},
                           data="\n".join([header, *rows]).encode())
    assert response.status_code == 200
    assert [r["status"] for r in response.json["results"]] == ["created", "rejected"]
    error = response.json["results"][1]["error"]
    assert error["code"] == "date_out_of_range" and "occurred_on" in error["errors"]


def _measure(client, auth) -> str:
    response = client.post("/api/v1/violations", headers=auth(), json=violation(
        occurred_on="2026-09-01", determined_on="2026-10-09"))
    assert response.status_code == 201, response.json
    return response.json["measures"][0]["id"]


def test_finding_1_notice_dates_before_the_earliest_date_are_refused(client, auth):
    measure = _measure(client, auth)
    out_of_range(client.post(f"/api/v1/measures/{measure}/notice", headers=auth("staff-jinan"),
                             json={"served_on": "1989-12-31", "received_on": "2026-10-13"}), "served_on")


def test_finding_1_objection_and_decision_dates_before_the_earliest_date_are_refused(client, auth):
    measure = _measure(client, auth)
    out_of_range(client.post("/api/v1/objections", headers=auth("staff-jinan"), json={
        "measure_id": measure, "filed_on": "1989-12-31", "reason": "金额有误", "evidence": []}), "filed_on")
    filed = client.post("/api/v1/objections", headers=auth("staff-jinan"), json={
        "measure_id": measure, "filed_on": "2026-10-20", "reason": "金额有误", "evidence": []})
    assert filed.status_code == 201, filed.json
    objection = filed.json["id"]
    out_of_range(client.post(f"/api/v1/objections/{objection}/evidence-complete", headers=auth("staff-jinan"),
                             json={"on": "1989-12-31"}), "on")
    out_of_range(client.post(f"/api/v1/objections/{objection}/decision", headers=auth("staff-jinan"), json={
        "outcome": "rejected", "decided_on": "1989-12-31", "reason": "维持"}), "decided_on")


def test_finding_1_repair_dates_before_the_earliest_date_are_refused(client, auth):
    number = id_number()
    response = client.post("/api/v1/violations", headers=auth(), json=violation(
        id_number=number, occurred_on="2026-09-01", determined_on="2026-10-09"))
    measure = response.json["measures"][0]["id"]
    body = {"subject_type": "insured", "id_number": number, "measure_id": measure, "corrected": True,
            "adverse_effects_removed": True, "commitment": True, "evidence": ["凭证"]}
    out_of_range(client.post("/api/v1/repairs", headers=auth("staff-jinan"), json={**body, "filed_on": "1989-12-31"}),
                 "filed_on")
    filed = client.post("/api/v1/repairs", headers=auth("staff-jinan"), json={**body, "filed_on": "2026-10-20"})
    assert filed.status_code == 201, filed.json
    out_of_range(client.post(f"/api/v1/repairs/{filed.json['id']}/decision", headers=auth("staff-jinan"), json={
        "outcome": "approved", "decided_on": "1989-12-31", "reason": "核实"}), "decided_on")


@pytest.mark.parametrize("on", ["1989-12-31", "0001-01-01", "2036-11-27", "9999-12-31"])
def test_finding_1_a_status_day_outside_the_range_is_refused_on_every_status_path(client, auth, on):
    number = id_number()
    out_of_range(client.get(f"/api/v1/subjects/insured/{number}/status?on={on}", headers=auth("settlement")), "on")
    out_of_range(client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "on": on, "subjects": [{"subject_type": "insured", "id_number": number}]}), "on")
    out_of_range(client.post("/api/v1/claims/check", headers=auth("settlement"), json={
        "on": on, "insured": {"subject_type": "insured", "id_number": number}}), "on")


@pytest.mark.parametrize("on", ["1990-01-01", "2026-11-26", "2036-11-26"])
def test_finding_1_a_status_day_may_be_a_future_day_within_the_bound(client, auth, on):
    number = id_number()
    response = client.get(f"/api/v1/subjects/insured/{number}/status?on={on}", headers=auth("settlement"))
    assert response.status_code == 200 and response.json["on"] == on


def test_finding_1_a_claim_inside_a_batch_is_checked_too(client, auth):
    number = id_number()
    out_of_range(client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "on": "2026-11-26", "subjects": [], "claims": [
            {"on": "1989-12-31", "insured": {"subject_type": "insured", "id_number": number}}]}), "claims.0.on")


def test_finding_1_a_record_year_before_the_earliest_date_is_refused(client, auth):
    number = id_number()
    response = client.get(f"/api/v1/subjects/insured/{number}/record?year=1989", headers=auth())
    assert response.status_code == 422 and "year" in response.json["errors"]
    assert client.get(f"/api/v1/subjects/insured/{number}/record?year=1990", headers=auth()).status_code == 200


def test_finding_1_the_earliest_date_is_a_setting(settings, clock, monkeypatch):
    monkeypatch.setenv("CREDIT_SERVICE_EARLIEST_DATE", "2000-01-01")
    monkeypatch.setenv("CREDIT_SERVICE_QUERY_DAYS_AHEAD", "30")
    from_env = Settings.from_env(database_url=settings.database_url)
    assert (from_env.earliest_date, from_env.query_days_ahead) == (date(2000, 1, 1), 30)
    app = create_app(replace(settings, earliest_date=date(2000, 1, 1), query_days_ahead=30), clock=clock)
    try:
        from credit_service.services.clients import create_client
        container = app.extensions["credit_service"]
        headers = {"Authorization": "Bearer " + create_client(container.uow(), container.clock, "a", "admin")[1]}
        client = app.test_client()
        out_of_range(client.post("/api/v1/violations", headers=headers, json=violation(
            occurred_on="1999-12-31", determined_on="2000-01-05")), "occurred_on")
        number = id_number()
        out_of_range(client.get(f"/api/v1/subjects/insured/{number}/status?on=2026-12-27", headers=headers), "on")
        assert client.get(f"/api/v1/subjects/insured/{number}/status?on=2026-12-26",
                          headers=headers).status_code == 200
    finally:
        app.extensions["credit_service"].index.stop()
        app.extensions["credit_service"].engine.dispose()


def test_finding_1_a_malformed_earliest_date_stops_start_up(monkeypatch):
    monkeypatch.setenv("CREDIT_SERVICE_EARLIEST_DATE", "1990-13-01")
    with pytest.raises(ValueError, match="CREDIT_SERVICE_EARLIEST_DATE"):
        Settings.from_env(database_url="sqlite://")
