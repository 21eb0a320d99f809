"""Issue 13 item 5: the deployment is the documentation — a lock file the image and the tests install,
and deploy/compose.yaml with 2 app nodes, 1 job runner, PostgreSQL primary + replica, keys from
secrets, migrations once and health checks."""
from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pins() -> dict[str, str]:
    text = (ROOT / "requirements.lock").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9._-]+)==([^ \\\n]+)", text, flags=re.M))
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    for block in blocks:
        if "==" in block.split("\n", 1)[0]:
            assert "--hash=sha256:" in block, f"no hash for {block.splitlines()[0]}"
    return {k.lower().replace("_", "-"): v for k, v in pins.items()}


def test_the_lock_pins_every_dependency_with_hashes_and_is_what_the_tests_run_with():
    pins = _pins()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    missing = [r for r in project["dependencies"] if _name(r) not in pins]
    assert not missing, f"requirements.lock lacks {missing}: run pip-compile (docs/deployment.md)"
    stale = {name: (pinned, version(name)) for name, pinned in pins.items() if version(name) != pinned}
    assert not stale, f"installed versions differ from the lock: {stale}"


def test_the_image_installs_the_lock_with_hashes():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock" in dockerfile
    assert "pip install --no-cache-dir --no-deps ." in dockerfile and "pip check" in dockerfile
    assert "--require-hashes --no-deps -r requirements.lock" in (ROOT / "dev").read_text()


def test_compose_two_nodes_one_runner_primary_and_replica_keys_from_secrets_migrations_once():
    yaml = pytest.importorskip("yaml")
    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    command = {name: " ".join(s.get("command") or []) for name, s in services.items()}
    nodes = [n for n, c in command.items() if "credit-service serve" in c]
    runners = [n for n, c in command.items() if c == "credit-service jobs run"]
    assert len(nodes) == 2 and len(runners) == 1, command
    assert "db upgrade" in command["migrate"]
    for name in nodes + runners:
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "db upgrade" not in command[name]
        env = service["environment"]
        for key in ("PII_HMAC_KEYS", "PII_ENCRYPTION_KEYS", "AUDIT_MAC_KEYS", "SECRET_KEY", "DATABASE_URL"):
            assert env[f"CREDIT_SERVICE_{key}_FILE"].startswith("/run/secrets/"), (name, key)
            assert f"CREDIT_SERVICE_{key}" not in env  # never a key in the file itself
        assert env["CREDIT_SERVICE_SCHEDULER"] == "off"
        assert service["healthcheck"]["test"]
    data = [next(v for v in services[n]["volumes"] if v.endswith(":/data")) for n in nodes + runners]
    assert len(set(data)) == 3  # each process its own data directory: only the keys make them agree
    assert set(compose["secrets"]) >= {"pii_hmac_keys", "pii_encryption_keys", "audit_mac_keys", "secret_key"}
    assert "pg_basebackup" in (ROOT / "deploy" / "postgres" / "replica-start.sh").read_text()
    for db in ("db-primary", "db-replica"):
        assert services[db]["healthcheck"]["test"]
    assert services["db-replica"]["depends_on"]["db-primary"]["condition"] == "service_healthy"
