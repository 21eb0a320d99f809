"""With the database gone, settlement still gets answers from the index; writes say 503 clearly."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from tests.factories import id_number, violation


@pytest.fixture
def database_gone(container, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    def go():
        monkeypatch.setattr(container.engine, "connect", refuse)
        monkeypatch.setattr(container.session_factory, "kw", {**container.session_factory.kw,
                                                              "bind": _RefusingBind(container.engine)})
    return go


class _RefusingBind:
    def __init__(self, engine):
        self.dialect = engine.dialect

    def connect(self, *args, **kwargs):
        raise OperationalError("BEGIN", {}, Exception("connection refused"))

    def __getattr__(self, name):
        raise OperationalError("BEGIN", {}, Exception("connection refused"))


def test_status_and_batch_keep_answering_and_writes_are_503(client, auth, database_gone):
    number = id_number()
    client.post("/api/v1/violations", json=violation(id_number=number), headers=auth())
    headers = auth("settlement")
    assert client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-05-01", headers=headers).status_code == 200
    database_gone()
    status = client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-05-01", headers=headers)
    assert status.status_code == 200 and status.json["settlement_allowed"] is False
    batch = client.post("/api/v1/status/batch", headers=headers, json={
        "on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": number}]})
    assert batch.status_code == 200 and batch.json["results"][0]["settlement_allowed"] is False
    write = client.post("/api/v1/violations", json=violation(), headers=auth())
    assert write.status_code == 503
    assert write.mimetype == "application/problem+json" and write.json["code"] == "database_unavailable"
    assert client.get("/healthz").status_code == 503


def test_when_the_database_returns_everything_recovers_without_restart(client, auth, container, database_gone,
                                                                       monkeypatch):
    number = id_number()
    assert client.post("/api/v1/violations", json=violation(id_number=number), headers=auth()).status_code == 201
    database_gone()
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 503
    assert client.get("/readyz").status_code == 503
    monkeypatch.undo()  # the database is back
    later = id_number()
    assert client.post("/api/v1/violations", json=violation(id_number=later), headers=auth()).status_code == 201
    assert client.get("/healthz").status_code == 200
    container.index.ensure_ready()
    assert client.get("/readyz").status_code == 200
    status = client.get(f"/api/v1/subjects/insured/{later}/status?on=2025-05-01", headers=auth("settlement"))
    assert status.status_code == 200 and status.json["settlement_allowed"] is False
