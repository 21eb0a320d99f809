"""Issue 13 item 5: many nodes, one truth. Two application nodes and one job runner, each a process of its
own with its own data directory, on one PostgreSQL database (as deploy/compose.yaml runs them). One node
is killed (SIGKILL) in the middle of a bulk import; the client retries on the other node; afterwards
every node — the survivor, the killed one restarted, and a fresh one — answers the same for every subject."""
from __future__ import annotations

import os
import subprocess
import threading
import time
import uuid

import pytest
import requests

from tests.e2e.server import CLI, ROOT, Server
from tests.factories import id_number, violation

ON = "2025-06-01"
ROWS = 3000


@pytest.fixture
def postgresql(settings):
    if settings.is_sqlite:
        pytest.skip("several nodes share a PostgreSQL database; the embedded SQLite default is one node")
    return settings.database_url


def _node(database_url, data_dir):
    return Server(database_url, workers=1, CREDIT_SERVICE_DATA_DIR=str(data_dir),
                  CREDIT_SERVICE_INDEX_POLL_SECONDS="0.2", CREDIT_SERVICE_LOG_LEVEL="INFO")


def _answers(node, token, numbers) -> dict[str, bool]:
    answers = {}
    for start in range(0, len(numbers), 1000):
        chunk = numbers[start:start + 1000]
        response = requests.post(f"{node.base}/api/v1/status/batch", timeout=60, headers={
            "Authorization": f"Bearer {token}"}, json={
            "on": ON, "subjects": [{"subject_type": "insured", "id_number": n} for n in chunk]})
        assert response.status_code == 200, response.text[:300]
        answers.update(zip(chunk, (r["settlement_allowed"] for r in response.json()["results"])))
    return answers


def test_a_node_killed_during_an_import_and_every_node_answers_the_same(postgresql, tokens, tmp_path):
    nodes = {"a": _node(postgresql, tmp_path / "a"), "b": _node(postgresql, tmp_path / "b")}
    runner = subprocess.Popen([CLI, "jobs", "run"], cwd=ROOT, start_new_session=True,
                              env=dict(os.environ, CREDIT_SERVICE_DATABASE_URL=postgresql,
                                       CREDIT_SERVICE_DATA_DIR=str(tmp_path / "runner")),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    fresh = None
    try:
        tag = uuid.uuid4().hex[:8]
        numbers = [id_number() for _ in range(ROWS)]
        rows = [violation(id_number=n, source_ref=f"MN-{tag}-{i}") for i, n in enumerate(numbers)]
        admin = {"Authorization": f"Bearer {tokens['admin']}"}
        # a few recorded through node b first: a node that is killed must not lose what others did
        for row in rows[:20]:
            assert requests.post(f"{nodes['b'].base}/api/v1/violations", json=row, headers=admin,
                                 timeout=30).status_code == 201

        outcome = {}

        def import_at_a():  # in chunks: some commit before the kill, one is cut off in the middle
            outcome["chunks"] = 0
            try:
                for start in range(0, ROWS, 250):
                    response = requests.post(f"{nodes['a'].base}/api/v1/violations/import",
                                             json=rows[start:start + 250], headers=admin, timeout=120)
                    assert response.status_code == 200, response.text[:300]
                    outcome["chunks"] += 1
            except requests.RequestException as exc:
                outcome["error"] = exc

        importer = threading.Thread(target=import_at_a)
        importer.start()
        deadline = time.monotonic() + 60
        while outcome.get("chunks", 0) < 2 and importer.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)  # the next chunk is on its way
        killed_during_import = importer.is_alive()
        nodes["a"].kill_9()
        importer.join(timeout=120)
        assert killed_during_import and "error" in outcome and outcome["chunks"] >= 2, outcome

        # the client retries the whole import on the node that is left: rows are idempotent by source_ref
        retried = requests.post(f"{nodes['b'].base}/api/v1/violations/import", json=rows, headers=admin,
                                timeout=300)
        assert retried.status_code == 200, retried.text[:300]
        summary = retried.json()["summary"]
        assert summary["created"] + summary["duplicate"] == ROWS and summary["rejected"] == 0, summary

        nodes["a"] = _node(postgresql, tmp_path / "a")  # the killed node comes back with its data directory
        fresh = _node(postgresql, tmp_path / "c")  # and a node that never saw any of it
        settlement = tokens["settlement"]
        deadline = time.monotonic() + 10
        while True:
            seen = {name: _answers(node, settlement, numbers) for name, node in (*nodes.items(), ("fresh", fresh))}
            if seen["a"] == seen["b"] == seen["fresh"] or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert seen["a"] == seen["b"] == seen["fresh"]
        assert set(seen["fresh"].values()) == {False}  # everyone recorded is suspended, on every node
        assert runner.poll() is None, "the job runner died"
        assert summary["duplicate"] >= outcome["chunks"] * 250  # what node a committed before it died is kept
        print(f"node a killed after {outcome['chunks']} chunks of 250 committed; retry on b: {summary}")
    finally:
        runner.terminate()
        try:
            runner.wait(timeout=30)
        except subprocess.TimeoutExpired:
            runner.kill()
        for node in (*nodes.values(), fresh):
            if node is not None:
                node.stop()
