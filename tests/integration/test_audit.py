"""The audit trail (issue 5): every change appends an event in its own transaction, hash-chained, so
`credit-service audit verify` detects an edited, deleted or inserted row."""
from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from credit_service.adapters.orm import AuditEventRow
from credit_service.cli import main as cli
from credit_service.services.audit import verify
from tests.conftest import PERSON_ID
from tests.factories import id_number, violation, with_wrong_check_digit
from tests.workflow import on_day


def case(client, auth, clock):
    """Intake, notice, objection, decision: a handful of audited changes through HTTP."""
    measure = client.post("/api/v1/violations", json=violation(id_number=PERSON_ID, determined_on="2026-10-09",
                                                               occurred_on="2026-09-01"),
                          headers=auth("staff-jinan") | {"X-Request-Id": "req-intake-1"}).json["measures"][0]
    client.post(f"/api/v1/measures/{measure['id']}/notice", json={"served_on": "2026-10-12",
                                                                  "received_on": "2026-10-13"},
                headers=auth("staff-jinan"))
    with on_day(clock, "2026-10-20"):  # a person's objection is dated the day they file it
        objection = client.post("/api/v1/objections", json={"measure_id": measure["id"], "reason": "异议"},
                                headers=auth("person")).json
    client.post(f"/api/v1/objections/{objection['id']}/decision",
                json={"outcome": "modified", "decided_on": "2026-11-02", "reason": "核减", "fund_loss": "50000.00"},
                headers=auth("staff-jinan"))
    return measure


def events(container) -> list[AuditEventRow]:
    with container.session_factory() as s:
        return s.scalars(select(AuditEventRow).order_by(AuditEventRow.seq)).all()


def test_every_change_is_recorded_with_actor_role_region_and_request_id(client, auth, container, clock):
    case(client, auth, clock)
    trail = events(container)
    actions = [e.action for e in trail]
    assert actions[:6] == ["client_created"] * 6  # the fixture's clients
    assert actions[6:] == ["violation_recorded", "notice_served", "objection_filed", "objection_modified",
                           "violation_corrected", "measure_created", "measure_revoked"]
    intake = trail[6]
    import json
    payload = json.loads(intake.payload)
    assert (payload["actor"], payload["role"], payload["actor_region"], payload["request_id"]) == (
        "staff-jinan", "staff", "370100", "req-intake-1")
    assert payload["after"]["fund_loss"] == "150000.00" and payload["after"]["measures"][0]["months"] == 6
    corrected = json.loads(trail[10].payload)
    assert corrected["before"]["fund_loss"] == "150000.00" and corrected["after"]["fund_loss"] == "50000.00"
    assert json.loads(trail[8].payload)["actor"] == "person"
    assert verify_ok(container)


def verify_ok(container) -> bool:
    with container.session_factory() as s:
        checked, problems = verify(s)
    assert checked == len(events(container))
    return problems == []


@pytest.mark.parametrize("tamper", ["edit_payload", "edit_column", "delete_row", "insert_row", "edit_hash"])
def test_audit_verify_detects_a_tampered_trail(client, auth, container, settings, tamper, monkeypatch, clock):
    case(client, auth, clock)
    trail = events(container)
    victim = trail[7]
    with container.engine.begin() as c:
        table = AuditEventRow.__table__
        if tamper == "edit_payload":
            c.execute(update(table).where(table.c.seq == victim.seq).values(
                payload=victim.payload.replace("2026-10-13", "2026-10-14")))
        elif tamper == "edit_column":
            c.execute(update(table).where(table.c.seq == victim.seq).values(region="370900"))
        elif tamper == "delete_row":
            c.execute(delete(table).where(table.c.seq == victim.seq))
        elif tamper == "insert_row":
            c.execute(update(table).where(table.c.seq >= victim.seq).values(seq=table.c.seq + 1000))
            c.execute(table.insert().values(
                seq=victim.seq, at=victim.at, day=victim.day, action="client_created", entity="api_client",
                entity_id="x", actor="intruder", payload="{}", prev_hash=trail[6].hash, hash="0" * 64))
        else:
            c.execute(update(table).where(table.c.seq == victim.seq).values(hash="f" * 64))
    assert not verify_ok_quiet(container)
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and "BROKEN" in result.output


def verify_ok_quiet(container) -> bool:
    with container.session_factory() as s:
        return verify(s)[1] == []


def test_audit_verify_on_an_intact_trail_exits_0(client, auth, settings, monkeypatch, clock):
    case(client, auth, clock)
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and "intact" in result.output


def test_audit_api_admin_sees_all_staff_their_region(client, auth, clock):
    case(client, auth, clock)
    client.post("/api/v1/violations", json=violation(region="370900"), headers=auth("staff-taian"))
    everything = client.get("/api/v1/audit", headers=auth("admin")).json["events"]
    jinan = client.get("/api/v1/audit", headers=auth("staff-jinan")).json["events"]
    assert {e["region"] for e in jinan} == {"370100"} and len(jinan) == 8  # staff-jinan's creation + the case
    assert len(everything) > len(jinan)
    person = client.get(f"/api/v1/audit?subject_type=insured&id_number={PERSON_ID}", headers=auth("admin")).json
    assert {e["id_number"] for e in person["events"]} == {PERSON_ID}
    dated = client.get("/api/v1/audit?from=2026-11-27", headers=auth("admin")).json["events"]
    assert dated == []
    assert client.get("/api/v1/audit?region=370900", headers=auth("staff-jinan")).status_code == 403
    assert client.get("/api/v1/audit", headers=auth("settlement")).status_code == 403
    bad = client.get("/api/v1/audit?subject_type=insured&id_number=" + with_wrong_check_digit(id_number()),
                     headers=auth("admin"))  # (was id_number()[:17] + "0": valid whenever the digit is 0)
    assert bad.status_code == 422
