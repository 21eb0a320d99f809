"""The audit trail (issue 5): every change appends an event in its own transaction, hash-chained, so
`credit-service audit verify` detects an edited, deleted or inserted row."""
from __future__ import annotations

import json

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


# -- issue 9, finding 12: the chain is anchored outside the database's reach ---------------------------

def _rewrite_from(container, seq: int, edit) -> None:
    """What someone with write access to the database can do: edit one event, then recompute its hash
    and every later one, so that the chain is consistent again."""
    from credit_service.services.audit import chain_hash
    table = AuditEventRow.__table__
    with container.engine.begin() as c:
        rows = c.execute(select(table).where(table.c.seq >= seq).order_by(table.c.seq)).mappings().all()
        previous = rows[0]["prev_hash"]
        for row in rows:
            payload = edit(row["payload"]) if row["seq"] == seq else row["payload"]
            digest = chain_hash(previous, payload)
            c.execute(update(table).where(table.c.seq == row["seq"]).values(payload=payload, prev_hash=previous,
                                                                             hash=digest))
            previous = digest


def _verify_cli(monkeypatch, settings, **env):
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(cli, ["audit", "verify"])


def test_finding_12_editing_one_event_and_recomputing_every_later_hash_fails_verify(
        client, auth, container, settings, monkeypatch, clock):
    case(client, auth, clock)
    victim = events(container)[7]
    assert "2026-10-13" in victim.payload
    _rewrite_from(container, victim.seq, lambda p: p.replace("2026-10-13", "2026-10-14"))
    with container.session_factory() as s:  # the chain itself is consistent again ...
        from credit_service.services.audit import chain_hash
        trail = s.scalars(select(AuditEventRow).order_by(AuditEventRow.seq)).all()
        assert all(chain_hash(e.prev_hash, e.payload) == e.hash for e in trail)
    assert not verify_ok_quiet(container)  # ... but its MACs are not
    result = _verify_cli(monkeypatch, settings)
    assert result.exit_code == 1 and f"seq {victim.seq}:" in result.output, result.output


def test_finding_12_deleting_the_newest_events_after_an_anchor_fails_verify(
        client, auth, container, settings, monkeypatch, tmp_path, clock):
    anchors = tmp_path / "anchors.jsonl"
    monkeypatch.setenv("CREDIT_SERVICE_AUDIT_ANCHOR_FILE", str(anchors))
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    case(client, auth, clock)
    result = CliRunner().invoke(cli, ["audit", "anchor"])
    assert result.exit_code == 0, result.output
    head = events(container)[-1]
    [line] = anchors.read_text().splitlines()
    anchored = json.loads(line)
    assert (anchored["seq"], anchored["hash"]) == (head.seq, head.hash) and anchored["mac"] and anchored["at"]
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 201
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and "1 anchor" in result.output, result.output
    # The newest events go — down to before the anchored head: a shorter chain, valid link by link.
    with container.engine.begin() as c:
        c.execute(delete(AuditEventRow.__table__).where(AuditEventRow.seq >= head.seq - 1))
    with container.session_factory() as s:
        assert verify(s)[1] == []  # without the anchor nothing is wrong
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and f"seq {head.seq}:" in result.output, result.output


def test_finding_12_a_forged_or_edited_anchor_line_fails_verify(client, auth, container, settings, monkeypatch,
                                                               tmp_path, clock):
    anchors = tmp_path / "anchors.jsonl"
    monkeypatch.setenv("CREDIT_SERVICE_AUDIT_ANCHOR_FILE", str(anchors))
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    case(client, auth, clock)
    assert CliRunner().invoke(cli, ["audit", "anchor"]).exit_code == 0
    line = json.loads(anchors.read_text())
    line["at"] = "2020-01-01T00:00:00+08:00"
    with anchors.open("a") as f:
        f.write(json.dumps(line) + "\n")
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 1 and "锚点第2行签名不符" in result.output, result.output


def test_finding_12_a_wrong_audit_key_fails_verify_clearly(client, auth, container, settings, monkeypatch, clock):
    case(client, auth, clock)
    from tests.factories import TEST_AUDIT_KEYS
    key_id = TEST_AUDIT_KEYS.split(":")[0]
    wrong = f"{key_id}:" + "d3JvbmctYXVkaXQta2V5LTAwMDAwMDAwMDAwMDAwMDA="
    result = _verify_cli(monkeypatch, settings, CREDIT_SERVICE_AUDIT_MAC_KEYS=wrong)
    assert result.exit_code == 1 and "CREDIT_SERVICE_AUDIT_MAC_KEYS" in result.output, result.output
    assert len(result.output.splitlines()) < 5  # one clear sentence, not one line per event
    result = _verify_cli(monkeypatch, settings, CREDIT_SERVICE_AUDIT_MAC_KEYS="zz:" + wrong.split(":")[1])
    assert result.exit_code == 1 and f"MAC密钥 {key_id} 未配置" in result.output, result.output


def test_finding_12_the_anchor_job_anchors_new_heads_once_and_refuses_a_tampered_one(
        client, auth, container, settings, tmp_path, clock):
    from dataclasses import replace

    from credit_service.jobs import runner
    from credit_service.services.audit import AnchorRefused
    container.settings = replace(settings, audit_anchor_file=tmp_path / "anchors.jsonl")
    case(client, auth, clock)
    head = events(container)[-1].seq
    assert runner.run_job(container, "audit_anchor") == f"anchored seq {head}"
    assert runner.run_job(container, "audit_anchor") == "nothing new to anchor"  # e.g. the other worker
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 201
    newest = events(container)[-1].seq
    assert runner.run_job(container, "audit_anchor") == f"anchored seq {newest}"
    # Someone rewrites the events since the last anchor: the job will not vouch for them.
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 201
    _rewrite_from(container, newest + 1, lambda p: p.replace("150000.00", "15000.00"))
    with pytest.raises(AnchorRefused):
        runner.run_job(container, "audit_anchor")
    assert len((tmp_path / "anchors.jsonl").read_text().splitlines()) == 2
