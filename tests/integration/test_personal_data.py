"""Identity numbers at rest (issue 5, item 2): a keyed lookup hash in every table, the number only
sealed (AES-GCM) in `subjects`; key rotation keeps every answer and the audit chain."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.exceptions import InvalidTag
from sqlalchemy import inspect, select, text, update
from sqlalchemy.engine import make_url

from credit_service import create_app
from credit_service.adapters import pii
from credit_service.adapters.orm import SubjectRow, WebSessionRow
from credit_service.adapters.subjects import reveal
from credit_service.cli import main as cli
from credit_service.services.audit import verify
from credit_service.services.clients import create_client
from tests.conftest import PERSON_ID
from tests.factories import TEST_ENCRYPTION_KEYS, TEST_HMAC_KEYS, TEST_KEYS, id_number, stored_key, violation
from tests.sqlite_files import read_database_files
from tests.workflow import on_day

NEW_HMAC = "k2:" + "bmV3LWhtYWMta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDA="
NEW_ENCRYPTION = "k2:" + "bmV3LWFlcy1rZXktMDAwMDAwMDAwMDAwMDAwMDAwMDA="


@pytest.fixture
def settings(settings):
    """The webhook receiver of the full case listens on 127.0.0.1: listed, as issue 9 (finding 4) requires."""
    return dataclasses.replace(settings, webhook_allowed_hosts="127.0.0.1")


def full_case(client, container, auth) -> dict:
    """Intake (insured and physician), notice, objection and decision, repair, expert recommendation,
    a person client, a webhook delivery and every sweep: each table that names a subject gets rows."""
    from credit_service.jobs import runner
    from tests.webhook_receiver import SECRET, Receiver
    numbers = {"insured": id_number(), "doctor": id_number(), "repaired": id_number(), "person": PERSON_ID}
    receiver = Receiver()
    try:
        assert client.post("/api/v1/webhooks", headers=auth(), json={
            "url": receiver.url, "secret": SECRET, "events": ["status.changed"],
            "scope": {"regions": ["370100"]}}).status_code == 201
        measure = client.post("/api/v1/violations", headers=auth("staff-jinan"), json=violation(
            id_number=numbers["person"], occurred_on="2026-09-01", determined_on="2026-10-09")).json["measures"][0]
        assert client.post(f"/api/v1/measures/{measure['id']}/notice", headers=auth("staff-jinan"), json={
            "served_on": "2026-10-12", "received_on": "2026-10-13"}).status_code == 201
        with on_day(container.clock, "2026-10-20"):  # a person's objection is dated the day they file it
            objection = client.post("/api/v1/objections", headers=auth("person"), json={
                "measure_id": measure["id"], "reason": "金额有误"}).json
        assert client.post(f"/api/v1/objections/{objection['id']}/decision", headers=auth("staff-jinan"), json={
            "outcome": "modified", "decided_on": "2026-11-02", "reason": "核减", "fund_loss": "50000.00"}
        ).status_code == 200
        repaired = client.post("/api/v1/violations", headers=auth(), json=violation(
            id_number=numbers["repaired"], fund_loss="50000.00", occurred_on="2026-03-01",
            determined_on="2026-03-02")).json["measures"][0]
        repair = client.post("/api/v1/repairs", headers=auth("staff-jinan"), json={
            "subject_type": "insured", "id_number": numbers["repaired"], "measure_id": repaired["id"],
            "filed_on": "2026-04-01", "corrected": True, "adverse_effects_removed": True, "commitment": True,
            "evidence": ["退款凭证"]})
        assert repair.status_code == 201, repair.json
        assert client.post(f"/api/v1/repairs/{repair.json['id']}/decision", headers=auth("staff-jinan"), json={
            "outcome": "approved", "decided_on": "2026-04-20", "reason": "核实"}).status_code == 200
        assert client.post("/api/v1/violations/import", headers=auth(), json=[
            violation(id_number=numbers["insured"]),
            violation(id_number=numbers["doctor"], subject_type="physician", points=10, category="grave",
                      handling="agreement")]).status_code == 200
        assert client.post(f"/api/v1/subjects/physician/{numbers['doctor']}/expert-recommendations",
                           headers=auth(), json={"year": 2026, "region": "370100", "reason": "表现突出"}
                           ).status_code == 201
        for job in runner.JOBS:
            runner.run_job(container, job, force=True)
        assert runner.run_job(container, "webhook_delivery").split(",")[1].strip() != "0 delivered"
    finally:
        receiver.close()
    numbers.update(measure=measure["id"], objection=objection["id"], repair=repair.json["id"])
    return numbers


def _people(numbers: dict) -> list[tuple[str, str]]:
    return [("insured", numbers["insured"]), ("insured", numbers["person"]), ("insured", numbers["repaired"]),
            ("physician", numbers["doctor"])]


def answers(client, auth, numbers: dict) -> dict:
    """What the API says about the case, to every role that may ask."""
    got = {}
    for subject_type, number in _people(numbers):
        for role in ("settlement", "staff-jinan"):
            got[f"status {number} {role}"] = client.get(f"/api/v1/subjects/{subject_type}/{number}/status?on=2026-11-26",
                                                        headers=auth(role)).json
            got[f"record {number} {role}"] = client.get(f"/api/v1/subjects/{subject_type}/{number}/record?year=2026",
                                                        headers=auth("admin" if role == "settlement" else role)).json
        got[f"audit {number}"] = client.get(f"/api/v1/audit?subject_type={subject_type}&id_number={number}",
                                            headers=auth()).json
    got["batch"] = client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "on": "2026-11-26", "subjects": [{"subject_type": t, "id_number": n} for t, n in _people(numbers)]}).json
    got["person record"] = client.get(f"/api/v1/subjects/insured/{numbers['person']}/record?year=2026",
                                      headers=auth("person")).json
    got["person status"] = client.get(f"/api/v1/subjects/insured/{numbers['person']}/status?on=2026-11-26",
                                      headers=auth("person")).json
    got["audit all"] = client.get("/api/v1/audit", headers=auth()).json
    got["worklist"] = client.get("/api/v1/worklist?region=370100", headers=auth("staff-jinan")).json
    got["objection"] = client.get(f"/api/v1/objections/{numbers['objection']}", headers=auth("staff-jinan")).json
    got["objection person"] = client.get(f"/api/v1/objections/{numbers['objection']}", headers=auth("person")).json
    got["repair"] = client.get(f"/api/v1/repairs/{numbers['repair']}", headers=auth("staff-jinan")).json
    got["notice"] = client.get(f"/api/v1/measures/{numbers['measure']}/notice", headers=auth("person")).text
    return got


def _every_text_value(engine) -> list[tuple[str, str, str]]:
    found = []
    with engine.connect() as connection:
        for table in inspect(connection).get_table_names():
            columns = [c["name"] for c in inspect(connection).get_columns(table)]
            for row in connection.execute(text(f"SELECT * FROM {table}")):
                for column, value in zip(columns, row):
                    if value is not None:
                        found.append((table, column, str(value)))
    return found


def test_no_table_holds_an_identity_number_after_a_full_case(client, container, auth, database_url):
    numbers = full_case(client, container, auth)
    people = [n for _, n in _people(numbers)]
    values = _every_text_value(container.engine)
    assert {t for t, _, _ in values} >= {"violations", "measures", "notices", "objections", "repairs", "subjects",
                                         "measure_events", "audit_events", "expert_recommendations",
                                         "api_clients", "subject_changes", "webhook_deliveries"}
    for number in people:
        leaks = [(t, c) for t, c, v in values if number in v or number[:17] in v]
        assert leaks == [], f"{number} stored in plain text in {leaks}"
    # Where the number was, the lookup key is; the sealed number opens to it (staff see it).
    with container.session_factory() as session:
        sealed = {r.lookup_key: r for r in session.scalars(select(SubjectRow))}
        for subject_type, number in _people(numbers):
            key = stored_key(number, subject_type)
            assert key.startswith("t1:") and sealed[key].id_sealed.startswith("t1:")
            assert TEST_KEYS.open(subject_type, sealed[key].id_sealed) == number
        assert set(reveal(session, container.keys, [stored_key(numbers["doctor"], "physician")]).values()) == {
            numbers["doctor"]}
    if make_url(database_url).get_backend_name() == "sqlite":  # also not in any page of the file or its WAL
        path = Path(make_url(database_url).database)
        # read by a child process: a read here would drop this process's SQLite locks (tests/sqlite_files.py)
        content = read_database_files(path, Path(f"{path}-wal"))
        for number in people:
            assert number.encode() not in content and number.encode("utf-16-le") not in content


def test_staff_see_the_number_everyone_else_sees_it_masked(client, container, auth):
    numbers = full_case(client, container, auth)
    number = numbers["person"]
    masked = number[:6] + "********" + number[14:]
    got = answers(client, auth, numbers)
    assert got[f"record {number} staff-jinan"]["id_number"] == number
    assert {v["subject"]["id_number"] for v in got[f"record {number} staff-jinan"]["violations"]} == {number}
    assert got[f"status {number} settlement"]["id_number"] == masked
    assert got["person record"]["id_number"] == masked
    assert {v["subject"]["id_number"] for v in got["person record"]["violations"]} == {masked}
    assert got["objection"]["id_number"] == number and got["objection person"]["id_number"] == masked
    assert got["repair"]["id_number"] == numbers["repaired"]
    assert {i["id_number"] for i in got["worklist"]["items"]} <= {number, numbers["repaired"]}
    assert {e["id_number"] for e in got[f"audit {number}"]["events"]} == {number}
    assert masked in got["notice"] and number not in got["notice"]


def test_a_tampered_or_moved_sealed_number_does_not_open(client, container, auth):
    sealed = TEST_KEYS.seal("insured", PERSON_ID)
    assert TEST_KEYS.open("insured", sealed) == PERSON_ID
    key_id, body = sealed.split(":")
    raw = bytearray(pii._unb64(body))
    for position in (0, 12, len(raw) - 1):  # nonce, ciphertext, tag
        altered = bytearray(raw)
        altered[position] ^= 1
        with pytest.raises(InvalidTag):
            TEST_KEYS.open("insured", f"{key_id}:{pii._b64(bytes(altered))}")
    with pytest.raises(InvalidTag):  # the subject type is bound as associated data
        TEST_KEYS.open("physician", sealed)
    assert sealed != TEST_KEYS.seal("insured", PERSON_ID)  # a fresh nonce each time
    # In the database: a row altered by hand makes the staff answer fail rather than show another number.
    numbers = full_case(client, container, auth)
    key = stored_key(numbers["repaired"])
    other = TEST_KEYS.seal("insured", numbers["insured"])
    with container.engine.begin() as connection:
        stolen = connection.execute(select(SubjectRow.id_sealed).where(SubjectRow.lookup_key == key)).scalar()
        connection.execute(update(SubjectRow).where(SubjectRow.lookup_key == key).values(
            id_sealed=stolen[:-4] + ("AAAA" if not stolen.endswith("AAAA") else "BBBB")))
    with container.session_factory() as session, pytest.raises(InvalidTag):
        reveal(session, container.keys, [key])
    assert other  # sealing still works for new subjects


def test_key_configuration_is_checked():
    for bad in ("", "k1", "K1:" + TEST_HMAC_KEYS[3:], "k1:bm90LTMyLWJ5dGVz", f"{TEST_HMAC_KEYS},{TEST_HMAC_KEYS}"):
        with pytest.raises(pii.KeyConfigError):
            pii.KeyRing.from_text(bad, TEST_ENCRYPTION_KEYS)
    ring = pii.KeyRing.from_text(f"{NEW_HMAC},{TEST_HMAC_KEYS}", TEST_ENCRYPTION_KEYS)
    assert ring.lookup_key("insured", PERSON_ID).startswith("k2:")
    assert ring.lookup_keys("insured", PERSON_ID) == [ring.lookup_key("insured", PERSON_ID), stored_key(PERSON_ID)]
    assert ring.lookup_key("insured", PERSON_ID) != ring.lookup_key("physician", PERSON_ID)
    # The fast HMAC (precomputed pad states) is HMAC-SHA256 as the standard library computes it.
    import base64
    import hmac
    for number in (PERSON_ID, id_number(), id_number(birth="19591231")):
        digest = hmac.digest(base64.b64decode(TEST_HMAC_KEYS[3:]), f"insured:{number}".encode(), "sha256")
        assert stored_key(number) == "t1:" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_default_keys_are_made_once_in_the_data_directory(tmp_path):
    first = pii.load_or_create_default_keys(tmp_path)
    assert pii.load_or_create_default_keys(tmp_path) == first
    assert (pii.key_file(tmp_path).stat().st_mode & 0o777) == 0o600
    ring = pii.KeyRing.from_text(first["hmac_keys"], first["encryption_keys"])
    assert ring.open("insured", ring.seal("insured", PERSON_ID)) == PERSON_ID


def _app(settings, clock, hmac_keys: str, encryption_keys: str):
    app = create_app(dataclasses.replace(settings, pii_hmac_keys=hmac_keys, pii_encryption_keys=encryption_keys),
                     clock=clock)
    app.config["TESTING"] = True
    return app


def _close(app) -> None:
    container = app.extensions["credit_service"]
    container.index.stop()
    container.engine.dispose()


def test_rotation_keeps_every_answer_and_the_audit_chain_and_the_old_keys_can_go(
        client, container, auth, settings, clock, monkeypatch):
    numbers = full_case(client, container, auth)
    before = answers(client, auth, numbers)
    with container.session_factory() as session:
        trail_before = session.execute(text("SELECT seq, payload, hash FROM audit_events ORDER BY seq")).all()
        # a person signed in to the self-service pages (web/sessions.py): the session names them by key
        at = clock.now()
        session.add(WebSessionRow(id_hash="s" * 64, door="me", subject_type="insured",
                                  lookup_key=stored_key(numbers["insured"]), data="{}", created_at=at,
                                  signed_in_at=at, last_seen_at=at))
        session.commit()
    # The operator puts the new keys first, keeps the old ones after them, and rotates (small batches).
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CREDIT_SERVICE_PII_HMAC_KEYS", f"{NEW_HMAC},{TEST_HMAC_KEYS}")
    monkeypatch.setenv("CREDIT_SERVICE_PII_ENCRYPTION_KEYS", f"{NEW_ENCRYPTION},{TEST_ENCRYPTION_KEYS}")
    apps = []
    try:
        result = CliRunner().invoke(cli, ["keys", "rotate", "--batch", "2"])
        assert result.exit_code == 0, result.output
        with container.session_factory() as session:
            subjects = session.scalar(text("SELECT count(*) FROM subjects WHERE lookup_key LIKE 'k2:%'"))
        assert subjects == len(_people(numbers)) == 4
        assert "4 subjects moved to the current lookup key, 4 numbers re-sealed" in result.output
        again = CliRunner().invoke(cli, ["keys", "rotate"])  # idempotent: nothing left to do
        assert "0 subjects moved to the current lookup key, 0 numbers re-sealed" in again.output
        status = CliRunner().invoke(cli, ["keys", "status"])
        assert f"lookup k2: {subjects}" in status.output and "lookup t1" not in status.output
        assert "sealed t1" not in status.output

        # Nothing but the audit trail (never rewritten) and retired subjects rows names an old key.
        values = _every_text_value(container.engine)
        old = {(t, c) for t, c, v in values if v.startswith("t1:")}
        assert old == {("audit_events", "lookup_key"), ("subjects", "lookup_key")}
        with container.session_factory() as session:  # the signed-in person still reads their own records
            assert session.scalar(select(WebSessionRow.lookup_key)) == pii.KeyRing.from_text(
                NEW_HMAC, NEW_ENCRYPTION).lookup_key("insured", numbers["insured"])
        with container.session_factory() as session:
            assert session.scalar(text("SELECT count(*) FROM subjects WHERE lookup_key LIKE 't1:%' "
                                       "AND retired_at IS NULL")) == 0
            assert verify(session)[1] == []
            trail_after = session.execute(text("SELECT seq, payload, hash FROM audit_events ORDER BY seq")).all()
        assert trail_after == trail_before
        assert CliRunner().invoke(cli, ["audit", "verify"]).exit_code == 0

        # Every answer is the same with the new keys; the old encryption key can go at once, and the old
        # HMAC key too, except for finding pre-rotation audit events by subject (docs/personal-data.md).
        for hmac_keys, encryption_keys in ((f"{NEW_HMAC},{TEST_HMAC_KEYS}", f"{NEW_ENCRYPTION},{TEST_ENCRYPTION_KEYS}"),
                                           (f"{NEW_HMAC},{TEST_HMAC_KEYS}", NEW_ENCRYPTION),
                                           (NEW_HMAC, NEW_ENCRYPTION)):
            app = _app(settings, clock, hmac_keys, encryption_keys)
            apps.append(app)
            after = answers(app.test_client(), auth, numbers)
            if hmac_keys == NEW_HMAC:
                for subject_type, number in _people(numbers):
                    assert len(after.pop(f"audit {number}")["events"]) < len(before[f"audit {number}"]["events"])
                after.update({k: v for k, v in before.items() if k.startswith("audit ") and k != "audit all"})
            assert after == before, hmac_keys
        # New intake after the rotation lands on the same subject (the same ledger).
        later = apps[-1].test_client().post("/api/v1/violations", headers=auth(), json=violation(
            id_number=numbers["insured"], fund_loss="60000.00", determined_on="2025-05-10"))
        assert later.status_code == 201 and later.json["measures"][0]["months"] is not None
    finally:
        for app in apps:
            _close(app)
        pii.use(TEST_KEYS)
