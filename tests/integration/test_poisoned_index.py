"""Issue 9, finding 1 (second and third layers): one stored row cannot stop the status index, and a
worker never answers from an index older than CREDIT_SERVICE_INDEX_MAX_AGE_SECONDS.

The attack stored a violation determined 1899-12-31; the index computed `1 << (year - 1900)`, every later
poll in every other worker failed, and those workers kept answering from a stale index: a subject
suspended afterwards was answered `settlement_allowed: true`.
"""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import text

from credit_service.adapters.status_index import StaleIndex, StatusIndex
from credit_service.clock import FixedClock
from credit_service.container import build_container
from credit_service.services import intake
from credit_service.services.clients import create_client, revoke_client
from tests.conftest import TODAY
from tests.factories import id_number, stored_key
from tests.unit_helpers import violation_input, acting


@pytest.fixture
def other_process(settings):
    """A second container on the same database stands in for another gunicorn worker."""
    other = build_container(settings, FixedClock(TODAY))
    yield other
    other.index.stop()
    other.engine.dispose()


def _record(container, number, **overrides):
    outcomes, _ = intake.record_violations(container.uow(), acting("test"), [violation_input(id_number=number, **overrides)], container.rules, container.clock, origin="another-process")
    assert outcomes[0].status == "created", outcomes[0].error
    return outcomes[0].violation


def _poison(container, number: str, sql: str, **params) -> None:
    """Store a row the API would refuse, directly (as the attack's rows were stored before the fix),
    with a change-feed entry so that every other process reloads the subject."""
    _record(container, number)
    with container.engine.begin() as connection:
        connection.execute(text(sql), {"key": stored_key(number), **params})
        connection.execute(text("INSERT INTO subject_changes (subject_type, lookup_key, changed_at, origin) "
                                "VALUES ('insured', :key, :at, 'another-process')"),
                           {"key": stored_key(number), "at": container.clock.now()})


def _poison_year(container, number: str, year: int) -> None:
    _poison(container, number, "UPDATE violations SET occurred_on = :day, determined_on = :day, "
                               "record_year = :year WHERE lookup_key = :key",
            day=f"{max(year, 1):04d}-12-31" if 0 < year < 10000 else "1899-12-31", year=year)


def _skipped(table: str) -> float:
    from credit_service.metrics import REGISTRY
    return REGISTRY.get_sample_value("credit_service_status_index_rows_skipped_total", {"table": table}) or 0.0


@pytest.mark.parametrize("year", [1899, 1, 2200, 99999, -5])
def test_finding_1_a_poisoned_year_does_not_stop_other_workers_from_seeing_a_later_suspension(
        container, other_process, client, auth, year):
    container.index.ensure_ready()
    _, revoked = create_client(container.uow(), container.clock, "to-revoke", "settlement")
    assert container.tokens.principal_for(revoked) is not None
    poisoned, later = id_number(), id_number()
    _poison_year(other_process, poisoned, year)
    container.index.poll_once()  # before the fix: ValueError: negative shift count, every time
    assert year in container.index.get("insured", poisoned).record_years
    _record(other_process, later)  # suspended 2025-04-10 … 2025-10-10
    revoke_client(other_process.uow(), other_process.clock, "to-revoke")
    container.index.poll_once()
    answer = client.get(f"/api/v1/subjects/insured/{later}/status?on=2025-05-01", headers=auth("settlement"))
    assert answer.status_code == 200 and answer.json["settlement_allowed"] is False
    assert container.tokens.principal_for(revoked) is None  # the attack saw a revoked token keep working
    # a restarted worker loads the same rows, and is ready
    restarted = build_container(container.settings, FixedClock(TODAY))
    try:
        restarted.index.ensure_ready()
        assert restarted.index.get("insured", later).measures and restarted.index.fresh
        assert restarted.index.get("insured", poisoned) == container.index.get("insured", poisoned)
    finally:
        restarted.engine.dispose()
    assert client.get("/readyz").status_code == 200


def _unreadable_date(container) -> str:
    # A day neither Python nor the API can hold: PostgreSQL stores it, SQLite stores any text.
    return "infinity" if container.engine.dialect.name == "postgresql" else "not-a-date"


