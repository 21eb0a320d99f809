"""Issue 13 item 4: read scaling on a real streaming replica. A primary and a replica made here
(initdb, pg_basebackup -R, a second postgres on another port); the status index loads from the replica
while its lag is within the bound, and a change the replica has not replayed yet is still answered —
the load is caught up from the primary (a read that must see its own write goes to the primary).
Records and reports (the read-only unit of work) read from the replica within the bound; behind it, or
after this node's own write the replica has not replayed, from the primary (adapters/read_replica.py).
CREDIT_SERVICE_TEST_REPLICA_PORTS="<primary> <replica>" fixes the two ports (else any free ones)."""
from __future__ import annotations

import dataclasses
import glob
import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from credit_service import create_app
from credit_service.adapters.migrations import upgrade
from credit_service.services.clients import create_client
from tests.factories import id_number, violation

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(*args, **kwargs):
    command = list(args)
    if os.geteuid() == 0:  # postgres refuses to run as root
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120, **kwargs)


@pytest.fixture(scope="module")
def cluster():
    if not os.environ.get("CREDIT_SERVICE_TEST_DATABASE_URL", "").startswith("postgresql"):
        pytest.skip("a streaming replica is PostgreSQL's (the suite runs on SQLite)")
    if not BIN or shutil.which("runuser") is None and os.geteuid() == 0:
        pytest.skip("PostgreSQL server binaries not installed here")
    bin_dir = BIN[-1]
    root = Path(tempfile.mkdtemp(prefix="credit-replica-"))
    os.chmod(root, 0o777)
    primary_dir, replica_dir = root / "primary", root / "replica"
    fixed = os.environ.get("CREDIT_SERVICE_TEST_REPLICA_PORTS", "").split()
    ports = dict(zip(("primary", "replica"), map(int, fixed))) if len(fixed) == 2 else \
        {"primary": _free_port(), "replica": _free_port()}
    started = []
    try:
        _as_postgres(f"{bin_dir}/initdb", "-D", str(primary_dir), "--auth=trust", "-U", "postgres")
        with open(primary_dir / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {ports['primary']}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{root}'\n"
                       "wal_level = replica\nmax_wal_senders = 4\nfsync = off\n")
        _as_postgres(f"{bin_dir}/pg_ctl", "-D", str(primary_dir), "-l", str(root / "primary.log"), "-w", "start")
        started.append(primary_dir)
        _as_postgres(f"{bin_dir}/createdb", "-h", "127.0.0.1", "-p", str(ports["primary"]), "-U", "postgres", "credit")
        _as_postgres(f"{bin_dir}/pg_basebackup", "-h", "127.0.0.1", "-p", str(ports["primary"]), "-U", "postgres",
                     "-D", str(replica_dir), "-R", "-X", "stream", "-c", "fast")  # no wait for a spread checkpoint
        with open(replica_dir / "postgresql.conf", "a") as conf:
            conf.write(f"\nport = {ports['replica']}\nhot_standby = on\n")
        _as_postgres(f"{bin_dir}/pg_ctl", "-D", str(replica_dir), "-l", str(root / "replica.log"), "-w", "start")
        started.append(replica_dir)
        urls = {k: f"postgresql+psycopg://postgres@127.0.0.1:{p}/credit" for k, p in ports.items()}
        upgrade(urls["primary"])
        yield urls
    finally:
        for data_dir in reversed(started):
            try:
                _as_postgres(f"{bin_dir}/pg_ctl", "-D", str(data_dir), "-m", "immediate", "-w", "stop")
            except subprocess.CalledProcessError:
                pass
        shutil.rmtree(root, ignore_errors=True)


