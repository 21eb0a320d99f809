"""The Alembic migrations build exactly the schema the models describe (no create_all anywhere)."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from credit_service.adapters.orm import Base


def test_migrated_database_matches_the_models(database_url):
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_0006_turns_stored_identity_numbers_into_lookup_keys_and_keeps_the_audit_chain(tmp_path):
    """A database of 0005 with plain identity numbers in its rows and its audit trail (always on a SQLite
    file of its own: the session's database is already at head)."""
    import json
    from datetime import datetime, timezone

    from sqlalchemy import text

    from credit_service.adapters.migrations import upgrade
    from credit_service.services.audit import GENESIS, canonical, chain_hash, verify
    from sqlalchemy.orm import Session
    from tests.factories import TEST_KEYS, id_number, stored_key

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    upgrade(url, "0005")
    number, doctor = id_number(), id_number()
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    engine = create_engine(url)
    with engine.begin() as c:
        for vid, subject_type, person in (("v1", "insured", number), ("v2", "physician", doctor)):
            c.execute(text(
                "INSERT INTO violations (id, source, source_ref, body_hash, subject_type, id_number, region, "
                "occurred_on, determined_on, record_year, fund_loss_fen, handling, fraud, description, notes, "
                "recorded_by, recorded_at, intake_order) VALUES (:id, 's', :id, 'h', :t, :n, '370100', "
                "'2026-01-01', '2026-02-01', 2026, 100, 'agreement', 0, '', '', 'x', :now, 0)"),
                {"id": vid, "t": subject_type, "n": person, "now": now})
        c.execute(text("INSERT INTO measures (id, violation_id, kind, subject_type, id_number, region, record_year, "
                       "starts_on, rule_set, article, explanation, past_expiry, created_at) VALUES ('m1', 'v1', "
                       "'settlement_suspension', 'insured', :n, '370100', 2026, '2026-02-01', 'r', 'a', '', 0, :now)"),
                  {"n": number, "now": now})
        c.execute(text("INSERT INTO api_clients (id, name, role, subject_type, subject_id_number, token_hash, "
                       "created_at) VALUES ('c1', 'p', 'person', 'insured', :n, 'th', :now)"), {"n": number, "now": now})
        c.execute(text("INSERT INTO subject_changes (subject_type, id_number, changed_at) VALUES ('insured', :n, :now)"),
                  {"n": number, "now": now})
        c.execute(text("INSERT INTO subject_changes (subject_type, id_number, changed_at) VALUES ('client', 'th', :now)"),
                  {"now": now})
        previous = GENESIS
        for seq, (subject_type, person) in enumerate((("insured", number), (None, None), ("physician", doctor)), 1):
            payload = canonical({"seq": seq, "action": "violation_recorded", "entity": "violation", "entity_id": "v",
                                 "subject_type": subject_type, "id_number": person, "region": "370100",
                                 "actor": "x", "before": None, "after": {"fund_loss": "1.00"}})
            digest = chain_hash(previous, payload)
            c.execute(text("INSERT INTO audit_events (seq, at, day, action, entity, entity_id, subject_type, "
                           "id_number, region, actor, payload, prev_hash, hash) VALUES (:seq, :now, '2026-11-01', "
                           "'violation_recorded', 'violation', 'v', :t, :n, '370100', 'x', :p, :prev, :h)"),
                      {"seq": seq, "now": now, "t": subject_type, "n": person, "p": payload, "prev": previous,
                       "h": digest})
            previous = digest
    upgrade(url)
    key, doctor_key = stored_key(number), stored_key(doctor, "physician")
    with engine.connect() as c:
        assert set(c.execute(text("SELECT lookup_key FROM violations")).scalars()) == {key, doctor_key}
        assert c.execute(text("SELECT lookup_key FROM measures")).scalar() == key
        assert c.execute(text("SELECT subject_lookup_key FROM api_clients")).scalar() == key
        assert set(c.execute(text("SELECT lookup_key FROM subject_changes")).scalars()) == {key, "th"}
        sealed = dict(c.execute(text("SELECT subject_key, id_sealed FROM subjects")).all())
        assert TEST_KEYS.open("insured", sealed[key]) == number
        assert TEST_KEYS.open("physician", sealed[doctor_key]) == doctor
        payloads = [json.loads(p) for p in c.execute(text("SELECT payload FROM audit_events ORDER BY seq")).scalars()]
        assert [p["id_number"] for p in payloads] == [key, None, doctor_key]
        dump = " ".join(str(v) for t in ("violations", "measures", "api_clients", "subject_changes", "audit_events",
                                         "subjects") for row in c.execute(text(f"SELECT * FROM {t}")) for v in row)
        assert number not in dump and doctor not in dump
        # 0007: the replay fingerprint no longer covers the identity number
        from datetime import date
        from decimal import Decimal
        from credit_service.domain.violations import ViolationInput
        expected = ViolationInput(source="s", source_ref="v1", subject_type="insured", id_number="", name=None,
                                  region="370100", occurred_on=date(2026, 1, 1), determined_on=date(2026, 2, 1),
                                  fund_loss=Decimal("1.00"), handling="agreement", fraud=False, points=None,
                                  description="", months_override=None).body_hash()
        assert c.execute(text("SELECT body_hash FROM violations WHERE id = 'v1'")).scalar() == expected
    with Session(engine) as session:
        assert verify(session) == (3, [])
    engine.dispose()


def test_0006_refuses_to_rehash_a_broken_audit_chain(tmp_path):
    import pytest
    from sqlalchemy import text

    from credit_service.adapters.migrations import upgrade

    url = f"sqlite:///{tmp_path / 'broken.sqlite3'}"
    upgrade(url, "0005")
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO audit_events (seq, at, day, action, entity, entity_id, subject_type, id_number, "
                       "actor, payload, prev_hash, hash) VALUES (1, '2026-11-01 00:00:00', '2026-11-01', 'a', 'e', "
                       "'x', 'insured', '370102199001011231', 'x', '{}', :g, :h)"), {"g": "0" * 64, "h": "f" * 64})
    engine.dispose()
    with pytest.raises(RuntimeError, match="哈希链"):
        upgrade(url)


