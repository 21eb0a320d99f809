"""Issue 13 item 1: keys that cannot diverge. Nodes on one database whose keys differ refuse to start
with one line that says what to do; generated keys only for the embedded SQLite default."""
from __future__ import annotations

import dataclasses

import pytest
from click.testing import CliRunner

from credit_service import create_app
from credit_service.adapters.key_check import KeyMismatch
from credit_service.adapters.pii import new_key_text
from credit_service.cli import main as cli
from credit_service.settings import KeysNotConfigured, Settings
from tests.factories import TEST_AUDIT_KEYS, TEST_ENCRYPTION_KEYS, TEST_HMAC_KEYS, id_number, violation

OTHER_HMAC = "t1:" + "b3RoZXItaG1hYy1rZXktMDAwMDAwMDAwMDAwMDAwMDA="  # the same id, another key


def _close(app) -> None:
    container = app.extensions["credit_service"]
    container.index.stop()
    container.engine.dispose()


def test_a_node_with_other_keys_under_the_same_id_refuses_to_start(app, settings, clock):
    with pytest.raises(KeyMismatch) as refused:
        create_app(dataclasses.replace(settings, pii_hmac_keys=OTHER_HMAC), clock=clock)
    message = str(refused.value)
    assert "\n" not in message
    assert message.startswith("CREDIT_SERVICE_PII_HMAC_KEYS: ") and "t1" in message
    assert "same keys on every node" in message


def test_a_node_with_keys_of_its_own_refuses_to_start(app, settings, clock):
    """The issue's case: a second node with its own generated keys (another id, another data directory)."""
    for field, variable, text in (("pii_hmac_keys", "CREDIT_SERVICE_PII_HMAC_KEYS", new_key_text("h1")),
                                  ("pii_encryption_keys", "CREDIT_SERVICE_PII_ENCRYPTION_KEYS", new_key_text("e1")),
                                  ("audit_mac_keys", "CREDIT_SERVICE_AUDIT_MAC_KEYS", new_key_text("a1"))):
        with pytest.raises(KeyMismatch, match=f"^{variable}: .* 未配置 .*written with key\\(s\\) t"):
            create_app(dataclasses.replace(settings, **{field: text}), clock=clock)


def test_a_new_key_in_front_of_the_known_one_is_recorded_and_then_may_stand_alone(app, client, auth, settings,
                                                                                   clock):
    assert client.post("/api/v1/violations", headers=auth(), json=violation(id_number=id_number())).status_code == 201
    new = new_key_text("k2")
    rotated = create_app(dataclasses.replace(settings, pii_hmac_keys=f"{new},{TEST_HMAC_KEYS}"), clock=clock)
    _close(rotated)
    alone = create_app(dataclasses.replace(settings, pii_hmac_keys=new), clock=clock)  # the old key retired
    _close(alone)
    with pytest.raises(KeyMismatch):  # but k2 is now known: another k2 is refused
        create_app(dataclasses.replace(settings, pii_hmac_keys=new_key_text("k2")), clock=clock)


def test_commands_refuse_with_one_line(app, settings, monkeypatch):
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("CREDIT_SERVICE_PII_HMAC_KEYS", OTHER_HMAC)
    for args in (["clients", "list"], ["serve", "--port", "8713"]):  # serve stops before any worker starts
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1, result.output
        assert result.output.count("\n") == 1 and "CREDIT_SERVICE_PII_HMAC_KEYS: " in result.output, result.output


def test_keys_are_generated_only_for_the_embedded_sqlite_default(monkeypatch, tmp_path):
    monkeypatch.setenv("CREDIT_SERVICE_DATA_DIR", str(tmp_path))
    for variable in ("CREDIT_SERVICE_PII_HMAC_KEYS", "CREDIT_SERVICE_PII_ENCRYPTION_KEYS",
                     "CREDIT_SERVICE_AUDIT_MAC_KEYS", "CREDIT_SERVICE_SECRET_KEY"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.delenv("CREDIT_SERVICE_DATABASE_URL", raising=False)
    embedded = Settings.from_env()
    assert embedded.is_sqlite and (tmp_path / "pii-keys.json").exists()

    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/any")
    monkeypatch.setenv("CREDIT_SERVICE_PII_HMAC_KEYS", TEST_HMAC_KEYS)
    with pytest.raises(KeysNotConfigured) as refused:
        Settings.from_env()
    message = str(refused.value)
    assert message.startswith("CREDIT_SERVICE_PII_ENCRYPTION_KEYS, CREDIT_SERVICE_AUDIT_MAC_KEYS, "
                              "CREDIT_SERVICE_SECRET_KEY not set") and "\n" not in message
    result = CliRunner().invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 1 and "CREDIT_SERVICE_SECRET_KEY not set" in result.output, result.output
    monkeypatch.setenv("CREDIT_SERVICE_PII_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEYS)
    monkeypatch.setenv("CREDIT_SERVICE_AUDIT_MAC_KEYS", TEST_AUDIT_KEYS)
    monkeypatch.setenv("CREDIT_SERVICE_SECRET_KEY", "s")
    assert Settings.from_env().pii_hmac_keys == TEST_HMAC_KEYS


def test_keys_may_come_from_secret_files(monkeypatch, tmp_path):
    """Docker/Kubernetes secrets: CREDIT_SERVICE_X_FILE names a file holding the value."""
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/any")
    for variable, value in (("CREDIT_SERVICE_PII_HMAC_KEYS", TEST_HMAC_KEYS),
                            ("CREDIT_SERVICE_PII_ENCRYPTION_KEYS", TEST_ENCRYPTION_KEYS),
                            ("CREDIT_SERVICE_AUDIT_MAC_KEYS", TEST_AUDIT_KEYS), ("CREDIT_SERVICE_SECRET_KEY", "s")):
        monkeypatch.delenv(variable, raising=False)
        path = tmp_path / variable.lower()
        path.write_text(value + "\n")
        monkeypatch.setenv(f"{variable}_FILE", str(path))
    settings = Settings.from_env()
    assert (settings.pii_hmac_keys, settings.audit_mac_keys, settings.secret_key) == (TEST_HMAC_KEYS, TEST_AUDIT_KEYS, "s")
    monkeypatch.delenv("CREDIT_SERVICE_SECRET_KEY")
    monkeypatch.setenv("CREDIT_SERVICE_SECRET_KEY_FILE", str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="^CREDIT_SERVICE_SECRET_KEY_FILE='.*missing': cannot be read"):
        Settings.from_env()


def test_a_database_from_before_check_values_is_checked_against_a_stored_number(app, client, auth, settings,
                                                                              clock, container):
    """Upgraded from 0013: no check values yet, identities stored. Keys that do not open them are refused."""
    from sqlalchemy import text
    assert client.post("/api/v1/violations", headers=auth(), json=violation(id_number=id_number())).status_code == 201
    with container.engine.begin() as connection:
        connection.execute(text("DELETE FROM key_checks"))
    for field, text_ in (("pii_encryption_keys", new_key_text("t1")), ("pii_hmac_keys", OTHER_HMAC)):
        with pytest.raises(KeyMismatch, match="^CREDIT_SERVICE_PII_"):
            create_app(dataclasses.replace(settings, **{field: text_}), clock=clock)
    _close(create_app(settings, clock=clock))  # the right keys: recorded again
    with container.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM key_checks")).scalar() == 3