def _wait_replayed(urls, seconds=30):
    primary, replica = create_engine(urls["primary"]), create_engine(urls["replica"])
    try:
        with primary.connect() as c:
            position = c.execute(text("SELECT pg_current_wal_lsn()")).scalar()
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with replica.connect() as c:
                if c.execute(text("SELECT pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn)"), {"p": str(position)}).scalar():
                    return
            time.sleep(0.05)
        raise AssertionError("the replica did not catch up")
    finally:
        primary.dispose()
        replica.dispose()


def _replay(urls, paused: bool):
    engine = create_engine(urls["replica"], isolation_level="AUTOCOMMIT")
    with engine.connect() as c:
        c.execute(text("SELECT pg_wal_replay_pause()" if paused else "SELECT pg_wal_replay_resume()"))
    engine.dispose()


def test_the_index_loads_from_the_replica_and_never_misses_a_change_it_lacks(cluster, settings, clock):
    app = create_app(dataclasses.replace(settings, database_url=cluster["primary"],
                                         read_database_url=cluster["replica"], read_max_lag_seconds=30), clock=clock)
    c = app.extensions["credit_service"]
    try:
        client = app.test_client()
        admin = {"Authorization": "Bearer " + create_client(c.uow(), c.clock, "a", "admin")[1]}
        settle = {"Authorization": "Bearer " + create_client(c.uow(), c.clock, "s", "settlement")[1]}

        def allowed(number):
            r = client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-06-01", headers=settle)
            assert r.status_code == 200, r.json
            return r.json["settlement_allowed"]

        first = id_number()
        assert client.post("/api/v1/violations", headers=admin, json=violation(id_number=first)).status_code == 201
        _wait_replayed(cluster)
        c.index.rebuild()
        assert c.index.last_load_source == "replica" and allowed(first) is False

        # the replica stops replaying: what is written now, it does not have
        _replay(cluster, paused=True)
        try:
            second = id_number()
            assert client.post("/api/v1/violations", headers=admin, json=violation(id_number=second)).status_code == 201
            with create_engine(cluster["replica"]).connect() as r:
                assert r.execute(text("SELECT count(*) FROM violations")).scalar() == 1  # the replica lags
            c.index.rebuild()  # within the bound: loaded from the replica, caught up from the primary
            assert c.index.last_load_source == "replica"
            assert allowed(second) is False and allowed(first) is False

            time.sleep(1.2)
            c.index._read_max_lag_seconds = 1.0  # now beyond the bound: the primary
            c.index.rebuild()
            assert c.index.last_load_source == "primary"
            assert allowed(second) is False
        finally:
            _replay(cluster, paused=False)
    finally:
        c.index.stop()
        c.index._read_engine.dispose()
        c.engine.dispose()


def test_the_node_snapshot_is_built_from_the_replica_within_the_bound(cluster, settings, clock, tmp_path, monkeypatch,
                                                                      caplog):
    """CREDIT_SERVICE_INDEX_STORE=shared: the node's snapshot is built (in full, then updated) from the replica
    while it is within the lag bound, from the primary beyond it; what the replica lacks is answered all the
    same (the worker catches up from the primary)."""
    monkeypatch.setenv("CREDIT_SERVICE_DATA_DIR", str(tmp_path / "node"))
    app = create_app(dataclasses.replace(settings, database_url=cluster["primary"],
                                         read_database_url=cluster["replica"], read_max_lag_seconds=30,
                                         index_store="shared"), clock=clock)
    c = app.extensions["credit_service"]
    try:
        client = app.test_client()
        admin = {"Authorization": "Bearer " + create_client(c.uow(), c.clock, "a2", "admin")[1]}
        settle = {"Authorization": "Bearer " + create_client(c.uow(), c.clock, "s2", "settlement")[1]}

        def allowed(number):
            r = client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-06-01", headers=settle)
            assert r.status_code == 200, r.json
            return r.json["settlement_allowed"]

        def built() -> str:
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="credit_service.adapters.node_index"):
                c.index.rebuild()
            assert c.index.last_load_source == "node snapshot"
            return " ".join(r.getMessage() for r in caplog.records if "snapshot built" in r.getMessage())

        c.index._rebuild_seconds = 0  # every rebuild builds (no young snapshot is reused)
        first = id_number()
        assert client.post("/api/v1/violations", headers=admin, json=violation(id_number=first)).status_code == 201
        _wait_replayed(cluster)
        assert "full build" in (said := built()) and "from the replica" in said, said
        assert allowed(first) is False

        _replay(cluster, paused=True)
        try:
            second = id_number()
            assert client.post("/api/v1/violations", headers=admin, json=violation(id_number=second)).status_code == 201
            said = built()  # the replica lacks the second: updated from it, caught up from the primary
            assert "updated from the previous snapshot" in said and "from the replica" in said, said
            assert allowed(second) is False and allowed(first) is False

            time.sleep(1.2)
            c.index._snapshots._read_max_lag_seconds = 1.0  # now beyond the bound: the primary
            said = built()
            assert "from the primary" in said, said
            assert allowed(second) is False
        finally:
            _replay(cluster, paused=False)
    finally:
        c.index.stop()
        c.index._read_engine.dispose()
        c.engine.dispose()


