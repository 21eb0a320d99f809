"""The Alembic migrations build exactly the schema the models describe (no create_all anywhere)."""
from __future__ import annotations

import hashlib

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
        sealed = dict(c.execute(text("SELECT lookup_key, id_sealed FROM subjects")).all())
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


# -- 0019: the lookup-key columns renamed ---------------------------------------------------------------

_RENAMED = {"violations": "id_number", "measures": "id_number", "subject_changes": "id_number",
            "expert_recommendations": "id_number", "notices": "id_number", "objections": "id_number",
            "repairs": "id_number", "measure_events": "id_number", "audit_events": "id_number",
            "evidence_files": "id_number", "api_clients": "subject_id_number"}
_NEW_NAME = {"id_number": "lookup_key", "subject_id_number": "subject_lookup_key"}
_OLD_INDEXES = {f"ix_{t}_id_number" for t in ("notices", "objections", "repairs", "expert_recommendations",
                                              "evidence_files")}


def _own_database(request, tmp_path, name: str):
    """A database of this test's own, at no revision yet: a SQLite file; on PostgreSQL (when the suite runs
    there) a schema of its own in the suite's database, dropped afterwards."""
    import os
    from urllib.parse import quote

    from sqlalchemy import text

    base = os.environ.get("CREDIT_SERVICE_TEST_DATABASE_URL")
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / (name + '.sqlite3')}"
    import pytest
    if not base or not base.startswith("postgresql"):
        pytest.skip("PostgreSQL: CREDIT_SERVICE_TEST_DATABASE_URL is not a PostgreSQL database")
    schema = f"m_{name}"
    engine = create_engine(base)
    with engine.begin() as c:
        c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        c.execute(text(f"CREATE SCHEMA {schema}"))

    def drop():
        with engine.begin() as c:
            c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()
    request.addfinalizer(drop)
    return base + ("&" if "?" in base else "?") + "options=" + quote(f"-csearch_path={schema}")


def _a_row_for_every_column(table, n: int) -> dict:
    """Row n of `table` (as reflected): a value for every column, chosen by type, with the foreign keys
    pointing at violation v<n> and measure m<n>."""
    from datetime import date, datetime, timezone

    import sqlalchemy as sa

    row = {}
    for column in table.columns:
        name, kind = column.name, column.type
        if name == "violation_id":
            row[name] = f"v{n}"
        elif name == "measure_id":
            row[name] = f"m{n}"
        elif name in _RENAMED.values():
            row[name] = f"k1:key-of-{table.name}-{n}"
        elif isinstance(kind, sa.Boolean):
            row[name] = False
        elif isinstance(kind, (sa.Integer, sa.BigInteger)):
            row[name] = n
        elif isinstance(kind, sa.DateTime):
            row[name] = datetime(2026, 11, 1, 8, 0, n, tzinfo=timezone.utc)
        elif isinstance(kind, sa.Date):
            row[name] = date(2026, 11, n)
        elif isinstance(kind, sa.LargeBinary):
            row[name] = b"%PDF-1.4 evidence"
        elif isinstance(kind, sa.String) and kind.length is not None:
            row[name] = f"{name[:3]}{n}"[:kind.length]
        else:
            row[name] = f"{name} {n}"
    if "id" in row and isinstance(row["id"], str):
        row["id"] = {"violations": f"v{n}", "measures": f"m{n}"}.get(table.name, f"{table.name[:4]}{n}")
    return row


def _rows_of(engine, tables) -> dict[str, list[dict]]:
    from sqlalchemy import MetaData, Table, select
    meta = MetaData()
    with engine.connect() as c:
        out = {}
        for name in tables:
            t = Table(name, meta, autoload_with=c)
            out[name] = sorted((dict(r) for r in c.execute(select(t)).mappings()), key=repr)
        return out


def _schema_names(engine) -> tuple[dict[str, set[str]], set[str]]:
    from sqlalchemy import inspect
    inspector = inspect(engine)
    columns = {t: {c["name"] for c in inspector.get_columns(t)} for t in _RENAMED}
    indexes = {i["name"] for t in _RENAMED for i in inspector.get_indexes(t)}
    return columns, indexes


