"""Runs the sweeps: in-process (embedded mode), as `credit-service jobs run`, or once by hand."""
from __future__ import annotations

import logging
from datetime import date
from typing import Callable

from sqlalchemy import select

from credit_service.adapters.orm import JobRunRow
from credit_service.clock import SHANGHAI
from credit_service.metrics import JOB_RUNS

from . import audit_anchor, calendar_watch, reports, retention, webhooks, workflow
from .locks import runner_lock

log = logging.getLogger(__name__)

# name -> (sweep, cron hour, cron minute). A sweep takes (container, as_of) and returns a summary.
# Each has its own lock and dates its effects by the rules, not by the run: their order does not matter.
JOBS: dict[str, tuple[Callable, int, int]] = {
    "activate_measures": (workflow.activate_measures, 0, 5),
    "end_measures": (workflow.end_measures, 0, 10),
    "recompute_deadlines": (workflow.recompute_deadlines, 0, 20),
    "close_objection_windows": (workflow.close_objection_windows, 0, 30),
    "flag_overdue": (workflow.flag_overdue, 0, 40),
    "calendar_watch": (calendar_watch.run, 6, 0),
    # 月度统计报表: daily, so that the 1st freezes the month just ended and a runner that was down catches up.
    "freeze_monthly_reports": (reports.freeze_monthly_reports, 0, 50),
    "retention": (retention.run, 3, 30),  # change feed and delivered webhook rows past their retention
}

# name -> (sweep, Settings attribute holding the seconds between runs). These run all day long: no
# once-a-day guard, no job_runs row unless they fail, and their own lock, so that they never keep a
# daily sweep from running (a daily sweep that finds the lock taken waits for the next day).
INTERVAL_JOBS: dict[str, tuple[Callable, str]] = {
    "webhook_delivery": (webhooks.run, "webhook_interval_seconds"),
    "audit_anchor": (audit_anchor.run, "audit_anchor_interval_seconds"),
}


class UnknownJob(KeyError):
    pass


def run_job(container, name: str, as_of: date | None = None, force: bool = False) -> str | None:
    """Run one sweep if this process gets the runner lock; returns its summary, None if skipped.

    A sweep as of a day is done once: every web worker's start-up catch-up and the daily trigger
    find the day already swept and skip it. Operators' run-once passes force=True.
    """
    if name in INTERVAL_JOBS:
        return _run_interval_job(container, name, as_of)
    if name not in JOBS:
        raise UnknownJob(name)
    sweep = JOBS[name][0]
    as_of = as_of or container.clock.today()
    with runner_lock(container.engine, name) as acquired:
        if not acquired:
            log.info("job %s skipped: another runner holds the lock", name)
            JOB_RUNS.labels(name, "skipped").inc()
            return None
        if not force and _done(container, name, as_of):
            log.info("job %s as of %s already done", name, as_of)
            return None
        started = container.clock.now()
        try:
            summary = sweep(container, as_of)  # the sweep names itself as the audit actor (workflow.job_actor)
            outcome = "ok"
        except Exception as exc:  # recorded, then raised for the scheduler's own logging
            summary, outcome = f"{exc.__class__.__name__}: {exc}", "failed"
            JOB_RUNS.labels(name, outcome).inc()
            _record(container, name, as_of, started, outcome, summary)
            raise
        JOB_RUNS.labels(name, outcome).inc()
        _record(container, name, as_of, started, outcome, summary)
        level = logging.WARNING if name == "calendar_watch" and summary != "calendar complete" else logging.INFO
        log.log(level, "job %s as of %s: %s", name, as_of, summary)
        return summary


def _run_interval_job(container, name: str, as_of: date | None) -> str | None:
    sweep = INTERVAL_JOBS[name][0]
    with runner_lock(container.engine, name) as acquired:
        if not acquired:
            JOB_RUNS.labels(name, "skipped").inc()
            return None
        started = container.clock.now()
        try:
            summary = sweep(container, as_of or container.clock.today())
        except Exception as exc:
            JOB_RUNS.labels(name, "failed").inc()
            _record(container, name, as_of or container.clock.today(), started, "failed",
                    f"{exc.__class__.__name__}: {exc}")
            raise
        JOB_RUNS.labels(name, "ok").inc()
        return summary


def _done(container, name: str, as_of: date) -> bool:
    with container.session_factory() as session:
        return session.scalar(select(JobRunRow.id).where(
            JobRunRow.job == name, JobRunRow.as_of == as_of, JobRunRow.outcome == "ok").limit(1)) is not None


def _record(container, name, as_of, started, outcome, summary) -> None:
    with container.uow() as uow:
        uow.session.add(JobRunRow(job=name, as_of=as_of, started_at=started, finished_at=container.clock.now(),
                                  outcome=outcome, detail=summary))
        uow.commit()


def build_scheduler(container, background: bool = True):
    """Jobs are defined here in code, never pickled into a job store; each runs at start-up too, so a
    runner that was down catches up at once (and the sweeps themselves look back)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    scheduler = (BackgroundScheduler if background else BlockingScheduler)(timezone=SHANGHAI)
    for name, (_, hour, minute) in JOBS.items():
        scheduler.add_job(_safe_run, CronTrigger(hour=hour, minute=minute, timezone=SHANGHAI),
                          args=(container, name), id=name, name=name, misfire_grace_time=None,
                          coalesce=True, max_instances=1, replace_existing=True,
                          next_run_time=container.clock.now())
    from apscheduler.triggers.interval import IntervalTrigger
    for name, (_, seconds_setting) in INTERVAL_JOBS.items():
        scheduler.add_job(_safe_run, IntervalTrigger(seconds=getattr(container.settings, seconds_setting)),
                          args=(container, name), id=name, name=name, misfire_grace_time=None,
                          coalesce=True, max_instances=1, replace_existing=True)
    return scheduler


def _safe_run(container, name: str) -> None:
    try:
        run_job(container, name)
    except Exception:
        log.exception("job %s failed", name)


def start_embedded_scheduler(container):
    scheduler = build_scheduler(container, background=True)
    scheduler.start()
    return scheduler