def _reads(source: str, reason: str) -> float:
    from credit_service.metrics import REPLICA_READS
    return REPLICA_READS.labels(source, reason)._value.get()


def test_records_and_reports_read_from_the_replica_within_the_bound_and_a_writer_reads_its_own_write(
        cluster, settings, clock, tmp_path, monkeypatch):
    """Node A (two workers: two apps on one data directory) reads records and reports from the replica
    while it is within the bound. Replay paused: a write through node B is not seen by A's record read
    (from the replica, within the bound — proof the replica answered); A's own write is seen at once by
    both its workers (the replica has not replayed it: the primary). Beyond the bound: the primary."""
    def node(name):
        monkeypatch.setenv("CREDIT_SERVICE_DATA_DIR", str(tmp_path / name))
        return create_app(dataclasses.replace(settings, database_url=cluster["primary"],
                                              read_database_url=cluster["replica"], read_max_lag_seconds=30),
                          clock=clock)
    a1, a2, b = node("a"), node("a"), node("b")
    containers = [app.extensions["credit_service"] for app in (a1, a2, b)]
    try:
        c = containers[0]
        admin = {"Authorization": "Bearer " + create_client(c.uow(), c.clock, "records-admin", "admin")[1]}

        def record(app, number):
            r = app.test_client().get(f"/api/v1/subjects/insured/{number}/record?year=2025", headers=admin)
            assert r.status_code == 200, r.json
            return len(r.json["violations"])

        def report(app):
            r = app.test_client().get("/api/v1/reports/monthly?month=2025-04&region=370100", headers=admin)
            assert r.status_code == 200, r.json
            return r.json

        first = id_number()
        assert b.test_client().post("/api/v1/violations", headers=admin,
                                    json=violation(id_number=first)).status_code == 201
        _wait_replayed(cluster)
        before = _reads("replica", "ok")
        assert record(a1, first) == 1 and record(a2, first) == 1
        assert report(a1) == report(a2)
        assert _reads("replica", "ok") - before == 4  # two records, two reports: all from the replica

        _replay(cluster, paused=True)
        try:
            # written through node B: node A's reads, within the bound, come from the replica — without it
            replica = create_engine(cluster["replica"])
            with replica.connect() as r:
                replayed = r.execute(text("SELECT count(*) FROM violations")).scalar()
            second = id_number()
            assert b.test_client().post("/api/v1/violations", headers=admin,
                                        json=violation(id_number=second)).status_code == 201
            with replica.connect() as r:
                assert r.execute(text("SELECT count(*) FROM violations")).scalar() == replayed  # the replica lags
            replica.dispose()
            before = _reads("replica", "ok")
            assert record(a1, second) == 0 and record(a2, second) == 0
            assert _reads("replica", "ok") - before == 2

            # written through node A: both its workers read it at once, from the primary
            third = id_number()
            assert a1.test_client().post("/api/v1/violations", headers=admin,
                                         json=violation(id_number=third)).status_code == 201
            before = _reads("primary", "own_write")
            assert record(a2, third) == 1 and record(a1, third) == 1
            assert record(a1, second) == 1  # and everything else the primary has
            assert report(a1)["lines"] == report(a2)["lines"]
            assert _reads("primary", "own_write") - before == 5
            assert record(b, third) == 1  # node B wrote during the pause too: the primary as well

            # node C wrote nothing: within the bound, its record and report come from the replica (old)...
            c_node = node("c")
            containers.append(c_node.extensions["credit_service"])
            before = _reads("replica", "ok")
            assert record(c_node, third) == 0
            assert report(c_node)["lines"] != report(a1)["lines"]
            assert _reads("replica", "ok") - before == 2
            # ...and beyond the bound from the primary
            time.sleep(1.2)
            containers[-1].reads.max_lag_seconds = 1.0
            before = _reads("primary", "lag")
            assert record(c_node, third) == 1
            assert report(c_node)["lines"] == report(a1)["lines"]
            assert _reads("primary", "lag") - before == 2
        finally:
            _replay(cluster, paused=False)
        metrics = a1.test_client().get("/metrics").get_data(as_text=True)
        assert 'credit_service_replica_reads_total{reason="lag",source="primary"}' in metrics
    finally:
        for other in containers:
            other.index.stop()
            other.reads.replica.dispose()
            other.engine.dispose()


