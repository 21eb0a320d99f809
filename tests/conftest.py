"""Fixtures: one database per session (SQLite file by default, PostgreSQL when
CREDIT_SERVICE_TEST_DATABASE_URL says so), migrated with Alembic, emptied after every test."""
from __future__ import annotations

import os
import tempfile
from datetime import date

import pytest
from sqlalchemy import create_engine, inspect, text

from credit_service import create_app
from credit_service.adapters.migrations import upgrade
from credit_service.adapters.orm import Base
from credit_service.clock import FixedClock
from credit_service.services.clients import create_client
from credit_service.settings import PROJECT_ROOT, Settings
from tests.factories import TEST_AUDIT_KEYS, TEST_ENCRYPTION_KEYS, TEST_HMAC_KEYS

TODAY = date(2026, 11, 26)

os.environ["CREDIT_SERVICE_PII_HMAC_KEYS"] = TEST_HMAC_KEYS
os.environ["CREDIT_SERVICE_PII_ENCRYPTION_KEYS"] = TEST_ENCRYPTION_KEYS
os.environ["CREDIT_SERVICE_AUDIT_MAC_KEYS"] = TEST_AUDIT_KEYS
# With PostgreSQL every key must be configured (settings.py); the servers the end-to-end tests start need it too.
os.environ.setdefault("CREDIT_SERVICE_SECRET_KEY", "test")
# Anchors (and so the anchor job of the servers the end-to-end tests start) never land in the checkout.
os.environ["CREDIT_SERVICE_AUDIT_ANCHOR_FILE"] = os.path.join(tempfile.mkdtemp(prefix="credit-anchors-"),
                                                              "audit-anchors.jsonl")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = os.environ.get("CREDIT_SERVICE_TEST_DATABASE_URL")
    if not url:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    engine = create_engine(url)
    with engine.begin() as connection:  # start from nothing: the migrations themselves are under test
        existing = set(inspect(connection).get_table_names())
        for table in reversed(Base.metadata.sorted_tables):
            if table.name in existing:
                connection.execute(text(f"DROP TABLE {table.name}"))
        if "alembic_version" in existing:
            connection.execute(text("DROP TABLE alembic_version"))
    engine.dispose()
    upgrade(url)
    return url


@pytest.fixture(scope="session")
def _sqlite_lock_witness(database_url):
    """SQLite test database (Linux): a connection of the test process that holds its shared lock all session,
    so that `_sqlite_locks_kept` can tell when a test made the process drop it (tests/sqlite_files.py)."""
    import sqlite3
    if not database_url.startswith("sqlite:///") or not os.path.exists("/proc/locks"):
        yield None
        return
    path = database_url.split("///", 1)[1]
    witness = {"path": path, "connection": None}

    def arm():
        if witness["connection"] is not None:
            witness["connection"].close()
        witness["connection"] = sqlite3.connect(path, check_same_thread=False)
        witness["connection"].execute("SELECT count(*) FROM sqlite_master").fetchall()  # WAL: keeps a shared lock

    witness["arm"] = arm
    arm()
    yield witness
    witness["connection"].close()


@pytest.fixture(autouse=True)
def _sqlite_locks_kept(request):
    """Fails a test after which the test process no longer holds its SQLite lock on the test database: with
    the lock gone another process may delete the -wal and -shm files under this process's connections, and
    every later test fails with "disk I/O error" (tests/sqlite_files.py says how it happened once)."""
    witness = request.getfixturevalue("_sqlite_lock_witness") if "database_url" in request.fixturenames else None
    yield
    if witness is None:
        return
    from tests.sqlite_files import locks_held
    if not locks_held(witness["path"]):
        witness["arm"]()  # for the tests after this one
        pytest.fail("this test made the test process drop its SQLite locks on the test database (it closed a "
                    "descriptor of the database file that SQLite did not open: read it from a child process, "
                    "tests/sqlite_files.py)")


@pytest.fixture
def settings(database_url) -> Settings:
    yield Settings(database_url=database_url, secret_key="test", config_dir=PROJECT_ROOT / "config",
                   scheduler="off", index_poll_seconds=0, warm_index=False,
                   # One test address sends many token-less requests within a second; the anonymous limit
                   # has its own tests (test_labels_tokens_headers.py), with their own apps.
                   rate_limit_anonymous="off",
                   pii_hmac_keys=TEST_HMAC_KEYS, pii_encryption_keys=TEST_ENCRYPTION_KEYS)
    engine = create_engine(database_url)
    with engine.begin() as connection:  # every test that touched the database leaves it empty
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TODAY)


@pytest.fixture
def app(settings, clock):
    app = create_app(settings, clock=clock)
    app.config["TESTING"] = True
    yield app
    container = app.extensions["credit_service"]
    container.index.stop()
    container.engine.dispose()


@pytest.fixture
def container(app):
    return app.extensions["credit_service"]


@pytest.fixture
def client(app):
    return app.test_client()


PERSON_ID = "370102199001011231"


@pytest.fixture
def tokens(container) -> dict[str, str]:
    made = {}
    for name, role, region, subject in [
        ("admin", "admin", None, None),
        ("settlement", "settlement", None, None),
        ("reporter", "reporter", None, None),
        ("staff-jinan", "staff", "370100", None),
        ("staff-taian", "staff", "370900", None),
        ("person", "person", None, f"insured:{PERSON_ID}"),
    ]:
        _, token = create_client(container.uow(), container.clock, name, role, region, subject)
        made[name] = token
    return made


@pytest.fixture
def auth(tokens):
    def headers(name: str = "admin") -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[name]}"}
    return headers
