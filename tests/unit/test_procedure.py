"""Spec for Arts 10–12 of 鲁医保发〔2024〕25号: deadlines in working days, the transitions the
procedure allows, and what the end of a measure does to credit. Pure: no database, no clock.

Deadlines are counted by hand (2026: 春节 02-15..02-23 off, 02-14 Sat and 02-28 Sat work; 国庆
10-01..10-07 off, 10-10 Sat works)."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal as Y

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_service.domain.procedure import (MeasureView, Procedure, RepairView, TransitionRefused, check_notice,
                                             check_objection, check_objection_decision, check_repair,
                                             check_repair_decision, restoration_at_end, restoration_on_approval)
from credit_service.domain.working_days import Deadline, WorkingCalendar
from credit_service.api.problems import status_of  # the one table of codes → HTTP statuses

D = date.fromisoformat
CAL = WorkingCalendar()
P = Procedure()
RUNNING = MeasureView("m1", D("2026-03-01"), D("2026-09-01"), None)
REVOKED = MeasureView("m1", D("2026-03-01"), D("2026-09-01"), D("2026-04-01"))


@pytest.mark.parametrize(("received", "deadline"), [
    # 02-14 Sat 调休(1), 02-24 Tue(2) .. 02-27(5), 02-28 Sat 调休(6), 03-02(7) .. 03-06(11), 03-09(12) .. 03-12(15)
    pytest.param("2026-02-13", "2026-03-12", id="received-friday-before-spring-festival"),
    # the day before the festival is the 调休 Saturday 02-14: 02-24(1) .. 02-28(5), 03-02(6) .. 03-13(15)
    pytest.param("2026-02-14", "2026-03-13", id="received-day-before-spring-festival"),
    # 10-08 Thu(1), 10-09(2), 10-10 Sat 调休(3), 10-12(4) .. 10-16(8), 10-19(9) .. 10-23(13), 10-26(14), 10-27(15)
    pytest.param("2026-09-30", "2026-10-27", id="received-day-before-national-day"),
    pytest.param("2026-10-01", "2026-10-27", id="received-on-national-day"),
    # an ordinary fortnight: 11-02 Mon(1) .. 11-20 Fri(15)
    pytest.param("2026-10-30", "2026-11-20", id="no-holiday"),
])
@pytest.mark.article("第十条")
def test_art10_objection_deadline_is_15th_working_day_after_receipt(received, deadline):
    assert P.objection_deadline(CAL, D(received)) == Deadline(D(deadline), provisional=False)


@pytest.mark.article("第十条")
def test_art10_deadline_into_unpublished_2027_is_provisional():
    # 12-21 Mon(1) .. 12-31 Thu(9); 2027 weekends only: 01-01 Fri(10), 01-04(11) .. 01-08(15)
    assert P.objection_deadline(CAL, D("2026-12-20")) == Deadline(D("2027-01-08"), provisional=True)


@pytest.mark.article("第十条")
@pytest.mark.article("第十一条")
def test_art10_review_and_art11_repair_reply_are_15_working_days():
    assert P.review_due(CAL, D("2026-02-14")) == Deadline(D("2026-03-13"), False)
    assert P.repair_reply_due(CAL, D("2026-09-30")) == Deadline(D("2026-10-27"), False)


def test_rule_set_numbers_drive_the_deadlines():
    five = Procedure(objection_working_days=5, review_working_days=3, repair_reply_working_days=1)
    assert five.objection_deadline(CAL, D("2026-10-30")).due_on == D("2026-11-06")
    assert five.review_due(CAL, D("2026-10-30")).due_on == D("2026-11-04")
    assert five.repair_reply_due(CAL, D("2026-10-30")).due_on == D("2026-11-02")


FINAL = Deadline(D("2026-10-27"), provisional=False)


@pytest.mark.article("第十条")
def test_art10_objection_on_the_deadline_day_is_accepted():
    assert check_objection(RUNNING, D("2026-10-27"), D("2026-11-26"), FINAL, open_objection=False) == ""


@pytest.mark.article("第十条")
def test_art10_objection_the_next_working_day_is_refused_naming_the_deadline():
    with pytest.raises(TransitionRefused) as refused:
        check_objection(RUNNING, D("2026-10-28"), D("2026-11-26"), FINAL, open_objection=False)
    assert refused.value.code == "objection_window_closed"
    assert "2026-10-27" in refused.value.detail and status_of(refused.value) == 422


@pytest.mark.article("第十条")
def test_art10_objection_after_a_provisional_deadline_is_accepted_with_a_note():
    note = check_objection(RUNNING, D("2027-01-11"), D("2027-01-11"), Deadline(D("2027-01-08"), True), False)
    assert "暂定" in note and "2027-01-08" in note


def test_objection_before_any_notice_is_accepted_the_window_has_not_started():
    assert "尚未登记" in check_objection(RUNNING, D("2026-03-05"), D("2026-11-26"), None, False)


@pytest.mark.parametrize(("call", "code", "conflict"), [
    pytest.param(lambda: check_objection(REVOKED, D("2026-04-02"), D("2026-11-26"), FINAL, False),
                 "measure_revoked", True, id="objection-to-revoked-measure"),
    pytest.param(lambda: check_objection(RUNNING, D("2026-10-02"), D("2026-11-26"), FINAL, True),
                 "objection_open", True, id="second-open-objection"),
    pytest.param(lambda: check_objection(RUNNING, D("2026-11-27"), D("2026-11-26"), None, False),
                 "filed_in_future", False, id="objection-filed-tomorrow"),
    pytest.param(lambda: check_objection_decision("decided", "upheld", D("2026-11-01"), D("2026-10-01"),
                                                  D("2026-11-26"), False),
                 "objection_closed", True, id="decision-on-closed-objection"),
    pytest.param(lambda: check_objection_decision("open", "modified", D("2026-11-01"), D("2026-10-01"),
                                                  D("2026-11-26"), False),
                 "fund_loss_required", False, id="modified-without-amount"),
    pytest.param(lambda: check_objection_decision("open", "upheld", D("2026-11-01"), D("2026-10-01"),
                                                  D("2026-11-26"), True),
                 "fund_loss_not_allowed", False, id="amount-without-modified"),
    pytest.param(lambda: check_objection_decision("open", "rejected", D("2026-09-30"), D("2026-10-01"),
                                                  D("2026-11-26"), False),
                 "decided_before_filed", False, id="decision-before-filing"),
    pytest.param(lambda: check_objection_decision("open", "modified", D("2026-11-01"), D("2026-10-01"),
                                                  D("2026-11-26"), True, Y("150000.01"), Y("150000.00")),
                 "modification_worsens", False, id="art10-modified-to-a-higher-loss"),
    pytest.param(lambda: check_repair_decision("approved", D("2026-11-01"), D("2026-10-01"), D("2026-11-26")),
                 "repair_decided", True, id="repair-decided-twice"),
    pytest.param(lambda: check_repair(REVOKED, D("2026-05-01"), D("2026-11-26"), False),
                 "measure_revoked", True, id="repair-of-revoked-measure"),
    pytest.param(lambda: check_repair(RUNNING, D("2026-05-01"), D("2026-11-26"), True),
                 "repair_open", True, id="second-open-repair"),
    pytest.param(lambda: check_repair(MeasureView("m", D("2026-01-01"), D("2026-04-01"), None, "restored"),
                                      D("2026-05-01"), D("2026-11-26"), False),
                 "credit_restored", True, id="repair-after-restoration"),
    pytest.param(lambda: check_notice(REVOKED, D("2026-04-02"), D("2026-04-03"), D("2026-11-26"), False),
                 "measure_revoked", True, id="notice-of-revoked-measure"),
    pytest.param(lambda: check_notice(RUNNING, D("2026-04-02"), D("2026-04-03"), D("2026-11-26"), True),
                 "notice_exists", True, id="second-notice"),
    pytest.param(lambda: check_notice(RUNNING, D("2026-04-02"), D("2026-04-01"), D("2026-11-26"), False),
                 "received_before_served", False, id="received-before-served"),
])
def test_every_transition_is_validated(call, code, conflict):
    with pytest.raises(TransitionRefused) as refused:
        call()
    assert (refused.value.code, status_of(refused.value) == 409) == (code, conflict)  # conflict: 409, else 422
    assert refused.value.detail  # Chinese, for people


def repair(filed="2026-05-01", corrected=True, removed=True, commitment=True, state="approved",
           decided="2026-05-10") -> RepairView:
    return RepairView(D(filed), corrected, removed, commitment, state, D(decided) if decided else None)


END = D("2026-09-01")


@pytest.mark.parametrize(("repairs", "state", "how", "on"), [
    pytest.param([], "unrepaired", None, "2026-09-01", id="no-repair"),
    pytest.param([repair()], "restored", "automatic", "2026-09-01", id="art12-all-three-approved-before-end"),
    pytest.param([repair(decided="2026-09-01")], "restored", "automatic", "2026-09-01",
                 id="approved-on-the-last-day"),
    pytest.param([repair(filed="2026-09-01", decided="2026-09-02")], "restored", "repair", "2026-09-02",
                 id="art11-filed-after-end-restores-on-approval"),
    pytest.param([repair(filed="2026-08-31", decided="2026-09-20")], "restored", "automatic", "2026-09-01",
                 id="art12-filed-within-period-approved-after-end-restores-at-the-end"),
    pytest.param([repair(state="open", decided=None)], "unrepaired", None, "2026-09-01", id="still-under-review"),
    pytest.param([repair(state="rejected")], "unrepaired", None, "2026-09-01", id="rejected"),
    pytest.param([repair(commitment=False)], "unrepaired", None, "2026-09-01", id="art12-no-commitment"),
    pytest.param([repair(removed=False)], "unrepaired", None, "2026-09-01", id="art12-adverse-effects-remain"),
    pytest.param([repair(corrected=False)], "unrepaired", None, "2026-09-01", id="art12-not-corrected"),
    pytest.param([repair(state="rejected"), repair()], "restored", "automatic", "2026-09-01",
                 id="second-application-approved"),
    pytest.param([repair(filed="2026-09-05", decided="2026-10-01"), repair(filed="2026-09-02", decided="2026-09-20")],
                 "restored", "repair", "2026-09-20", id="earliest-approval-counts"),
    pytest.param([repair(filed="2026-09-05", decided="2026-09-10"), repair(filed="2026-08-01", decided="2026-10-01")],
                 "restored", "automatic", "2026-09-01", id="art12-an-application-within-the-period-wins"),
])
@pytest.mark.article("第十二条")
def test_art12_restoration_at_the_end_of_a_measure(repairs, state, how, on):
    outcome = restoration_at_end(END, repairs)
    assert (outcome.credit_state, outcome.how, outcome.on) == (state, how, D(on))
    assert "第十二条" in outcome.explanation


def test_approval_after_an_unrepaired_end_restores_on_the_decision_day():
    outcome = restoration_on_approval(END, "unrepaired", [repair(filed="2026-09-03", decided="2026-10-09")])
    assert (outcome.credit_state, outcome.on, outcome.how) == ("restored", D("2026-10-09"), "repair")


@pytest.mark.article("第十二条")
def test_art12_repair_filed_within_the_period_and_approved_after_it_restores_credit_at_the_end():
    """The agency's 15 working days (第十一条) must not decide the outcome: the conditions were met
    within the period, so credit is restored automatically on the period's end, and the note says so."""
    outcome = restoration_on_approval(END, "unrepaired", [repair(filed="2026-08-25", decided="2026-09-15")])
    assert (outcome.credit_state, outcome.on, outcome.how) == ("restored", END, "automatic")
    assert "2026-08-25" in outcome.explanation and "2026-09-15" in outcome.explanation
    assert "期满之日" in outcome.explanation and "第十二条" in outcome.explanation