def test_a_replica_that_is_down_or_not_a_standby_is_read_around(settings, clock, tmp_path, monkeypatch):
    """Never fail: a replica URL that does not answer, or that names a primary, sends the read to the
    primary (counted as "down")."""
    if settings.is_sqlite:
        pytest.skip("a streaming replica is PostgreSQL's (the suite runs on SQLite)")
    monkeypatch.setenv("CREDIT_SERVICE_DATA_DIR", str(tmp_path))
    for replica_url in (f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/none", settings.database_url):
        app = create_app(dataclasses.replace(settings, read_database_url=replica_url, db_connect_timeout_seconds=2),
                         clock=clock)
        c = app.extensions["credit_service"]
        try:
            admin = {"Authorization": "Bearer " + create_client(c.uow(), c.clock, f"a{_free_port()}", "admin")[1]}
            number = id_number()
            client = app.test_client()
            assert client.post("/api/v1/violations", headers=admin, json=violation(id_number=number)).status_code == 201
            before = _reads("primary", "down")
            r = client.get(f"/api/v1/subjects/insured/{number}/record?year=2025", headers=admin)
            assert r.status_code == 200 and len(r.json["violations"]) == 1, r.json
            assert client.get("/api/v1/audit", headers=admin).status_code == 200
            assert _reads("primary", "down") - before == 2
        finally:
            c.index.stop()
            c.reads.replica.dispose()
            c.engine.dispose()


def test_a_write_whose_position_could_not_be_noted_sends_the_reads_to_the_primary():
    """Committed, but the primary's WAL position could not be read afterwards: for as long as the replica
    may lag (the bound), this node reads from the primary — it cannot know whether the replica has it."""
    from credit_service.adapters.database import make_engine
    from credit_service.adapters.read_replica import ReadRouter
    primary = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/none", connect_timeout=2)
    replica = make_engine(f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/none", connect_timeout=2)
    try:
        router = ReadRouter(primary, replica, max_lag_seconds=30)
        assert router.choose() == (primary, "down")  # neither answers here: the primary (whose read fails)
        router.note_write()  # the position cannot be read
        assert router.choose() == (primary, "own_write")
        router._primary_until = time.monotonic() - 1  # the bound has passed
        assert router.choose() == (primary, "down")
    finally:
        primary.dispose()
        replica.dispose()
