"""Re-registration (重新登记备案) after a terminated payment qualification (鲁医保发〔2024〕25号第八条第二项:
按照协议约定执行; the shipped agreement: 医保发〔2024〕23号, "终止之日起1年（一次性记满12分：3年）内不得再次
登记备案"). The bar's end is the measure's `reregistration_from`, set from the agreement's rule file when the
termination was decided; re-registration is recorded by staff as the termination's `restores_on`: the
qualification is normal again from that day, and the points model applies afresh from then on."""
from __future__ import annotations

from dataclasses import replace

import pytest

from credit_service.domain.errors import RuleRefusal
from credit_service.domain.ledger import SubjectLedger
from credit_service.domain.practitioners import (FOR_GOOD, QUALIFICATION_REVOKED, QUALIFICATION_SUSPENSION,
                                                 QUALIFICATION_TERMINATION, check_reregistration)
from credit_service.domain.status import MeasureFact, qualification_on, status_on, SubjectFacts

from .rulebooks import SHIPPED_BOOK, D
from .test_practitioners import JINAN, agreement_measures, physician, run, summary

TODAY = D("2026-11-26")


def _terminated():
    decisions, ledger = run(physician("2025-03-01", 6), physician("2025-05-20", 6))
    (m,) = agreement_measures(decisions)
    assert (m.kind, m.reregistration_from) == (QUALIFICATION_TERMINATION, D("2026-05-20"))
    return m


@pytest.mark.article("第八条第二项")
def test_art8_item2_a_reregistered_termination_is_terminated_before_and_normal_from_that_day():
    m = _terminated()
    fact = MeasureFact("t", m.kind, JINAN, m.starts_on, D("2026-06-15"), reregistration_from=m.reregistration_from)
    assert qualification_on([fact], D("2026-06-14")) == ("terminated", D("2025-05-20"), None, D("2026-05-20"))
    assert qualification_on([fact], D("2026-06-15")) == ("normal", None, None, None)
    facts = SubjectFacts(measures=(fact,), record_years=frozenset({2025}))
    assert not status_on("physician", facts, D("2026-06-14")).settlement_allowed
    assert status_on("physician", facts, D("2026-06-15")).settlement_allowed


@pytest.mark.article("第八条第二项")
@pytest.mark.parametrize(("change", "registered_on", "code"), [
    pytest.param({}, "2026-05-19", "reregistration_barred", id="终止之日起1年内-不得再次登记备案"),
    pytest.param({}, "2026-11-27", "registered_in_future", id="登记日期晚于今天"),
    pytest.param({"restores_on": D("2026-06-01")}, "2026-06-02", "already_reregistered", id="已重新登记备案"),
    pytest.param({"kind": QUALIFICATION_REVOKED, "reregistration_from": FOR_GOOD}, "2026-06-01",
                 "reregistration_not_applicable", id="取消资格-不适用"),
    pytest.param({"kind": QUALIFICATION_SUSPENSION, "reregistration_from": None,
                  "restores_on": D("2025-06-20")}, "2026-06-01", "reregistration_not_applicable", id="暂停-不适用"),
])
def test_art8_item2_reregistration_refusals(change, registered_on, code):
    m = replace(_terminated(), **change)
    with pytest.raises(RuleRefusal) as refused:
        check_reregistration(m.kind, m.starts_on, m.restores_on, None, m.reregistration_from, D(registered_on),
                             TODAY)
    assert refused.value.code == code
    if code == "reregistration_barred":
        assert "2026-05-20" in refused.value.detail and refused.value.field == "registered_on"


@pytest.mark.article("第八条第二项")
def test_art8_item2_reregistration_is_allowed_on_the_first_day_after_the_bar():
    m = _terminated()
    check_reregistration(m.kind, m.starts_on, None, None, m.reregistration_from, D("2026-05-20"), TODAY)


@pytest.mark.article("第八条第二项")
def test_art8_item2_after_reregistration_new_points_are_decided_again():
    """While terminated, nothing more is imposed; once re-registered, the points model applies again."""
    m = _terminated()
    ledger = SubjectLedger()
    ledger.add(2025, physician("2025-05-20", 12).fund_loss, [replace(m, restores_on=D("2026-06-01"))],
               points=12)
    during, _ = run(physician("2026-05-25", 9), ledger=ledger)
    assert summary(during) == []  # determined while still terminated: scored, not suspended
    ledger = SubjectLedger()
    ledger.add(2025, physician("2025-05-20", 12).fund_loss, [replace(m, restores_on=D("2026-06-01"))], points=12)
    after, _ = run(physician("2026-07-01", 9), ledger=ledger)
    assert summary(after) == [(QUALIFICATION_SUSPENSION, "累计记分达到9分", "2026-07-01", "2026-08-01", 1, None)]
    never, _ = run(physician("2026-07-01", 9), ledger=run(physician("2025-05-20", 12))[1])
    assert summary(never) == []  # not re-registered: still ended


def test_the_shipped_agreement_names_the_reregistration_rule():
    rule = SHIPPED_BOOK.get("shandong-practitioners-2024").agreement.points
    assert "重新登记备案" in rule.reregistration_article
