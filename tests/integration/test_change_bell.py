"""Issue 13 item 3 on the embedded SQLite default: the change bell (adapters/change_bell.py) — a stamp in a
memory-mapped file beside the database, written after every commit that appended to the change feed,
read by the status check of every process on the machine. (The end-to-end proof with real worker
processes: tests/e2e/test_propagation.py.)"""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from credit_service.adapters import change_bell, records
from credit_service.adapters.database import make_engine, make_session_factory
from credit_service.adapters.orm import Base, SubjectChangeRow
from credit_service.clock import FixedClock
from credit_service.container import build_container
from credit_service.domain.status import CLEAN
from credit_service.services import intake
from credit_service.adapters.unit_of_work import ChangeFeed
from tests.conftest import TODAY
from tests.factories import id_number
from tests.unit_helpers import acting, violation_input

NOW = datetime(2026, 11, 26, 8, tzinfo=timezone.utc)


@pytest.fixture
def database(tmp_path):
    """A SQLite file of its own (whatever database the suite runs on), with its bell."""
    engine = make_engine(f"sqlite:///{tmp_path / 'bell.sqlite3'}")
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    change_bell.ring_after_feed_commits(engine, factory)
    yield engine, factory, change_bell.view_for(engine)
    engine.dispose()


def _feed_row(n: int = 0) -> SubjectChangeRow:
    return SubjectChangeRow(subject_type="insured", lookup_key=f"key-{n}", changed_at=NOW, origin=None)


def test_every_way_of_appending_to_the_feed_rings_after_commit(database):
    engine, factory, stamp = database
    appends = {
        "ORM add": lambda s: s.add(_feed_row()),
        "Core executemany": lambda s: ChangeFeed(s).append([("insured", "a"), ("insured", "b")], NOW),
        "bulk insert of an import": lambda s: records.insert_rows(s, [], [], [("insured", "c")], NOW, "x"),
    }
    for name, append in appends.items():
        with factory() as session:
            append(session)
            session.flush()
            before = stamp[0]
            assert stamp[0] == before, name  # not before the commit: others would read nothing new
            session.commit()
            assert stamp[0] != before, name


def test_no_ring_for_a_commit_without_feed_rows_nor_for_a_rollback(database):
    engine, factory, stamp = database
    before = stamp[0]
    with factory() as session:
        session.add(_feed_row())
        session.flush()
        session.rollback()
    with factory() as session:  # the same pooled connection: the rolled-back append is forgotten
        session.execute(text("UPDATE subject_changes SET origin = 'x'"))  # written, but nothing appended
        session.commit()
    assert stamp[0] == before


def test_the_stamp_is_shared_with_every_process_of_the_machine(database, tmp_path):
    engine, factory, stamp = database
    path = change_bell.bell_for(engine).path
    assert path == (tmp_path / "bell.sqlite3.changes").resolve()
    before = stamp[0]
    ring_elsewhere = ("from pathlib import Path; from credit_service.adapters.change_bell import Bell; "
                      f"Bell(Path({str(path)!r})).ring()")
    subprocess.run([sys.executable, "-c", ring_elsewhere], check=True)
    assert stamp[0] != before  # read from this process's mapping, written through another's
    seen = stamp[0]
    with factory() as session:
        session.add(_feed_row())
        session.commit()
    read_elsewhere = ("from pathlib import Path; from credit_service.adapters.change_bell import Bell; "
                      f"print(Bell(Path({str(path)!r})).view[0])")
    out = subprocess.run([sys.executable, "-c", read_elsewhere], check=True, capture_output=True, text=True)
    assert int(out.stdout) == stamp[0] != seen


def test_no_bell_where_there_is_nothing_to_share():
    for url in ("sqlite:///:memory:", "postgresql+psycopg://nobody@127.0.0.1:1/none"):
        engine = make_engine(url)
        assert change_bell.bell_for(engine) is None
        assert change_bell.view_for(engine) is change_bell.SILENT
        engine.dispose()


def test_a_status_check_after_the_bell_rang_answers_the_change(settings, monkeypatch):
    """Two containers with their own indexes on one SQLite file, the reader polling every 30 s: the
    reader's next check after the writer's commit answers the change (it waits for its poller). The
    wait's bound (100 ms) is raised here: this tests that the bell makes the check wait — without it the
    check answers at once, stale, whatever the bound — not how fast a poll is on a loaded test machine."""
    if not settings.is_sqlite:
        pytest.skip("the change bell is the embedded SQLite default's (PostgreSQL: test_notified_changes.py)")
    from credit_service.adapters.status_index import StatusIndex
    monkeypatch.setattr(StatusIndex, "CATCH_UP_SECONDS", 5.0)
    settings.index_poll_seconds = 30
    reader = build_container(settings, FixedClock(TODAY))
    writer = build_container(settings, FixedClock(TODAY))
    try:
        for attempt in range(5):
            number = id_number()
            assert reader.index.get("insured", number) is CLEAN  # loaded, its poller running
            intake.record_violations(writer.uow(), acting(), [violation_input(id_number=number)], writer.rules,
                                     writer.clock)
            assert reader.index.get("insured", number) is not CLEAN, attempt
    finally:
        for c in (reader, writer):
            c.index.stop()
            c.engine.dispose()
