"""Issue 11, loose end 1 (第十条): when an objection's review recomputes the year and so revokes another
measure, the objections and repair applications still open on that measure end in the same
transaction, with the reason, audited and published like any other change — and leave the
worklist."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from credit_service.adapters.orm import AuditEventRow, MeasureEventRow, NoticeRow, ObjectionRow, RepairRow
from credit_service.services import procedure, record_queries
from tests.factories import id_number, stored_keys
from tests.unit_helpers import acting
from tests.workflow import D, record

TODAY = date(2026, 11, 26)  # tests/conftest.py


def _case(container):
    """Two violations of one year: upholding the objection to the first recomputes the second's measure
    from its own date, so the second measure is revoked and a new one created (test_objection_recompute)."""
    person = id_number()
    first = record(container, person, "2026-03-02", "120000.00")
    second = record(container, person, "2026-05-04", "100000.00")
    w = container.workflow()
    staff = acting("staff")
    target, other = first.measures[0].id, second.measures[0].id
    procedure.serve_notice(w, staff, other, D("2026-05-20"), D("2026-05-21"))
    on_other = procedure.file_objection(w, staff, other, D("2026-05-25"), "时间有误", ["票据"]).row
    repair = procedure.file_repair(w, staff, other, "insured", person, D("2026-05-26"), True, True, True,
                                   ["承诺书"]).row
    on_target = procedure.file_objection(w, staff, target, D("2026-06-01"), "金额有误", ["票据"]).row
    return person, target, other, on_other, repair, on_target


def _worklist_ids(container, today=D("2026-06-01")):
    return {i.id for i in record_queries.worklist(container.uow(), acting(), today, None, None).items}


@pytest.mark.article("第十条")
def test_art10_applications_on_a_measure_revoked_by_recomputation_are_closed_with_the_reason(container):
    person, target, other, on_other, repair, on_target = _case(container)
    with container.session_factory() as s:
        notice_id = s.scalar(select(NoticeRow.id).where(NoticeRow.measure_id == other))
    assert {on_other.id, repair.id, notice_id} <= _worklist_ids(container)

    decided = procedure.decide_objection(container.workflow(), acting("staff"), on_target.id, "upheld",
                                         D("2026-06-10"), "证据不足", None)
    assert other in {m.id for m in decided.revoked}

    with container.session_factory() as s:
        o = s.get(ObjectionRow, on_other.id)
        r = s.get(RepairRow, repair.id)
        assert (o.state, o.outcome, o.decided_on, o.decided_by) == ("closed", None, D("2026-06-10"), "staff")
        assert (r.state, r.decided_on, r.decided_by) == ("closed", D("2026-06-10"), "staff")
        for row in (o, r):
            assert on_target.id in row.decision_reason and "撤销" in row.decision_reason
            assert "第十条" in row.decision_reason
        events = {(e.event, e.ref) for e in s.scalars(select(MeasureEventRow).where(MeasureEventRow.measure_id == other))}
        assert {("objection_closed", on_other.id), ("repair_closed", repair.id), ("revoked", on_target.id)} <= events
        trail = s.scalars(select(AuditEventRow).where(AuditEventRow.entity_id.in_([on_other.id, repair.id]))).all()
        assert {(a.action, a.entity, a.actor) for a in trail if a.action.endswith("_closed")} == {
            ("objection_closed", "objection", "staff"), ("repair_closed", "repair", "staff")}
    # gone from the worklist, on any day after (the notice's window ends at its deadline, as ever)
    assert not {on_other.id, repair.id} & _worklist_ids(container)
    assert not {on_other.id, repair.id} & _worklist_ids(container, TODAY)
    # a closed application is closed for good: no decision can follow
    from credit_service.domain.errors import RuleRefusal
    with pytest.raises(RuleRefusal) as refused:
        procedure.decide_objection(container.workflow(), acting("staff"), on_other.id, "rejected", D("2026-06-11"),
                                   "维持", None)
    assert refused.value.code == "objection_closed"
    with pytest.raises(RuleRefusal) as refused:
        procedure.decide_repair(container.workflow(), acting("staff"), repair.id, "approved", D("2026-06-11"), "同意")
    assert refused.value.code == "repair_decided"


@pytest.mark.article("第十条")
def test_art10_closing_happens_in_the_revoking_transaction_and_is_published_once(container):
    """The decision's single change-feed entry covers the closures: they are part of the same commit."""
    from credit_service.adapters.orm import SubjectChangeRow
    person, target, other, on_other, repair, on_target = _case(container)
    keys = stored_keys(person)
    with container.session_factory() as s:
        before = s.scalar(select(SubjectChangeRow.seq).order_by(SubjectChangeRow.seq.desc()).limit(1))
    procedure.decide_objection(container.workflow(), acting("staff"), on_target.id, "modified", D("2026-06-10"),
                               "金额更正", Decimal("90000.00"))
    with container.session_factory() as s:
        entries = s.scalars(select(SubjectChangeRow).where(SubjectChangeRow.seq > before)).all()
        assert len([e for e in entries if e.lookup_key in keys]) == 1
        closed = s.get(ObjectionRow, on_other.id)
        decided = s.get(ObjectionRow, on_target.id)
        assert closed.state == "closed" and decided.state == "decided"


@pytest.mark.article("第十条")
def test_art10_a_rejected_objection_revokes_nothing_and_closes_nothing(container):
    person, target, other, on_other, repair, on_target = _case(container)
    procedure.decide_objection(container.workflow(), acting("staff"), on_target.id, "rejected", D("2026-06-10"),
                               "维持", None)
    with container.session_factory() as s:
        assert s.get(ObjectionRow, on_other.id).state == "open"
        assert s.get(RepairRow, repair.id).state == "open"
    assert {on_other.id, repair.id} <= _worklist_ids(container)
