"""The procedure's sweeps (Arts 10–12), as the runner calls them: (container, as_of) → summary."""
from __future__ import annotations

import logging
from datetime import date

from credit_service.calendar_config import build_calendar
from credit_service.services import sweeps
from credit_service.services.audit import Actor
from credit_service.services.procedure import Workflow

log = logging.getLogger(__name__)


def job_actor(name: str) -> Actor:
    """A sweep's changes are audited as the job's (the runner's name for it)."""
    return Actor(f"job:{name}", "system")


def activate_measures(container, as_of: date) -> str:
    return sweeps.activate_measures(container.workflow(), as_of, job_actor("activate_measures"))


def end_measures(container, as_of: date) -> str:
    return sweeps.end_measures(container.workflow(), as_of, job_actor("end_measures"))


def close_objection_windows(container, as_of: date) -> str:
    return sweeps.close_objection_windows(container.workflow(), as_of, job_actor("close_objection_windows"))


def flag_overdue(container, as_of: date) -> str:
    return sweeps.flag_overdue(container.workflow(), as_of, job_actor("flag_overdue"))


def recompute_deadlines(container, as_of: date) -> str:
    """Reads config/calendar/ afresh (a malformed file fails this run, and is reported, instead of
    stopping the service), so a year added to a running service counts at once."""
    container.calendar = build_calendar(container.settings.config_dir / "calendar")
    return sweeps.recompute_provisional_deadlines(
        Workflow(uow_factory=container.uow, rules=container.rules, calendar=container.calendar,
                 clock=container.clock), as_of, job_actor("recompute_deadlines"))
