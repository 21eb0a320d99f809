"""The in-process status index: immediate in the writing process, within ~1 s in every other."""
from __future__ import annotations

import time
from datetime import date

import pytest
from sqlalchemy import insert

from credit_service.adapters.orm import SubjectChangeRow
from credit_service.adapters.records import latest_change_seq
from credit_service.clock import FixedClock
from credit_service.container import build_container
from credit_service.domain.status import CLEAN
from credit_service.services import intake
from credit_service.services.clients import create_client, revoke_client
from tests.conftest import TODAY
from tests.factories import id_number, stored_key
from tests.unit_helpers import violation_input, acting


@pytest.fixture
def other_process(settings):
    """A second container on the same database stands in for another gunicorn worker or host."""
    other = build_container(settings, FixedClock(TODAY))
    yield other
    other.index.stop()
    other.engine.dispose()


def test_a_change_made_elsewhere_reaches_this_index_on_the_next_poll(container, other_process):
    number = id_number()
    container.index.ensure_ready()
    assert container.index.get("insured", number) is CLEAN
    outcomes, changed = intake.record_violations(other_process.uow(), acting("test"), [violation_input(id_number=number)], other_process.rules, other_process.clock)
    assert container.index.get("insured", number) is CLEAN  # not yet polled
    assert container.index.poll_once() >= 1
    facts = container.index.get("insured", number)
    assert [m.measure_id for m in facts.measures] == [outcomes[0].violation.measures[0].id]
    assert facts.record_years == frozenset({2025})


def test_a_poller_thread_applies_changes_within_one_second(settings, other_process):
    settings.index_poll_seconds = 0.2
    watcher = build_container(settings, FixedClock(TODAY))
    try:
        watcher.index.ensure_ready()
        number = id_number()
        intake.record_violations(other_process.uow(), acting("test"), [violation_input(id_number=number)], other_process.rules, other_process.clock)
        deadline = time.monotonic() + 1.0
        while watcher.index.get("insured", number) is CLEAN and time.monotonic() < deadline:
            time.sleep(0.05)
        assert watcher.index.get("insured", number) is not CLEAN
    finally:
        watcher.index.stop()
        watcher.engine.dispose()


def test_a_change_committed_late_with_a_lower_sequence_number_is_not_missed(container, other_process):
    """Sequence numbers are taken before commit; a slow transaction can land behind a faster one."""
    container.index.ensure_ready()
    table = SubjectChangeRow.__table__
    with other_process.engine.begin() as connection:  # the fast transaction, already seen
        head = latest_change_seq(connection)
        connection.execute(insert(table).values(seq=head + 500, subject_type="insured", lookup_key=stored_key(id_number()),
                                                changed_at=other_process.clock.now()))
    container.index.poll_once()
    late = id_number()
    intake.record_violations(other_process.uow(), acting("test"), [violation_input(id_number=late)], other_process.rules, other_process.clock)
    with other_process.engine.begin() as connection:  # the slow one: its number is below the one seen
        connection.execute(table.update().where(table.c.lookup_key == stored_key(late)).values(seq=head + 400))
    container.index.poll_once()
    assert container.index.get("insured", late) is not CLEAN


def test_a_revoked_token_stops_working_after_the_next_poll(container, other_process):
    _, token = create_client(container.uow(), container.clock, "to-revoke", "settlement")
    container.index.ensure_ready()
    assert container.tokens.principal_for(token) is not None
    revoke_client(other_process.uow(), other_process.clock, "to-revoke")
    container.index.poll_once()
    assert container.tokens.principal_for(token) is None


def test_rebuild_matches_incremental_refreshes(container):
    container.index.ensure_ready()
    numbers = [id_number() for _ in range(20)]
    _, changed = intake.record_violations(container.uow(), acting("test"), [violation_input(id_number=n, determined_on=date(2025, 1 + i % 12, 10))
                          for i, n in enumerate(numbers)], container.rules, container.clock)
    container.index.refresh(changed)
    incremental = {n: container.index.get("insured", n) for n in numbers}
    container.index.rebuild()
    assert {n: container.index.get("insured", n) for n in numbers} == incremental


def test_what_the_writing_process_merges_equals_what_a_reload_reads(client, auth, container):
    from tests.factories import violation
    container.index.ensure_ready()
    person = id_number()
    bodies = [violation(id_number=person, fund_loss="60000.00", determined_on="2025-04-10"),
              violation(id_number=person, fund_loss="60000.00", determined_on="2025-06-10"),
              violation(id_number=person, fund_loss="0.00", occurred_on="2024-06-01", determined_on="2024-06-10"),
              violation(id_number=person, handling="criminal", fraud=True, determined_on="2025-07-01")]
    for body in bodies[:2]:
        assert client.post("/api/v1/violations", json=body, headers=auth()).status_code == 201
    assert client.post("/api/v1/violations/import", json=bodies[2:], headers=auth()).status_code == 200
    merged = container.index.get("insured", person)
    assert len(merged.measures) == 4 and merged.record_years == frozenset({2024, 2025})
    container.index.rebuild()
    assert container.index.get("insured", person) == merged


def test_the_writing_process_skips_its_own_feed_entries_but_not_others(client, auth, container, other_process,
                                                                        monkeypatch):
    from tests.factories import violation
    container.index.ensure_ready()
    mine, theirs = id_number(), id_number()
    assert client.post("/api/v1/violations", json=violation(id_number=mine), headers=auth()).status_code == 201
    intake.record_violations(other_process.uow(), acting("test"), [violation_input(id_number=theirs)], other_process.rules, other_process.clock, origin="another-process")
    reloaded = []
    original = container.index.refresh
    monkeypatch.setattr(container.index, "refresh", lambda keys: reloaded.append(set(keys)) or original(keys))
    assert container.index.poll_once() == 2
    assert reloaded == [{("insured", stored_key(theirs))}]
    assert container.index.get("insured", mine) is not CLEAN and container.index.get("insured", theirs) is not CLEAN


def test_merging_what_a_load_already_read_adds_nothing_twice(container):
    container.index.ensure_ready()
    number = id_number()
    outcomes, _ = intake.record_violations(container.uow(), acting("test"), [violation_input(id_number=number)], container.rules, container.clock)
    container.index.rebuild()  # a load that already saw the commit
    before = container.index.get("insured", number)
    m = outcomes[0].violation.measures[0]
    from credit_service.domain.status import MeasureFact
    container.index.merge([(("insured", number), (MeasureFact(m.id, m.kind, m.region, m.starts_on, m.restores_on),),
                            outcomes[0].violation.record_year)])
    assert container.index.get("insured", number) == before
    assert len(before.measures) == 1