import pytest as _pytest  # noqa: E402


@_pytest.fixture(params=["sqlite", "postgresql"])
def database_0018(request, tmp_path):
    """A database at 0018 with rows in every table 0019 renames a column of (two rows each)."""
    from sqlalchemy import MetaData, Table

    from credit_service.adapters.migrations import upgrade

    url = _own_database(request, tmp_path, "at0018")
    upgrade(url, "0018")
    engine = create_engine(url)
    order = ["violations", "measures"] + [t for t in _RENAMED if t not in ("violations", "measures")]
    with engine.begin() as c:
        meta = MetaData()
        for name in order:
            table = Table(name, meta, autoload_with=c)
            c.execute(table.insert(), [_a_row_for_every_column(table, n) for n in (1, 2)])
    yield url, engine
    engine.dispose()


def test_0019_renames_the_lookup_key_columns_and_their_indexes_keeping_every_row_and_back(database_0018):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from credit_service.adapters.migrations import alembic_config, upgrade

    url, engine = database_0018
    before = _rows_of(engine, _RENAMED)
    assert all(before.values())
    renamed = {t: [{_NEW_NAME.get(k, k) if k == _RENAMED[t] else k: v for k, v in r.items()} for r in rows]
               for t, rows in before.items()}

    upgrade(url)
    columns, indexes = _schema_names(engine)
    for table, old in _RENAMED.items():
        assert old not in columns[table] and _NEW_NAME[old] in columns[table], table
    assert not indexes & _OLD_INDEXES
    assert {i.replace("id_number", "lookup_key") for i in _OLD_INDEXES} <= indexes
    assert _rows_of(engine, _RENAMED) == renamed
    with engine.connect() as connection:  # exactly the schema the models describe
        assert compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                Base.metadata) == []

    command.downgrade(alembic_config(url), "0018")  # renaming back is lossless
    columns, indexes = _schema_names(engine)
    for table, old in _RENAMED.items():
        assert old in columns[table] and _NEW_NAME[old] not in columns[table], table
    assert _OLD_INDEXES <= indexes
    assert _rows_of(engine, _RENAMED) == before

    upgrade(url)
    assert _rows_of(engine, _RENAMED) == renamed
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                Base.metadata) == []


def test_0019_keeps_the_partial_indexes_and_the_change_feed_trigger(database_0018):
    from sqlalchemy import text

    from credit_service.adapters.migrations import upgrade

    url, engine = database_0018
    upgrade(url)
    with engine.connect() as c:
        if engine.dialect.name == "sqlite":
            partial = dict(c.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'index' "
                                          "AND sql LIKE '%WHERE%'")).all())
            assert {name: " ".join(sql.split()[-4:]) for name, sql in partial.items()} == {
                "ix_measures_due_start": "WHERE activated_on IS NULL", "ix_measures_due_end": "WHERE ended_on IS NULL",
                "uq_objections_open": "WHERE state = 'open'", "uq_repairs_open": "WHERE state = 'open'"}
        else:
            partial = dict(c.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = "
                                          "current_schema() AND indexdef LIKE '%WHERE%'")).all())
            assert set(partial) == {"ix_measures_due_start", "ix_measures_due_end", "uq_objections_open",
                                    "uq_repairs_open"}
            # the NOTIFY trigger of 0015 reads no column: it is there, on the renamed table, still firing
            assert c.execute(text("SELECT count(*) FROM pg_trigger WHERE tgname = 'subject_changes_notify' "
                                  "AND tgrelid = 'subject_changes'::regclass")).scalar() == 1


