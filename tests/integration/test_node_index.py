"""Issue 13 item 7: with CREDIT_SERVICE_INDEX_STORE=shared the status index of every worker answers
exactly as the in-memory one — for every subject of a generated record, after changes made since the
node's snapshot (the worker's overlay), and for a worker that maps a snapshot another worker built."""
from __future__ import annotations

import dataclasses

import pytest

from credit_service.adapters.status_index import UnreadableRecord
from credit_service.clock import FixedClock
from credit_service.container import build_container
from tests.conftest import TODAY
from tests.factories import id_number
from tests.integration.test_shared_index import generate_record


def _answer(index, subject_type, number):
    try:
        return index.get(subject_type, number)
    except UnreadableRecord:
        return "unreadable"


def _same_answers(memory, shared, people):
    for subject_type, number in people:
        assert _answer(shared, subject_type, number) == _answer(memory, subject_type, number), (subject_type, number)


@pytest.fixture
def node(settings, tmp_path, monkeypatch):
    monkeypatch.setenv("CREDIT_SERVICE_DATA_DIR", str(tmp_path / "node"))
    made = []

    def container(store):
        c = build_container(dataclasses.replace(settings, index_store=store), FixedClock(TODAY))
        made.append(c)
        return c
    yield container
    for c in made:
        c.index.stop()
        c.engine.dispose()


def test_a_shared_index_answers_every_subject_as_the_in_memory_one(container, node, tmp_path):
    people = generate_record(container)
    people += [("insured", id_number(seq=900 + i)) for i in range(20)]  # never recorded
    memory, worker_1 = node("memory"), node("shared")
    memory.index.ensure_ready()
    worker_1.index.ensure_ready()
    assert worker_1.index.last_load_source == "node snapshot"
    snapshots = list((tmp_path / "node" / "status-index").glob("*.snapshot"))
    assert len(snapshots) == 1
    _same_answers(memory.index, worker_1.index, people)

    # changes after the snapshot: more violations for known and new people, through another process
    people += generate_record(container, seed=14, subjects=60, first=200) + \
        generate_record(container, seed=15, subjects=40, first=500)
    assert memory.index.poll_once() > 0 and worker_1.index.poll_once() > 0
    _same_answers(memory.index, worker_1.index, people)
    assert worker_1.index._facts.overlay_size > 0

    # a second worker of the node maps the same snapshot (young enough) and catches up from the feed
    mtime = snapshots[0].stat().st_mtime_ns
    worker_2 = node("shared")
    worker_2.index.ensure_ready()
    assert snapshots[0].stat().st_mtime_ns == mtime  # not built again
    _same_answers(memory.index, worker_2.index, people)

    # a full rebuild (every 10 minutes) with an old snapshot builds a new one
    worker_2.index._rebuild_seconds = 0
    worker_2.index.rebuild()
    assert snapshots[0].stat().st_mtime_ns != mtime
    _same_answers(memory.index, worker_2.index, people)


def test_the_setting_is_checked(settings):
    from credit_service.settings import settings_problems as problems_with
    assert any("CREDIT_SERVICE_INDEX_STORE" in p for p in problems_with(dataclasses.replace(settings, index_store="disk")))
    assert not any("CREDIT_SERVICE_INDEX_STORE" in p for p in problems_with(dataclasses.replace(settings, index_store="shared")))
