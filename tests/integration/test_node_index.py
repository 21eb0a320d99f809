"""Issue 13 item 7: with CREDIT_SERVICE_INDEX_STORE=shared the status index of every worker answers
exactly as the in-memory one — for every subject of a generated record, after changes made since the
node's snapshot (the worker's overlay), and for a worker that maps a snapshot another worker built."""
from __future__ import annotations

import dataclasses
import os

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


def _build(path, container, tag):
    from credit_service.adapters.node_index import build_snapshot
    return build_snapshot(path, container.engine, tag)


def test_the_node_snapshot_updated_from_the_feed_is_byte_for_byte_the_full_build(container, tmp_path):
    """After intake for known and new people, an upheld objection (violation voided, measures revoked), a
    modified one (the year recomputed), a withdrawn expert recommendation and an unreadable row, the
    snapshot updated from the previous one is the full build's bytes; after key rotation (no feed entries)
    the build is a full one."""
    from sqlalchemy import text
    from credit_service.adapters.node_index import keys_tag
    from credit_service.adapters.orm import ExpertRecommendationRow
    from credit_service.adapters.key_store import KeyRotation
    from credit_service.services import incentives
    from tests.integration.test_objection_recompute import object_and_decide
    from tests.unit_helpers import acting
    from tests.workflow import record
    tag = keys_tag(container.keys)
    people = generate_record(container)
    path, full = tmp_path / "node.snapshot", tmp_path / "full.snapshot"
    assert _build(path, container, tag).startswith("full build (no previous snapshot")
    assert _build(path, container, tag).startswith("updated from the previous snapshot (")

    generate_record(container, seed=14, subjects=60, first=200)  # 40 known people, 20 new
    upheld, modified = id_number(seq=700), id_number(seq=701)
    first = record(container, upheld, "2026-03-02", "150000.00")
    record(container, upheld, "2026-04-02", "10000.00")
    object_and_decide(container, first.measures[0].id, "upheld")
    first = record(container, modified, "2026-03-02", "150000.00")
    object_and_decide(container, first.measures[0].id, "modified", "50000.00")
    with container.session_factory() as s:
        recommendation = s.query(ExpertRecommendationRow).first()
    incentives.withdraw_expert_recommendation(container.uow(), container.clock, acting("staff"), recommendation.id,
                                              "撤回")
    with container.engine.begin() as c:  # a row the load cannot read, and a feed entry naming its subject
        key = c.execute(text("SELECT subject_type, lookup_key FROM measures WHERE revoked_on IS NULL "
                             "ORDER BY id LIMIT 1")).one()
        day = "infinity" if container.engine.dialect.name == "postgresql" else "not-a-date"
        c.execute(text(f"UPDATE measures SET starts_on = '{day}' WHERE subject_type = :t AND lookup_key = :k"),
                  {"t": key[0], "k": key[1]})
        c.execute(text("INSERT INTO subject_changes (subject_type, lookup_key, changed_at, origin) "
                       "VALUES (:t, :k, :at, 'test')"), {"t": key[0], "k": key[1], "at": container.clock.now()})
    done = _build(path, container, tag)
    assert done.startswith("updated from the previous snapshot"), done
    assert _build(full, container, tag).startswith("full build")
    assert path.read_bytes() == full.read_bytes()

    # keys rotate rewrites every lookup key and writes no feed entry: a snapshot of the old keys is not updated
    with container.session_factory() as s:
        old = [k for (k,) in s.execute(text("SELECT lookup_key FROM subjects"))]
        KeyRotation(s).switch([{"old_key": k, "new_key": "k9:" + k.split(":", 1)[1]} for k in old])
        s.commit()
    new_tag = bytes(reversed(tag))  # as keys_tag gives for the new keys
    assert "other lookup keys" in _build(path, container, new_tag)
    full.unlink()
    _build(full, container, new_tag)
    assert path.read_bytes() == full.read_bytes()
    assert people

    # bounded: a previous snapshot older than half the feed's retention (entries it needs could be pruned),
    # or a last full build older than FULL_BUILD_SECONDS, is not updated
    from credit_service.adapters.node_index import build_snapshot
    assert "half the change feed's retention" in build_snapshot(path, container.engine, new_tag,
                                                                 change_retention_seconds=0)
    os.utime(path.with_name(path.name + ".full"), (0, 0))
    assert "the last full build is over" in _build(path, container, new_tag)
    assert path.read_bytes() == full.read_bytes()
    # a database read behind the previous snapshot (a replica behind the primary it was read from)
    from credit_service.adapters.shared_index import write_snapshot
    write_snapshot(path, {}, head=10 ** 9, keys_tag=new_tag)
    assert "behind the previous snapshot" in _build(path, container, new_tag)
    assert path.read_bytes() == full.read_bytes()


def test_a_node_never_maps_a_snapshot_made_under_other_keys(container, tmp_path):
    from credit_service.adapters.node_index import NodeSnapshots
    generate_record(container, subjects=30)
    url = container.settings.database_url
    first = NodeSnapshots(tmp_path, url, keys_tag=b"a" * 16).acquire(reuse_seconds=300)
    made = first.path.stat().st_mtime_ns
    assert NodeSnapshots(tmp_path, url, keys_tag=b"a" * 16).acquire(reuse_seconds=300).keys_tag == b"a" * 16
    assert first.path.stat().st_mtime_ns == made  # young, same keys: mapped as it is
    other = NodeSnapshots(tmp_path, url, keys_tag=b"b" * 16).acquire(reuse_seconds=300)
    assert other.keys_tag == b"b" * 16 and first.path.stat().st_mtime_ns != made  # built again, in full
