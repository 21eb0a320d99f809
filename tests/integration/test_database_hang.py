"""Issue 9, finding 7: a hung database — frozen, not refusing — must not take the status path down.

The service talks to PostgreSQL through a TCP proxy that then stops forwarding in both directions
without closing anything (what a SIGSTOPped server or a stuck network path looks like): before the fix
every worker that touched the database blocked for good, the index poller with it. Now connect,
pool and statement timeouts (and a client-side deadline: a frozen server never enforces its own
statement_timeout) bound every wait; status checks go on from the index until it is older than
CREDIT_SERVICE_INDEX_MAX_AGE_SECONDS, then answer 503; after the thaw everything recovers by itself.
"""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace

import pytest
from sqlalchemy.engine import make_url

from credit_service import create_app
from credit_service.services.clients import create_client
from tests.factories import id_number, violation


class FreezableProxy:
    """Forwards TCP to the database. `freeze()` stops forwarding without closing: new connections are
    still accepted, and nothing more reaches either side until `thaw()`."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thawed = threading.Event()
        self.thawed.set()
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client):
        self.thawed.wait()  # frozen: accepted by the kernel, then silence
        try:
            upstream = socket.create_connection(self.target)
        except OSError:
            client.close()
            return
        with self.lock:
            self.sockets += [client, upstream]
        for a, b in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                self.thawed.wait()  # frozen: what arrives is held, never forwarded while frozen
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def freeze(self):
        self.thawed.clear()

    def thaw(self):
        self.thawed.set()

    def close(self):
        self.thaw()
        self.listener.close()
        with self.lock:
            for s in self.sockets:
                try:
                    s.close()
                except OSError:
                    pass


MAX_AGE = 8.0


@pytest.fixture
def frozen_later(settings, clock):
    if settings.is_sqlite:
        pytest.skip("an embedded SQLite file cannot hang like a server; its busy timeout bounds lock waits")
    url = make_url(settings.database_url)
    proxy = FreezableProxy(url.host or "127.0.0.1", url.port or 5432)
    app = create_app(replace(
        settings, database_url=url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False),
        index_poll_seconds=0.2, index_max_age_seconds=MAX_AGE, db_connect_timeout_seconds=1.0,
        db_statement_timeout_seconds=1.0, db_pool_timeout_seconds=1.0), clock=clock)
    yield app, proxy
    proxy.thaw()
    app.extensions["credit_service"].index.stop()
    app.extensions["credit_service"].engine.dispose()
    proxy.close()


def _in_background(call):
    """Runs call in a daemon thread; returns a function that waits up to N seconds for (response, seconds)."""
    outcome = []
    thread = threading.Thread(target=lambda: outcome.append(_timed(call)), daemon=True)
    thread.start()

    def result(seconds: float):
        thread.join(seconds)
        assert outcome, f"no answer within {seconds} s: the request is blocked on the frozen database"
        return outcome[0]
    return result


def _timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def test_finding_7_a_frozen_database_leaves_status_answering_within_the_bound_then_503_then_recovery(
        frozen_later):
    app, proxy = frozen_later
    container = app.extensions["credit_service"]
    client = app.test_client()
    admin = {"Authorization": f"Bearer {create_client(container.uow(), container.clock, 'hang-admin', 'admin')[1]}"}
    settlement = {"Authorization": "Bearer " + create_client(container.uow(), container.clock, "hang-settle",
                                                             "settlement")[1]}
    number = id_number()
    assert client.post("/api/v1/violations", json=violation(id_number=number), headers=admin).status_code == 201
    single = f"/api/v1/subjects/insured/{number}/status?on=2025-05-01"
    batch = {"on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": number}]}
    assert client.get(single, headers=settlement).json["settlement_allowed"] is False  # token now cached
    container.index.ensure_ready()
    poller = next(t for t in threading.enumerate() if t.name == "status-index-poller")
    # The freeze comes after the index has applied what it was told of (the NOTIFY of the write above):
    # a change told of and not readable is answered 503 instead (test_late_notification.py).
    time.sleep(0.5)  # the notification has arrived
    settled = time.monotonic() + 10
    while container.index.behind:
        assert time.monotonic() < settled, "the index did not apply the write's notification"
        time.sleep(0.05)

    proxy.freeze()
    frozen_at = time.monotonic()
    # Requests that need the database, meanwhile (daemon threads: before the fix they never returned)
    write = _in_background(lambda: client.post("/api/v1/violations", json=violation(), headers=admin))
    ready = _in_background(lambda: client.get("/readyz"))
    while time.monotonic() - frozen_at < 4.0:
        for response, seconds in (_timed(lambda: client.get(single, headers=settlement)),
                                  _timed(lambda: client.post("/api/v1/status/batch", json=batch,
                                                             headers=settlement))):
            assert response.status_code == 200, response.json
            assert seconds < 0.5
        time.sleep(0.1)
    (write_response, write_seconds), (ready_response, ready_seconds) = write(15), ready(15)
    assert write_response.status_code == 503 and write_response.json["code"] == "database_unavailable"
    assert ready_response.status_code == 503
    assert write_seconds < 8 and ready_seconds < 8, (write_seconds, ready_seconds)  # bounded, not forever
    assert poller.is_alive()

    while container.index.age_seconds() <= MAX_AGE:  # the poller keeps failing within its deadline
        assert time.monotonic() - frozen_at < MAX_AGE + 10
        time.sleep(0.2)
    response, seconds = _timed(lambda: client.get(single, headers=settlement))
    assert response.status_code == 503 and response.json["code"] == "status_index_stale" and seconds < 0.5
    assert client.post("/api/v1/status/batch", json=batch, headers=settlement).status_code == 503

    proxy.thaw()  # the poller's next success makes the index fresh again; no restart
    deadline = time.monotonic() + 10
    while client.get(single, headers=settlement).status_code != 200:
        assert time.monotonic() < deadline, "status did not recover after the thaw"
        time.sleep(0.2)
    assert client.get(single, headers=settlement).json["settlement_allowed"] is False
    later = id_number()
    assert client.post("/api/v1/violations", json=violation(id_number=later), headers=admin).status_code == 201
    assert client.get(f"/api/v1/subjects/insured/{later}/status?on=2025-05-01",
                      headers=settlement).json["settlement_allowed"] is False
    assert client.get("/readyz").status_code == 200


def test_finding_7_timeouts_are_settings_with_sane_defaults(settings, monkeypatch):
    from credit_service.settings import Settings
    defaults = Settings(database_url="sqlite://")
    assert (defaults.db_connect_timeout_seconds, defaults.db_statement_timeout_seconds,
            defaults.db_pool_timeout_seconds) == (5.0, 15.0, 5.0)
    monkeypatch.setenv("CREDIT_SERVICE_DB_CONNECT_TIMEOUT_SECONDS", "2")
    monkeypatch.setenv("CREDIT_SERVICE_DB_STATEMENT_TIMEOUT_SECONDS", "7.5")
    monkeypatch.setenv("CREDIT_SERVICE_DB_POOL_TIMEOUT_SECONDS", "3")
    configured = Settings.from_env(database_url="sqlite://")
    assert (configured.db_connect_timeout_seconds, configured.db_statement_timeout_seconds,
            configured.db_pool_timeout_seconds) == (2.0, 7.5, 3.0)


def test_finding_7_postgresql_connections_carry_the_statement_timeout(settings):
    if settings.is_sqlite:
        pytest.skip("PostgreSQL only")
    from sqlalchemy import text
    from credit_service.adapters.database import make_engine
    engine = make_engine(settings.database_url, connect_timeout=2, statement_timeout=7.5, pool_timeout=3)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SHOW statement_timeout")).scalar() == "7500ms"
            from sqlalchemy.exc import OperationalError
            with pytest.raises(OperationalError):  # the server cancels a statement that runs too long
                connection.execute(text("SET LOCAL statement_timeout = 200"))
                connection.execute(text("SELECT pg_sleep(2)"))
        assert engine.pool.timeout() == 3
    finally:
        engine.dispose()
