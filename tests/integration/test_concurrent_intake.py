"""Two processes recording violations of one person at the same moment aggregate as if one came first."""
from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from credit_service.adapters.orm import MeasureRow
from credit_service.clock import FixedClock
from credit_service.container import build_container
from credit_service.adapters import unit_of_work
from credit_service.services import intake
from tests.conftest import TODAY
from tests.factories import id_number, stored_key
from tests.unit_helpers import violation_input, acting


@pytest.mark.parametrize("subject_lock_limit", [500, 0, 2],
                         ids=["subject-locks", "exclusive-intake-lock", "one-bulk-writer-among-single-ones"])
@pytest.mark.article("第九条")
def test_art9_concurrent_violations_of_one_person_never_overlap_or_double_count(settings, container, monkeypatch,
                                                                                subject_lock_limit):
    monkeypatch.setattr(unit_of_work, "SUBJECT_LOCK_LIMIT", subject_lock_limit)
    person = id_number()
    workers = [build_container(settings, FixedClock(TODAY)) for _ in range(4)]
    barrier = threading.Barrier(len(workers))
    errors = []

    def record(c, k):
        try:
            barrier.wait(5)
            rows = [violation_input(id_number=person, fund_loss=Decimal("60000.00"),
                                    determined_on=date(2025, 4, 10), source_ref=f"CONC-{k}")]
            if k == 0:  # with a limit of 2 this writer takes the intake lock exclusively
                rows += [violation_input(id_number=id_number(), source_ref=f"CONC-{k}-{j}") for j in range(2)]
            intake.record_violations(c.uow(), acting(f"worker-{k}"), rows, c.rules, c.clock)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=record, args=(c, k)) for k, c in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for c in workers:
        c.engine.dispose()
    assert errors == []
    with container.session_factory() as session:
        measures = session.scalars(select(MeasureRow).where(MeasureRow.lookup_key == stored_key(person))
                                   .order_by(MeasureRow.starts_on)).all()
    # 240,000.00 yuan in 2025 → 第九条第四项, 9 months in all: 3 (tier 1) + 3 (to tier 2) + 3 (to tier 3) + 0
    assert sum(m.months for m in measures) == 9
    assert [m.article for m in measures] == ["第九条第二项", "第九条第三项", "第九条第四项"]
    for earlier, later in zip(measures, measures[1:]):
        assert later.starts_on == earlier.restores_on  # back to back, never overlapping