def _database_at_0007(tmp_path, chain_ok: bool = True) -> str:
    """A SQLite file at 0007 with a webhook (plain secret, no scope) and a short audit chain."""
    from datetime import datetime, timezone

    from sqlalchemy import text

    from credit_service.adapters.migrations import upgrade
    from credit_service.services.audit import GENESIS, canonical, chain_hash

    url = f"sqlite:///{tmp_path / 'at0007.sqlite3'}"
    upgrade(url, "0007")
    now = datetime(2026, 11, 1, tzinfo=timezone.utc)
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO webhooks (id, url, secret, events, start_seq, cursor, active, created_by, "
                       "created_at) VALUES ('w1', 'https://settle.example.cn/h', 'an-old-plain-secret-0001', "
                       "'[\"status.changed\"]', 0, 7, 1, 'admin', :now)"), {"now": now})
        previous = GENESIS
        for seq in (1, 2, 3):
            payload = canonical({"seq": seq, "action": "client_created", "entity": "api_client", "entity_id": "c",
                                 "subject_type": None, "id_number": None, "region": None, "actor": "x"})
            digest = chain_hash(previous, payload) if chain_ok or seq != 2 else "f" * 64
            c.execute(text("INSERT INTO audit_events (seq, at, day, action, entity, entity_id, actor, payload, "
                           "prev_hash, hash) VALUES (:seq, :now, '2026-11-01', 'client_created', 'api_client', "
                           "'c', 'x', :p, :prev, :h)"), {"seq": seq, "now": now, "p": payload, "prev": previous,
                                                        "h": digest})
            previous = digest
    engine.dispose()
    return url


def test_0008_seals_webhook_secrets_deactivates_unscoped_webhooks_and_macs_the_audit_chain(tmp_path, monkeypatch):
    import json

    from click.testing import CliRunner
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from credit_service.adapters.migrations import upgrade
    from credit_service.cli import main as cli
    from credit_service.services.audit import verify
    from tests.factories import TEST_KEYS

    url = _database_at_0007(tmp_path)
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as c:
        row = c.execute(text("SELECT * FROM webhooks")).mappings().one()
        assert "secret" not in row and "an-old-plain-secret" not in " ".join(str(v) for v in row.values())
        assert TEST_KEYS.open_secret("webhook-secret:w1", row["secret_sealed"]) == "an-old-plain-secret-0001"
        assert len(TEST_KEYS.open_secret("webhook-pseudonym:w1", row["pseudonym_key_sealed"])) == 44
        # It would have had every subject of the province: off, until it is given a scope.
        assert (row["active"], row["scope"], row["cursor"]) == (False, None, 7)
        assert all(c.execute(text("SELECT mac FROM audit_events")).scalars())
    with Session(engine) as session:
        assert verify(session) == (3, [])
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", url)
    result = CliRunner().invoke(cli, ["webhooks", "scope", "w1", "--region", "370100"])
    assert result.exit_code == 0, result.output
    with engine.connect() as c:
        row = c.execute(text("SELECT active, scope, cursor FROM webhooks")).one()
        assert (row.active, json.loads(row.scope), row.cursor) == (True, {"regions": ["370100"]}, 7)
    engine.dispose()


def test_0008_refuses_to_mac_a_broken_audit_chain(tmp_path):
    import pytest

    from credit_service.adapters.migrations import upgrade

    url = _database_at_0007(tmp_path, chain_ok=False)
    with pytest.raises(RuntimeError, match="哈希链"):
        upgrade(url)