@pytest.mark.article("第十二条")
def test_art12_a_complete_application_still_under_review_at_the_end_leaves_credit_unrepaired_for_now():
    outcome = restoration_at_end(END, [repair(filed="2026-08-25", state="open", decided=None)])
    assert (outcome.credit_state, outcome.how) == ("unrepaired", None)
    assert "尚待答复" in outcome.explanation


def test_approval_dated_before_the_end_but_recorded_after_the_sweep_counts_as_automatic():
    outcome = restoration_on_approval(END, "unrepaired", [repair(decided="2026-08-20")])
    assert (outcome.credit_state, outcome.on, outcome.how) == ("restored", END, "automatic")


def test_approval_while_the_measure_runs_leaves_restoration_to_the_end_of_measure_sweep():
    assert restoration_on_approval(END, None, [repair()]) is None


@settings(database=None, deadline=None, max_examples=300)
@given(received=st.dates(min_value=date(2005, 1, 1), max_value=date(2026, 12, 10)),
       n=st.integers(min_value=1, max_value=40))
def test_property_deadline_is_a_working_day_exactly_n_working_days_later(received, n):
    deadline = Procedure(objection_working_days=n).objection_deadline(CAL, received)
    assert deadline.due_on > received and CAL.is_working_day(deadline.due_on)
    assert CAL.working_days_between(received, deadline.due_on) == n
    assert CAL.working_days_between(received, deadline.due_on - timedelta(days=1)) == n - 1


