"""Issue 13 item 2: two `db upgrade` at once on a fresh database both succeed (the Dockerfile and the
compose file run it from every replica). PostgreSQL: an advisory lock; SQLite: a lock file."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, make_url, text

from credit_service.adapters.migrations import alembic_config
from credit_service.adapters.orm import Base

CLI = [sys.executable, "-m", "credit_service.cli"]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_database(database_url, tmp_path):
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    url = make_url(database_url)
    name = f"{url.database}_mig_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_two_upgrades_at_once_on_a_fresh_database_both_succeed(fresh_database):
    env = dict(os.environ, CREDIT_SERVICE_DATABASE_URL=fresh_database, CREDIT_SERVICE_SCHEDULER="off")
    runs = [subprocess.Popen([*CLI, "db", "upgrade"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=240)[0] for run in runs]
    for run, output in zip(runs, outputs):
        assert run.returncode == 0, output
        assert "Traceback" not in output and "database at head" in output, output
    head = ScriptDirectory.from_config(alembic_config(fresh_database)).get_current_head()
    engine = create_engine(fresh_database)
    try:
        with engine.connect() as c:
            assert c.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]
            assert set(Base.metadata.tables) <= set(inspect(c).get_table_names())
    finally:
        engine.dispose()
