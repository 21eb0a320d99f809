"""Driving the procedure's services directly, with the clock moved day by day."""
from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from credit_service.adapters.orm import MeasureRow
from credit_service.domain.violations import ViolationInput
from credit_service.services import intake
from tests.factories import stored_keys
from tests.unit_helpers import acting

D = date.fromisoformat
_refs = itertools.count(1)


def record(container, id_number: str, determined_on: str, fund_loss: str, *, months: int | None = None,
           handling: str = "administrative", fraud: bool = False, occurred_on: str | None = None,
           subject_type: str = "insured", region: str = "370100", points: int | None = None,
           category: str | None = None):
    """Records one violation as of its determination day; returns the RecordedViolation."""
    clock = container.clock
    saved = clock.current
    clock.current = max(saved, D(determined_on))
    try:
        v = ViolationInput(source="test", source_ref=f"T-{next(_refs):06d}", subject_type=subject_type,
                           id_number=id_number, name="张三", region=region,
                           occurred_on=D(occurred_on or determined_on), determined_on=D(determined_on),
                           fund_loss=Decimal(fund_loss), handling=handling, fraud=fraud, points=points,
                           description="测试", months_override=months, category=category)
        outcomes, _ = intake.record_violations(container.uow(), acting("test"), [v], container.rules, clock)
    finally:
        clock.current = saved
    outcome = outcomes[0]
    assert outcome.status == "created", outcome.error
    return outcome.violation


def standing_measures(container, id_number: str) -> list[tuple]:
    """(kind, starts_on, restores_on, months) of the measures not revoked, in start order."""
    with container.session_factory() as s:
        rows = s.scalars(select(MeasureRow).where(MeasureRow.lookup_key.in_(stored_keys(id_number)),
                                                  MeasureRow.revoked_on.is_(None))
                         .order_by(MeasureRow.starts_on, MeasureRow.kind)).all()
    return [(m.kind, m.starts_on.isoformat(), m.restores_on and m.restores_on.isoformat(), m.months) for m in rows]


@contextmanager
def on_day(clock, day: str):
    """The service's today is `day` inside the block (a person files on the day they file)."""
    saved = clock.current
    clock.current = D(day)
    try:
        yield
    finally:
        clock.current = saved