@pytest.mark.parametrize(("subject_type", "incentive", "recommended"), [
    ("insured", "lenient_acceptance", frozenset()),
    ("physician", "expert_recommendation", frozenset({2027})),
])
@pytest.mark.article("第十二条")
def test_art12_an_unrepaired_measure_withholds_incentives_until_repaired(subject_type, incentive, recommended):
    from credit_service.domain.status import MeasureFact, SubjectFacts, status_on
    kind = "settlement_suspension" if subject_type == "insured" else "qualification_suspension"
    ended = dict(measure_id="m1", kind=kind, region="370100", starts_on=D("2024-09-02"), restores_on=D("2024-12-02"))
    day = D("2027-03-01")  # 2025 and 2026 are clean
    repaired = SubjectFacts(measures=(MeasureFact(**ended),), record_years=frozenset({2024}),
                            recommended_years=recommended)
    unrepaired = SubjectFacts(measures=(MeasureFact(**ended, unrepaired=True),), record_years=frozenset({2024}),
                              recommended_years=recommended)
    assert status_on(subject_type, repaired, day).incentives == (incentive,)
    assert status_on(subject_type, unrepaired, day).incentives == ()
    assert status_on(subject_type, unrepaired, day).settlement_allowed  # the period itself is over
    # a day before the measure ended is answered as it was then: the later end does not reach back
    earlier = D("2024-06-03")
    assert status_on(subject_type, unrepaired, earlier).incentives == status_on(subject_type, repaired, earlier).incentives


@pytest.mark.article("第十条")
@pytest.mark.parametrize(("corrected", "objected"), [("150000.00", "150000.00"), ("0.00", "150000.00"),
                                                      ("99999.99", "100000.00")])
def test_art10_a_modified_decision_may_keep_or_lower_the_loss(corrected, objected):
    check_objection_decision("open", "modified", D("2026-11-01"), D("2026-10-01"), D("2026-11-26"), True,
                             Y(corrected), Y(objected))


@pytest.mark.article("第十条")
def test_art10_a_modified_decision_cannot_make_things_worse_and_names_the_rule():
    with pytest.raises(TransitionRefused) as refused:
        check_objection_decision("open", "modified", D("2026-11-01"), D("2026-10-01"), D("2026-11-26"), True,
                                 Y("200000.00"), Y("150000.00"))
    assert (refused.value.code, status_of(refused.value), refused.value.field) == ("modification_worsens", 422,
                                                                                  "fund_loss")
    assert "第十条" in refused.value.detail and "新的违约违法信息" in refused.value.detail
