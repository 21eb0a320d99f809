"""Issue 11's loose ends as use cases on the in-memory unit of work (no database, no Flask)."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from credit_service.adapters.orm import RepairRow
from credit_service.clock import SHANGHAI
from credit_service.services import procedure
from tests.unit.fakes import FakeUnitOfWork
from tests.unit.test_use_cases import PERSON, TODAY, _objection, _record, _workflow
from tests.unit_helpers import acting


def _repair(uow, measure) -> RepairRow:
    row = RepairRow(id=uuid.uuid4().hex, measure_id=measure.id, subject_type=measure.subject_type,
                    lookup_key=measure.lookup_key, region=measure.region, filed_on=TODAY - timedelta(days=3),
                    filed_on_entered=False, corrected=True, adverse_effects_removed=True, commitment=True,
                    evidence="[]", reply_due_on=TODAY + timedelta(days=12), reply_due_provisional=False,
                    state="open", filed_by="person", created_at=datetime(2026, 10, 30, tzinfo=SHANGHAI))
    uow.store.repairs[row.id] = row
    return row


@pytest.mark.article("第十条")
def test_art10_upholding_an_objection_closes_the_open_repair_of_the_measure_it_revokes():
    uow = FakeUnitOfWork()
    outcome, _ = _record(uow, fund_loss=Decimal("150000.00"), determined_on=TODAY - timedelta(days=30))
    measure = uow.store.measures[outcome.violation.measures[0].id]
    objection, repair = _objection(uow, measure), _repair(uow, measure)
    procedure.decide_objection(_workflow(uow), acting("staff"), objection.id, "upheld", TODAY, "复核成立", None)
    assert (repair.state, repair.decided_on, repair.decided_by) == ("closed", TODAY, "staff")
    assert objection.id in repair.decision_reason and "撤销" in repair.decision_reason
    assert uow.committed == 2  # the intake and the decision: the closure is part of the decision's commit
    assert [e.event for e in uow.store.events][-2:] == ["revoked", "repair_closed"]
    assert uow.store.audit[-1].action == "repair_closed" and uow.store.audit[-1].entity_id == repair.id


def test_the_audit_actor_is_the_principal_given_to_the_use_case():
    """Issue 10: no ambient actor — the fake unit of work records whom each change was staged by."""
    from credit_service.services.clients import Principal
    uow = FakeUnitOfWork()
    outcome, _ = _record(uow, fund_loss=Decimal("150000.00"), determined_on=TODAY - timedelta(days=30))
    measure = uow.store.measures[outcome.violation.measures[0].id]
    objection = _objection(uow, measure)
    li = Principal(client_id="c", name="li", role="staff", region="370100", audit_name="console:li",
                   request_id="r-1")
    procedure.decide_objection(_workflow(uow), li, objection.id, "upheld", TODAY, "复核成立", None)
    assert {(a.name, a.role, a.region, a.request_id) for a in uow.store.audit_actors[1:]} == {
        ("console:li", "staff", "370100", "r-1")}
    assert uow.store.audit_actors[0].name == "staff"  # the intake, by tests' acting("staff")
