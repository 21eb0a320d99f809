"""The real thing: the default server (`credit-service serve`, 2 workers) on 127.0.0.1, spoken to over HTTP."""
from __future__ import annotations

import time

import pytest
import requests

from credit_service.services.clients import create_client
from tests.e2e.server import Server
from tests.factories import id_number, violation


@pytest.fixture
def server(container, database_url):
    running = Server(database_url, ready="/healthz", CREDIT_SERVICE_SCHEDULER="embedded",
                     CREDIT_SERVICE_RATE_LIMIT="500/1000")
    try:
        yield running.base
    finally:
        running.stop()


def test_record_then_every_worker_answers_the_new_status_within_one_second(server, container):
    _, admin = create_client(container.uow(), container.clock, "e2e-admin", "admin")
    _, settlement = create_client(container.uow(), container.clock, "e2e-settlement", "settlement")
    number = id_number()
    status_url = f"{server}/api/v1/subjects/insured/{number}/status?on=2026-12-01"
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {settlement}"
        for _ in range(10):  # warm both workers' indexes before the change
            assert http.get(status_url, timeout=5).json()["settlement_allowed"] is True
        created = requests.post(f"{server}/api/v1/violations", timeout=10,
                                json=violation(id_number=number, occurred_on="2026-10-01", determined_on="2026-11-20"),
                                headers={"Authorization": f"Bearer {admin}"})
        assert created.status_code == 201, created.text
        time.sleep(1.0)  # the documented bound for other processes
        answers = [http.get(status_url, timeout=5).json()["settlement_allowed"] for _ in range(20)]
    assert answers == [False] * 20


def test_errors_over_http_are_problem_json(server):
    response = requests.get(f"{server}/api/v1/subjects/insured/{id_number()}/status", timeout=5)
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "unauthorized"
