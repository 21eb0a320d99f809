"""The real thing: gunicorn with 2 workers on 127.0.0.1, spoken to over HTTP with requests."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from credit_service.services.clients import create_client
from tests.factories import id_number, violation

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(container, database_url):
    port = _free_port()
    # WARNING: stderr is a pipe read only on failure; a JSON access line per request would fill it.
    env = dict(os.environ, CREDIT_SERVICE_DATABASE_URL=database_url, CREDIT_SERVICE_SCHEDULER="embedded",
               CREDIT_SERVICE_INDEX_POLL_SECONDS="0.5", CREDIT_SERVICE_LOG_LEVEL="WARNING")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--no-control-socket",
         "credit_service:create_app()"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        else:
            pytest.fail("server did not start: " + process.stderr.read1().decode(errors="replace"))
        yield base
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)


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