def test_0019_audit_events_written_before_and_after_the_rename_all_verify(database_0018, monkeypatch):
    """The hash covers the payload's text, which names the field `id_number`; the rename rewrites no
    payload, and verify compares that field with the renamed column."""
    import json
    from datetime import datetime, timezone

    from click.testing import CliRunner
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from credit_service.adapters.audit_keys import current
    from credit_service.adapters.migrations import upgrade
    from credit_service.cli import main as cli
    from credit_service.services.audit import GENESIS, SYSTEM, Change, canonical, chain_hash, verify
    from credit_service.adapters.audit_trail import append

    url, engine = database_0018
    key = "k1:the-subjects-lookup-key"
    with engine.begin() as c:  # the test data of the fixture holds no audit chain: start one
        c.execute(text("DELETE FROM audit_events"))
        previous = GENESIS
        for seq, person in enumerate((key, None, key), 1):
            # as the code of 0018 wrote them (adapters/audit_trail.py then): field and column `id_number`
            payload = canonical({"seq": seq, "at": "2026-11-01T16:00:00+08:00", "actor": "li", "role": "staff",
                                 "actor_region": "370100", "request_id": None, "action": "violation_recorded",
                                 "entity": "violation", "entity_id": f"v{seq}", "subject_type": "insured" if person
                                 else None, "id_number": person, "region": "370100", "before": None,
                                 "after": {"fund_loss": "1.00"}})
            digest = chain_hash(previous, payload)
            c.execute(text("INSERT INTO audit_events (seq, at, day, action, entity, entity_id, subject_type, "
                           "id_number, region, actor, payload, prev_hash, hash, mac) VALUES (:seq, :at, "
                           "'2026-11-01', 'violation_recorded', 'violation', :e, :t, :n, '370100', 'li', :p, "
                           ":prev, :h, :mac)"),
                      {"seq": seq, "at": datetime(2026, 11, 1, 8, tzinfo=timezone.utc), "e": f"v{seq}",
                       "t": "insured" if person else None, "n": person, "p": payload, "prev": previous,
                       "h": digest, "mac": current().event_mac(seq, digest)})
            previous = digest

    upgrade(url)
    with Session(engine) as session:  # more events, written by today's code
        append(session, [(Change("violation_recorded", "violation", "v4", "insured", key, "370100"), SYSTEM),
                         (Change("client_created", "api_client", "c1"), SYSTEM)],
               datetime(2026, 11, 2, tzinfo=timezone.utc))
        session.commit()
    with engine.connect() as c:
        rows = c.execute(text("SELECT seq, lookup_key, payload FROM audit_events ORDER BY seq")).all()
    assert [(seq, k, json.loads(p)["id_number"]) for seq, k, p in rows] == [
        (1, key, key), (2, None, None), (3, key, key), (4, key, key), (5, None, None)]
    with Session(engine) as session:
        assert verify(session) == (5, [])
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", url)
    result = CliRunner().invoke(cli, ["audit", "verify"])
    assert result.exit_code == 0 and "5 events" in result.output, result.output

    # ... and the mirrored column is still checked against the payload, under its new name
    with engine.begin() as c:
        c.execute(text("UPDATE audit_events SET lookup_key = 'k1:someone-else' WHERE seq = 1"))
    with Session(engine) as session:
        checked, problems = verify(session)
    assert [(p.seq, p.problem) for p in problems] == [(1, "字段 lookup_key 与记录内容不符（记录被篡改）")]


# -- 0020: the subject lookup-key columns renamed ----------------------------------------------------------

_RENAMED_0020 = {"subjects": ("subject_key", "lookup_key"), "web_sessions": ("subject_key", "lookup_key")}


@_pytest.fixture(params=["sqlite", "postgresql"])
def database_0019(request, tmp_path):
    """A database at 0019 with two subjects (one retired) and two web sessions (one signed in as a person,
    one anonymous), written as the code of 0019 wrote them: column `subject_key`."""
    from datetime import datetime, timezone

    from sqlalchemy import text

    from credit_service.adapters.migrations import upgrade
    from tests.factories import TEST_KEYS, id_number

    url = _own_database(request, tmp_path, "at0019")
    upgrade(url, "0019")
    engine = create_engine(url)
    number, other = id_number(), id_number()
    key, old_key = TEST_KEYS.lookup_key("insured", number), "k0:" + "0" * 60
    at = datetime(2026, 11, 1, 8, tzinfo=timezone.utc)
    with engine.begin() as c:
        c.execute(text("INSERT INTO subjects (subject_key, subject_type, id_sealed, retired_at) "
                       "VALUES (:k, :t, :s, :r)"),
                  [{"k": key, "t": "insured", "s": TEST_KEYS.seal("insured", number), "r": None},
                   {"k": old_key, "t": "insured", "s": TEST_KEYS.seal("insured", other), "r": at}])
        c.execute(text("INSERT INTO web_sessions (id_hash, door, user_id, subject_type, subject_key, data, "
                       "created_at, signed_in_at, last_seen_at) VALUES (:h, 'me', NULL, :t, :k, :d, :at, :s, :at)"),
                  [{"h": hashlib.sha256(b"person-sid").hexdigest(), "t": "insured", "k": key,
                    "d": '{"name": "p"}', "at": at, "s": at},
                   {"h": hashlib.sha256(b"anonymous-sid").hexdigest(), "t": None, "k": None, "d": "{}",
                    "at": at, "s": None}])
    yield url, engine, number, key
    engine.dispose()


