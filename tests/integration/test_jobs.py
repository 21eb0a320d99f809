"""The job runner: one acts at a time, runs are recorded, unknown names are refused."""
from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from sqlalchemy import select

from credit_service.adapters.orm import JobRunRow
from credit_service.jobs import runner
from credit_service.jobs.calendar_watch import missing_calendar_years


def test_two_runners_started_together_never_both_act(container, monkeypatch):
    calls = []
    entered = threading.Event()

    def slow_sweep(c, as_of):
        calls.append(as_of)
        entered.set()
        time.sleep(0.5)
        return "done"

    monkeypatch.setitem(runner.JOBS, "slow", (slow_sweep, 0, 0))
    results = []
    first = threading.Thread(target=lambda: results.append(runner.run_job(container, "slow")))
    first.start()
    entered.wait(5)
    results.append(runner.run_job(container, "slow"))  # while the first still holds the lock
    first.join()
    assert sorted(results, key=lambda r: r is None) == ["done", None]
    assert len(calls) == 1
    assert runner.run_job(container, "slow", force=True) == "done"  # the lock is released afterwards


def test_a_run_is_recorded_with_its_as_of_date(container):
    summary = runner.run_job(container, "calendar_watch", date(2026, 11, 1))
    assert "2027" in summary
    with container.session_factory() as session:
        run = session.scalars(select(JobRunRow)).one()
    assert (run.job, run.as_of, run.outcome) == ("calendar_watch", date(2026, 11, 1), "ok")


def test_unknown_job_is_refused(container):
    with pytest.raises(runner.UnknownJob):
        runner.run_job(container, "nope")


@pytest.mark.parametrize("as_of,missing", [(date(2026, 10, 31), []), (date(2026, 11, 1), [2027]),
                                           (date(2027, 3, 1), [2027])])
def test_calendar_watch_warns_from_1_november(container, as_of, missing):
    assert missing_calendar_years(container.calendar, as_of) == missing


def test_scheduler_defines_jobs_in_code_with_catch_up_settings(container):
    scheduler = runner.build_scheduler(container)
    jobs = scheduler.get_jobs()
    assert {j.id for j in jobs} == set(runner.JOBS) | set(runner.INTERVAL_JOBS)
    for job in jobs:
        assert job.misfire_grace_time is None and job.coalesce is True
    delivery = scheduler.get_job("webhook_delivery")
    assert delivery.trigger.interval.total_seconds() == container.settings.webhook_interval_seconds


def test_interval_jobs_run_every_time_and_never_hold_the_daily_sweeps_lock(container, monkeypatch):
    calls = []
    entered, release = threading.Event(), threading.Event()

    def slow_delivery(c, as_of):
        calls.append(as_of)
        entered.set()
        release.wait(5)
        return "delivered"

    monkeypatch.setitem(runner.INTERVAL_JOBS, "webhook_delivery", (slow_delivery, "webhook_interval_seconds"))
    results = []
    first = threading.Thread(target=lambda: results.append(runner.run_job(container, "webhook_delivery")))
    first.start()
    entered.wait(5)
    try:
        assert runner.run_job(container, "webhook_delivery") is None  # one deliverer at a time
        assert runner.run_job(container, "calendar_watch", date(2026, 11, 1)) is not None  # daily lock is free
    finally:
        release.set()
        first.join()
    assert results == ["delivered"]
    assert runner.run_job(container, "webhook_delivery") == "delivered"  # no once-a-day guard
    with container.session_factory() as session:  # and no job_runs row for each frequent run
        assert [r.job for r in session.scalars(select(JobRunRow))] == ["calendar_watch"]


def test_a_day_already_swept_is_skipped_unless_forced(container, monkeypatch):
    calls = []
    monkeypatch.setitem(runner.JOBS, "count", (lambda c, as_of: calls.append(as_of) or "done", 0, 0))
    day = date(2026, 11, 26)
    assert runner.run_job(container, "count", day) == "done"
    assert runner.run_job(container, "count", day) is None  # e.g. the second gunicorn worker's catch-up
    assert runner.run_job(container, "count", date(2026, 11, 27)) == "done"
    assert runner.run_job(container, "count", day, force=True) == "done"
    assert calls == [day, date(2026, 11, 27), day]


def test_a_failed_sweep_is_tried_again(container, monkeypatch):
    outcomes = iter([RuntimeError("database hiccup"), "done"])

    def flaky(c, as_of):
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    from credit_service.metrics import JOB_RUNS
    failed, ok = JOB_RUNS.labels("flaky", "failed"), JOB_RUNS.labels("flaky", "ok")
    before = (failed._value.get(), ok._value.get())
    monkeypatch.setitem(runner.JOBS, "flaky", (flaky, 0, 0))
    with pytest.raises(RuntimeError):
        runner.run_job(container, "flaky", date(2026, 11, 26))
    assert runner.run_job(container, "flaky", date(2026, 11, 26)) == "done"
    assert (failed._value.get() - before[0], ok._value.get() - before[1]) == (1, 1)  # /metrics job counters
