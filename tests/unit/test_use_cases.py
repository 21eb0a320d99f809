"""Use cases run against an in-memory unit of work (tests/unit/fakes.py): no database, no Flask."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from credit_service.adapters.orm import ObjectionRow
from credit_service.clock import SHANGHAI, FixedClock
from credit_service.domain.dates import LawfulDates
from credit_service.domain.decisions import SETTLEMENT_SUSPENSION
from credit_service.domain.working_days import WorkingCalendar
from credit_service.services import access, intake, procedure
from credit_service.services.clients import Principal
from credit_service.services.errors import Forbidden
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.rulebooks import D, SHIPPED_BOOK
from tests.unit_helpers import acting, violation_input

TODAY = D("2026-11-02")
PERSON = "370102199001011231"


def _record(uow, **overrides):
    outcomes, changed = intake.record_violations(uow, acting("staff"), [violation_input(id_number=PERSON, **overrides)],
                                                 SHIPPED_BOOK, FixedClock(TODAY))
    return outcomes[0], changed


def test_recording_a_violation_decides_stores_audits_and_publishes_once():
    uow = FakeUnitOfWork()
    outcome, changed = _record(uow, fund_loss=Decimal("150000.00"), determined_on=D("2025-04-10"))
    assert outcome.status == "created"
    [measure] = outcome.violation.measures
    assert measure.kind == SETTLEMENT_SUSPENSION and measure.months == 6
    key = uow.keys.lookup_key("insured", PERSON)
    assert changed == {("insured", key)} and uow.committed == 1
    assert [m.kind for m in uow.store.measures.values()] == [SETTLEMENT_SUSPENSION]
    assert [c.action for c in uow.store.audit] == ["violation_recorded"]
    assert uow.store.feed == [("insured", key, "this-process")]  # marked as this process's own ...
    [(merged_key, facts, year, _)] = uow.publisher.merged  # ... which merges it after commit, once
    assert merged_key == ("insured", key) and year == 2025 and [f.measure_id for f in facts] == [measure.id]
    assert uow.publisher.refreshed == []


def test_a_replay_answers_the_first_record_and_writes_nothing():
    uow = FakeUnitOfWork()
    first, _ = _record(uow, source_ref="R-1")
    again, changed = _record(uow, source_ref="R-1")
    assert again.status == "duplicate" and again.violation.id == first.violation.id
    assert len(uow.store.violations) == 1 and changed == set()


def test_a_staff_member_cannot_record_a_violation_of_another_region():
    uow = FakeUnitOfWork()
    staff = Principal(client_id="c", name="taian", role=access.STAFF, region="370900")
    outcomes, _ = intake.record_violations(uow, staff, [violation_input(id_number=PERSON, region="370100")],
                                           SHIPPED_BOOK, FixedClock(TODAY))
    assert outcomes[0].status == "rejected" and outcomes[0].error.code == "region_not_allowed"
    assert uow.store.violations == {} and uow.store.feed == []


def _objection(uow, measure) -> ObjectionRow:
    row = ObjectionRow(id=uuid.uuid4().hex, measure_id=measure.id, subject_type=measure.subject_type,
                       lookup_key=uow.keys.lookup_key("insured", PERSON), region=measure.region,
                       filed_on=TODAY - timedelta(days=10), filed_on_entered=False, reason="金额有误", evidence="[]",
                       acceptance_note="", review_due_on=TODAY + timedelta(days=10), review_due_provisional=False,
                       state="open", filed_by="person", created_at=datetime(2026, 10, 23, tzinfo=SHANGHAI),
                       overdue_on=None)
    uow.store.objections[row.id] = row
    return row


def _workflow(uow):
    return procedure.Workflow(uow_factory=lambda: uow, rules=SHIPPED_BOOK, calendar=WorkingCalendar(),
                              clock=FixedClock(TODAY), dates=LawfulDates())


def test_upholding_an_objection_revokes_the_measure_and_publishes_the_subject():
    uow = FakeUnitOfWork()
    outcome, _ = _record(uow, fund_loss=Decimal("150000.00"), determined_on=D("2026-10-01"))
    measure = uow.store.measures[outcome.violation.measures[0].id]
    objection = _objection(uow, measure)
    uow.publisher.merged.clear()
    decided = procedure.decide_objection(_workflow(uow), acting("staff"), objection.id, "upheld", TODAY,
                                         "复核成立", None)
    assert [m.id for m in decided.revoked] == [measure.id] and decided.created == []
    assert measure.revoked_on == TODAY and uow.store.violations[measure.violation_id].voided_on == TODAY
    assert objection.state == "decided" and objection.outcome == "upheld" and decided.number == PERSON
    key = ("insured", uow.keys.lookup_key("insured", PERSON))
    assert uow.store.feed[-1] == (*key, None)  # every other process reloads the subject ...
    assert uow.publisher.refreshed == [{key}]  # ... and this one at once, after commit
    assert [c.action for c in uow.store.audit[-3:]] == ["objection_upheld", "violation_voided", "measure_revoked"]


def test_deciding_an_objection_of_another_region_is_refused_before_anything_is_written():
    uow = FakeUnitOfWork()
    outcome, _ = _record(uow)
    objection = _objection(uow, uow.store.measures[outcome.violation.measures[0].id])
    committed = uow.committed
    taian = Principal(client_id="c", name="taian", role=access.STAFF, region="370900")
    with pytest.raises(Forbidden) as refused:
        procedure.decide_objection(_workflow(uow), taian, objection.id, "rejected", TODAY, "维持", None)
    assert refused.value.code == "region_not_allowed"
    assert objection.state == "open" and uow.committed == committed and uow.publisher.refreshed == []