def _schema_0020(engine) -> tuple[dict[str, set[str]], dict[str, list]]:
    from sqlalchemy import inspect
    inspector = inspect(engine)
    columns = {t: {c["name"] for c in inspector.get_columns(t)} for t in _RENAMED_0020}
    keys = {t: inspector.get_pk_constraint(t)["constrained_columns"] for t in _RENAMED_0020}
    return columns, keys


def test_0020_renames_the_subject_key_columns_keeping_every_row_and_back(database_0019):
    from alembic import command
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from credit_service.adapters.migrations import alembic_config, upgrade

    url, engine, _, _ = database_0019
    before = _rows_of(engine, _RENAMED_0020)
    assert all(len(rows) == 2 for rows in before.values())
    renamed = {t: [{_RENAMED_0020[t][1] if k == _RENAMED_0020[t][0] else k: v for k, v in r.items()}
                   for r in rows] for t, rows in before.items()}
    assert renamed != before

    upgrade(url)
    columns, keys = _schema_0020(engine)
    for table, (old, new) in _RENAMED_0020.items():
        assert old not in columns[table] and new in columns[table], table
    assert keys == {"subjects": ["lookup_key"], "web_sessions": ["id_hash"]}
    assert _rows_of(engine, _RENAMED_0020) == renamed
    with engine.connect() as connection:  # exactly the schema the models describe
        assert compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                Base.metadata) == []

    command.downgrade(alembic_config(url), "0019")  # renaming back is lossless
    columns, keys = _schema_0020(engine)
    for table, (old, new) in _RENAMED_0020.items():
        assert old in columns[table] and new not in columns[table], table
    assert keys == {"subjects": ["subject_key"], "web_sessions": ["id_hash"]}
    assert _rows_of(engine, _RENAMED_0020) == before

    upgrade(url)
    assert _rows_of(engine, _RENAMED_0020) == renamed
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}),
                                Base.metadata) == []


def test_0020_a_subject_and_a_web_session_written_before_the_rename_are_read_after_it(database_0019):
    from datetime import datetime, timedelta, timezone

    from sqlalchemy.orm import Session, sessionmaker

    from credit_service.adapters.migrations import upgrade
    from credit_service.adapters.subjects import identify, remember, reveal
    from credit_service.web.sessions import SessionStore
    from tests.factories import TEST_KEYS

    url, engine, number, key = database_0019
    upgrade(url)
    with Session(engine) as session:
        assert reveal(session, TEST_KEYS, [key, "k0:" + "0" * 60])[key] == number
        assert identify(session, TEST_KEYS, key) == ("insured", number)
        assert identify(session, TEST_KEYS, "k0:" + "0" * 60) is None  # retired stays retired
        assert remember(session, TEST_KEYS, [("insured", number)]) == {("insured", number): key}  # known: no-op
        session.commit()

    class Clock:
        def now(self):
            return datetime(2026, 11, 1, 8, 5, tzinfo=timezone.utc)

    store = SessionStore(sessionmaker(engine), Clock(), timedelta(minutes=30), timedelta(hours=8))
    person = store.load("me", "person-sid")
    assert person is not None and person.signed_in
    assert (person.subject_type, person.lookup_key, dict(person)) == ("insured", key, {"name": "p"})
    anonymous = store.load("me", "anonymous-sid")
    assert anonymous is not None and not anonymous.signed_in and anonymous.lookup_key is None
