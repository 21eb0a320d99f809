"""第十条: an upheld objection revokes the measure and a modified one corrects the fund loss; either
way the year's aggregation (第七条、第九条) is recomputed so later measures are corrected too."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from credit_service.adapters.orm import MeasureRow, ViolationRow
from credit_service.services import procedure
from tests.factories import id_number, stored_keys
from tests.workflow import D, record, standing_measures
from tests.unit_helpers import acting

S, L = "settlement_suspension", "joint_punishment_listing"


def object_and_decide(container, measure_id: str, outcome: str, fund_loss: str | None = None,
                      filed_on: str = "2026-06-01", decided_on: str = "2026-06-10"):
    w = container.workflow()
    objection = procedure.file_objection(w, acting("staff"), measure_id, D(filed_on), "金额有误", ["票据"]).row
    return procedure.decide_objection(w, acting("staff"), objection.id, outcome, D(decided_on), "复核",
                                      Decimal(fund_loss) if fund_loss else None)


# Each case: violations (determined_on, fund_loss, extra), which violation's first measure is objected
# to, the decision, and the measures that stand afterwards.
CASES = [
    pytest.param(
        [("2026-03-02", "120000.00", {}), ("2026-05-04", "100000.00", {})], 0, "upheld", None,
        [(S, "2026-05-04", "2026-11-04", 6)],
        id="第九条第三项-upheld-first-of-two-later-measure-recomputed-from-its-own-date"),
    pytest.param(
        [("2026-03-02", "150000.00", {})], 0, "modified", "50000.00",
        [(S, "2026-03-02", "2026-06-02", 3)],
        id="第九条第二项-modified-down-a-tier"),
    pytest.param(
        [("2026-03-02", "150000.00", {}), ("2026-05-04", "60000.00", {})], 1, "modified", "40000.00",
        [(S, "2026-03-02", "2026-09-02", 6)],
        id="第九条第三项-modified-escalation-away-first-measure-kept"),
    pytest.param(
        [("2026-03-02", "150000.00", {}), ("2026-05-04", "60000.00", {})], 1, "rejected", None,
        [(S, "2026-03-02", "2026-09-02", 6), (S, "2026-09-02", "2026-12-02", 3)],
        id="rejected-nothing-changes"),
    pytest.param(
        [("2026-03-02", "50000.00", {"handling": "criminal", "fraud": True})], 0, "upheld", None,
        [], id="第九条第五项-upheld-revokes-suspension-and-listing"),
    pytest.param(
        [("2026-03-02", "150000.00", {"handling": "criminal", "fraud": True})], 0, "modified", "50000.00",
        [(L, "2026-03-02", None, None), (S, "2026-03-02", "2026-06-02", 3)],
        id="第九条第五项-modified-listing-stays"),
    pytest.param(
        [("2026-03-02", "150000.00", {"months": 8})], 0, "modified", "50000.00",
        [(S, "2026-03-02", "2026-06-02", 3)],
        id="staff-months-outside-the-corrected-band-fall-back-to-the-default"),
    pytest.param(
        [("2025-11-03", "200000.00", {}), ("2026-03-02", "50000.00", {})], 0, "upheld", None,
        [(S, "2026-03-02", "2026-06-02", 3)],
        id="第七条-later-year-measure-queued-behind-moves-forward"),
    pytest.param(
        [("2026-03-02", "0.00", {}), ("2026-04-01", "90000.00", {}), ("2026-05-04", "20000.00", {})], 1,
        "modified", "70000.00",
        [(S, "2026-04-01", "2026-07-01", 3)],
        id="第十三条-modified-below-10万-escalation-disappears"),
]


@pytest.mark.parametrize(("violations", "objected", "outcome", "fund_loss", "expected"), CASES)
@pytest.mark.article("第十条")
def test_art10_decision_recomputes_the_year(container, violations, objected, outcome, fund_loss, expected):
    person = id_number()
    recorded = [record(container, person, day, loss, **extra) for day, loss, extra in violations]
    target = recorded[objected].measures[0].id
    before = {m.id for r in recorded for m in r.measures}
    result = object_and_decide(container, target, outcome, fund_loss)
    assert standing_measures(container, person) == expected
    with container.session_factory() as s:
        revoked = s.scalars(select(MeasureRow).where(MeasureRow.lookup_key.in_(stored_keys(person)),
                                                     MeasureRow.revoked_on.is_not(None))).all()
    assert {m.id for m in revoked} == {m.id for m in result.revoked}
    assert all(m.revoked_on == date(2026, 6, 10) and m.revoked_by == result.objection.id for m in revoked)
    assert {m.id for m in result.revoked} <= before
    # what stood before and was not revoked is the same row, not a copy
    kept = before - {m.id for m in result.revoked}
    assert kept <= {m.id for m in standing_rows(container, person)}
    assert all("异议复核后重新计算" in m.explanation for m in result.created)


def standing_rows(container, person):
    with container.session_factory() as s:
        return s.scalars(select(MeasureRow).where(MeasureRow.lookup_key.in_(stored_keys(person)),
                                                  MeasureRow.revoked_on.is_(None))).all()


def test_upheld_objection_voids_the_record_and_modified_keeps_the_reported_loss(container):
    person = id_number()
    first = record(container, person, "2026-03-02", "150000.00")
    second = record(container, person, "2026-04-02", "10000.00")
    object_and_decide(container, first.measures[0].id, "modified", "80000.00")
    with container.session_factory() as s:
        v = s.get(ViolationRow, first.id)
        assert (v.fund_loss, v.reported_fund_loss, v.voided_on) == (Decimal("80000.00"), Decimal("150000.00"), None)
    # the year now sums 80,000 + 10,000: still tier 1, 3 months from 03-02
    assert standing_measures(container, person) == [(S, "2026-03-02", "2026-06-02", 3)]
    object_and_decide(container, standing_rows(container, person)[0].id, "upheld", filed_on="2026-06-11",
                      decided_on="2026-06-12")
    with container.session_factory() as s:
        assert s.get(ViolationRow, first.id).voided_on == date(2026, 6, 12)
    # only the second violation counts now: 10,000 → 3 months from its own determination date
    assert standing_measures(container, person) == [(S, "2026-04-02", "2026-07-02", 3)]
    assert second.measures == []


def test_upheld_objection_frees_every_day_from_the_start_in_the_status_index(container):
    from credit_service.domain.status import status_on
    person = id_number()
    recorded = record(container, person, "2026-03-02", "150000.00")
    container.index.ensure_ready()
    assert not status_on("insured", container.index.get("insured", person), date(2026, 3, 2)).settlement_allowed
    object_and_decide(container, recorded.measures[0].id, "upheld")
    container.index.poll_once()  # the decision wrote a change-feed entry for every process
    for day in ("2026-03-02", "2026-06-01", "2026-09-01"):
        assert status_on("insured", container.index.get("insured", person), D(day)).settlement_allowed


@pytest.mark.article("第十条")
@pytest.mark.parametrize(("loss", "corrected"), [("50000.00", "250000.00"), ("50000.00", "50000.01")])
def test_art10_a_modified_decision_with_a_higher_loss_is_refused_and_changes_nothing(container, loss, corrected):
    """The review answers the person's objection: it cannot leave them worse off. A higher loss found
    later is a new violation record (intake), decided on its own determination date."""
    from credit_service.api.problems import as_problem
    from credit_service.domain.errors import RuleRefusal
    from credit_service.services.errors import Invalid
    person = id_number()
    recorded = record(container, person, "2026-03-02", loss)
    before = standing_measures(container, person)
    with pytest.raises(RuleRefusal) as refused:
        object_and_decide(container, recorded.measures[0].id, "modified", corrected)
    problem = as_problem(refused.value)  # as the API answers it
    assert isinstance(problem, Invalid) and problem.code == "modification_worsens" and "第十条" in problem.detail
    assert problem.errors == {"fund_loss": [problem.detail]}
    assert standing_measures(container, person) == before
    with container.session_factory() as s:
        assert s.get(ViolationRow, recorded.id).fund_loss == Decimal(loss)
    record(container, person, "2026-06-10", "200000.00")  # the higher loss, recorded as a new violation
    assert standing_measures(container, person) == [(S, "2026-03-02", "2026-06-02", 3),
                                                    (S, "2026-06-10", "2026-12-10", 6)]