@pytest.mark.parametrize("column", ["starts_on", "restores_on"])
def test_finding_1_an_unreadable_measure_row_is_skipped_logged_counted_and_never_answered_allowed(
        container, other_process, client, auth, caplog, column):
    container.index.ensure_ready()
    poisoned, later = id_number(), id_number()
    before = _skipped("measures")
    with caplog.at_level(logging.WARNING, logger="credit_service.adapters"):
        _poison(other_process, poisoned, f"UPDATE measures SET {column} = '{_unreadable_date(container)}' "
                                         "WHERE lookup_key = :key")
        container.index.poll_once()
        _record(other_process, later)
        container.index.poll_once()
        container.index.rebuild()
    assert _skipped("measures") - before >= 2  # the poll and the rebuild each skipped it
    assert "unreadable" in caplog.text
    assert poisoned not in caplog.text and stored_key(poisoned) not in caplog.text
    headers = auth("settlement")
    assert client.get(f"/api/v1/subjects/insured/{later}/status?on=2025-05-01",
                      headers=headers).json["settlement_allowed"] is False
    # The poisoned subject's record cannot be read whole: an error, never "allowed".
    for response in (client.get(f"/api/v1/subjects/insured/{poisoned}/status?on=2025-05-01", headers=headers),
                     client.post("/api/v1/status/batch", headers=headers, json={
                         "on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": poisoned}]}),
                     client.post("/api/v1/claims/check", headers=headers, json={
                         "on": "2025-05-01", "insured": {"subject_type": "insured", "id_number": poisoned}})):
        assert response.status_code == 500, response.json
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] == "status_record_unreadable"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'credit_service_status_index_rows_skipped_total{table="measures"}' in metrics


class FakeMonotonic:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def aged(container, monkeypatch):
    """The app's index, on a clock the test moves; `away()` makes the database refuse every connection."""
    from sqlalchemy.exc import OperationalError
    clock = FakeMonotonic()
    index = StatusIndex(container.engine, poll_seconds=0, keyring=container.keys, max_age_seconds=300,
                        monotonic=clock)
    index.add_listener(container.tokens.on_change)
    container.index = index
    index.ensure_ready()

    def away():
        def refuse(*args, **kwargs):
            raise OperationalError("SELECT 1", {}, Exception("connection refused"))
        monkeypatch.setattr(container.engine, "connect", refuse)
    clock.away = away
    clock.back = monkeypatch.undo
    return clock


def _status_calls(client, headers, number):
    return {
        "single": client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-05-01", headers=headers),
        "batch": client.post("/api/v1/status/batch", headers=headers, json={
            "on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": number}]}),
        "claims": client.post("/api/v1/claims/check", headers=headers, json={
            "on": "2025-05-01", "insured": {"subject_type": "insured", "id_number": number}}),
    }


def test_finding_1_past_its_maximum_age_the_index_answers_503_everywhere_until_it_refreshes(
        client, auth, container, aged):
    number = id_number()
    headers = auth("settlement")  # the token is cached before the database goes away
    assert client.post("/api/v1/violations", json=_body(number), headers=auth()).status_code == 201
    assert all(r.status_code == 200 for r in _status_calls(client, headers, number).values())
    aged.away()
    aged.now += 299  # a database restart within the bound: answers from the index go on
    assert all(r.status_code == 200 for r in _status_calls(client, headers, number).values())
    aged.now += 2
    for name, response in _status_calls(client, headers, number).items():
        assert response.status_code == 503, name
        assert response.mimetype == "application/problem+json"
        assert response.json["code"] == "status_index_stale" and "索引" in response.json["detail"], name
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"]["status_index"] == "stale"
    assert "credit_service_status_index_age_seconds 301" in client.get("/metrics").get_data(as_text=True)
    aged.back()  # the database returns: the next refresh makes the index fresh again
    answers = _status_calls(client, headers, number)
    assert all(r.status_code == 200 for r in answers.values())
    assert answers["single"].json["settlement_allowed"] is False
    assert client.get("/readyz").status_code == 200


def test_finding_1_the_fast_path_never_answers_from_a_stale_index(client, auth, app, container, aged):
    number = id_number()
    headers = auth("settlement")
    aged.away()
    aged.now += 301

    def broken(*args, **kwargs):
        raise AssertionError("stale: the fast path handed over, and so must the view")
    calls = _status_calls(client, headers, number)
    assert {r.status_code for r in calls.values()} == {503}
    app.view_functions["status.subject_status"] = broken  # the fast path itself must not answer either
    assert client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-05-01", headers=headers).status_code == 500


def test_finding_1_a_poller_that_keeps_failing_turns_the_index_stale(container):
    from sqlalchemy.exc import OperationalError
    clock = FakeMonotonic()
    index = StatusIndex(container.engine, poll_seconds=0, keyring=container.keys, max_age_seconds=300,
                        monotonic=clock)
    index.ensure_ready()
    assert index.fresh and index.age_seconds() == 0
    clock.now += 200
    index.poll_once()
    assert index.age_seconds() == 0  # a successful poll counts as a refresh
    clock.now += 400

    class Refusing:
        def connect(self):
            raise OperationalError("SELECT 1", {}, Exception("down"))
    index._engine = Refusing()
    with pytest.raises(OperationalError):
        index.poll_once()
    assert not index.fresh and index.age_seconds() == 400
    with pytest.raises(StaleIndex):
        index.get("insured", id_number())


def _body(number):
    from tests.factories import violation
    return violation(id_number=number)
