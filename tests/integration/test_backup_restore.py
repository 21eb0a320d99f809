"""Issue 13 item 6: `credit-service backup` of the embedded default, taken while the service writes, and a
restore drill into a fresh data directory: the same answers and an intact audit trail."""
from __future__ import annotations

import json
import threading

from click.testing import CliRunner

from credit_service import create_app
from credit_service.cli import main as cli
from credit_service.services.clients import create_client
from credit_service.settings import Settings
from tests.factories import id_number, violation

KEY_VARIABLES = ("CREDIT_SERVICE_PII_HMAC_KEYS", "CREDIT_SERVICE_PII_ENCRYPTION_KEYS",
                 "CREDIT_SERVICE_AUDIT_MAC_KEYS", "CREDIT_SERVICE_SECRET_KEY")


def _embedded(monkeypatch, data_dir):
    """The embedded default as `./dev serve` has it: SQLite and generated keys in the data directory."""
    for variable in (*KEY_VARIABLES, "CREDIT_SERVICE_DATABASE_URL", "CREDIT_SERVICE_AUDIT_ANCHOR_FILE"):
        monkeypatch.delenv(variable, raising=False)
    monkeypatch.setenv("CREDIT_SERVICE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("CREDIT_SERVICE_SCHEDULER", "off")


def _app(clock):
    settings = Settings.from_env(warm_index=False, index_poll_seconds=0)
    app = create_app(settings, clock=clock)
    return app, app.extensions["credit_service"]


def _close(container):
    container.index.stop()
    container.engine.dispose()


def _answers(client, headers, numbers):
    return {n: client.get(f"/api/v1/subjects/insured/{n}/status?on=2025-06-01", headers=headers).json
            for n in numbers}


def test_backup_while_writing_and_a_restore_drill(monkeypatch, tmp_path, clock):
    from credit_service.adapters import audit_keys, pii
    from tests.factories import TEST_AUDIT_KEYS, TEST_KEYS
    original = tmp_path / "original"
    _embedded(monkeypatch, original)
    try:
        assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
        app, container = _app(clock)
        client = app.test_client()
        admin = {"Authorization": "Bearer " + create_client(container.uow(), container.clock, "a", "admin")[1]}
        numbers = [id_number() for _ in range(6)]
        for n in numbers[:3]:
            assert client.post("/api/v1/violations", headers=admin, json=violation(id_number=n)).status_code == 201
        assert CliRunner().invoke(cli, ["audit", "anchor"]).exit_code == 0

        # the backup runs while another thread keeps recording
        writer_client = app.test_client()
        done = threading.Event()

        def keep_writing():
            for n in numbers[3:]:
                writer_client.post("/api/v1/violations", headers=admin, json=violation(id_number=n))
            done.set()

        writer = threading.Thread(target=keep_writing)
        writer.start()
        result = CliRunner().invoke(cli, ["backup", "--to", str(tmp_path / "backups")])
        writer.join()
        assert result.exit_code == 0, result.output
        made = next((tmp_path / "backups").iterdir())
        assert (made.stat().st_mode & 0o777) == 0o700 and ((made / "keys.json").stat().st_mode & 0o777) == 0o600
        manifest = json.loads((made / "manifest.json").read_text())
        backed_up = manifest["row_counts"]["violations"]
        assert 3 <= backed_up <= 6 and manifest["revision"]
        settlement = {"Authorization": "Bearer " + create_client(container.uow(), container.clock, "s", "settlement")[1]}
        before = _answers(client, settlement, numbers)
        _close(container)

        # the drill: a new machine, an empty data directory, nothing but the backup
        restored = tmp_path / "restored"
        _embedded(monkeypatch, restored)
        result = CliRunner().invoke(cli, ["restore", str(made)])
        assert result.exit_code == 0 and "restored the backup" in result.output, result.output
        assert CliRunner().invoke(cli, ["db", "upgrade"]).exit_code == 0
        verified = CliRunner().invoke(cli, ["audit", "verify"])
        assert verified.exit_code == 0 and "audit trail intact" in verified.output and "1 anchor(s)" in verified.output
        app, container = _app(clock)
        try:
            client = app.test_client()
            settlement = {"Authorization": "Bearer " + create_client(container.uow(), container.clock, "s2",
                                                                     "settlement")[1]}
            after = _answers(client, settlement, numbers)
            recorded = [n for n in numbers if not before[n]["settlement_allowed"] is after[n]["settlement_allowed"]]
            assert sum(not a["settlement_allowed"] for a in after.values()) == backed_up, after
            assert all(after[n] == before[n] for n in numbers[:3])  # written before the backup: all there
            assert len(recorded) == 6 - backed_up  # written after the backup started: there or not, nothing else
        finally:
            _close(container)

        again = CliRunner().invoke(cli, ["restore", str(made)])  # never over a database without --force
        assert again.exit_code == 1 and "exists" in again.output
    finally:
        pii.use(TEST_KEYS)
        audit_keys.use(audit_keys.AuditKeys.from_text(TEST_AUDIT_KEYS))


def test_postgresql_is_pointed_to_its_own_tools(monkeypatch, tmp_path):
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/nowhere")
    result = CliRunner().invoke(cli, ["backup", "--to", str(tmp_path)])
    assert result.exit_code == 1 and "docs/deployment.md" in result.output and "pg_basebackup" in result.output
