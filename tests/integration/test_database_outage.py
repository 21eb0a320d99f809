"""A real outage: the service talks to PostgreSQL through a TCP proxy that is then cut (every
connection dropped, new ones refused) and restored. Meanwhile writes are 503 problem+json and status
checks still answer from the index; afterwards everything works again in the same process."""
from __future__ import annotations

import socket
import threading
from dataclasses import replace

import pytest
from sqlalchemy.engine import make_url

from credit_service import create_app
from credit_service.services.clients import create_client
from tests.factories import id_number, violation


class CuttableProxy:
    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:  # the database is away: the connection is dropped at once
                client.close()
                continue
            upstream = socket.create_connection(self.target)
            with self.lock:
                self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self):
        self.up = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self.sockets.clear()

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied(settings, clock):
    if settings.is_sqlite:
        pytest.skip("an embedded SQLite file cannot go away; tests/api/test_database_away.py covers the answers")
    url = make_url(settings.database_url)
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    app = create_app(replace(settings, database_url=url.set(host="127.0.0.1", port=proxy.port)
                             .render_as_string(hide_password=False)), clock=clock)
    yield app, proxy
    app.extensions["credit_service"].index.stop()
    app.extensions["credit_service"].engine.dispose()
    proxy.close()


def test_database_goes_away_and_returns(proxied):
    app, proxy = proxied
    container = app.extensions["credit_service"]
    client = app.test_client()
    admin = {"Authorization": f"Bearer {create_client(container.uow(), container.clock, 'out-admin', 'admin')[1]}"}
    settlement = {"Authorization": "Bearer " + create_client(container.uow(), container.clock, "out-settle",
                                                             "settlement")[1]}
    number = id_number()
    assert client.post("/api/v1/violations", json=violation(id_number=number), headers=admin).status_code == 201
    status_url = f"/api/v1/subjects/insured/{number}/status?on=2025-05-01"
    assert client.get(status_url, headers=settlement).json["settlement_allowed"] is False

    proxy.cut()
    for _ in range(3):  # pooled connections are found dead, new ones refused: every time a clear 503
        write = client.post("/api/v1/violations", json=violation(), headers=admin)
        assert write.status_code == 503 and write.mimetype == "application/problem+json"
        assert write.json["code"] == "database_unavailable" and "数据库" in write.json["detail"]
    assert client.get("/healthz").status_code == 503
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["database"] == "unavailable"
    assert client.get(status_url, headers=settlement).json["settlement_allowed"] is False  # from the index

    proxy.restore()
    later = id_number()
    assert client.post("/api/v1/violations", json=violation(id_number=later), headers=admin).status_code == 201
    assert client.get("/healthz").status_code == 200 and client.get("/readyz").status_code == 200
    assert client.get(f"/api/v1/subjects/insured/{later}/status?on=2025-05-01",
                      headers=settlement).json["settlement_allowed"] is False
