"""A practitioner's payment qualification after it ended: re-registration (重新登记备案).

A terminated qualification (医保发〔2024〕23号: "终止之日起1年（一次性记满12分：3年）内不得再次登记备案",
the years from the region's agreement rule file, fixed on the measure as `reregistration_from`) stays
terminated until staff record that the practitioner registered again. The use case ends the termination
on that day (its `restores_on`): the qualification is normal from then on and the points model applies
afresh (domain.practitioners). Refused before the bar ends; a revoked qualification is never re-registered.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from ..domain.practitioners import check_reregistration
from . import access
from .clients import Principal
from .measure_records import add_event, load
from .procedure import Workflow


@dataclass
class Reregistration:
    measure: object  # the termination, ended on the day of re-registration
    number: str  # the practitioner's identity number (staff and admin see it whole)
    article: str  # the agreement's rule cited


def record_reregistration(w: Workflow, principal: Principal, measure_id: str, registered_on: date,
                          note: str = "") -> Reregistration:
    """Record that the practitioner of the terminated qualification `measure_id` was registered again
    (重新登记备案) on `registered_on`. Staff of the region that decided the termination, or admin."""
    now, today = w.clock.now(), w.clock.today()
    with w.uow_factory() as uow:
        m = load(uow, "measure", measure_id, for_update=True)
        access.check_case_file(principal, access.REREGISTER, m.subject_type, m.lookup_key, m.region)
        w.refuse_early(registered_on=registered_on)
        uow.lock_subjects([(m.subject_type, m.lookup_key)])  # later decisions read the ledger it changes
        check_reregistration(m.kind, m.starts_on, m.restores_on, m.revoked_on, m.reregistration_from, registered_on,
                             today)
        article = _article(w, m.rule_set)
        m.restores_on = registered_on
        add_event(uow, m, "reregistered", registered_on, now, principal.actor,
                  detail=f"依据{article}，自{registered_on}起医保支付资格恢复正常",
                  before={"restores_on": None},
                  after={"restores_on": registered_on, "reregistration_from": m.reregistration_from,
                         "article": article, "note": note, "recorded_by": principal.name})
        uow.subjects_changed([(m.subject_type, m.lookup_key)], now)
        number = uow.subjects.reveal_one(m.lookup_key)
        uow.commit()
        return Reregistration(m, number, article)


def _article(w: Workflow, rule_set_id: str) -> str:
    rule_set = w.rules.get(rule_set_id)
    points = rule_set.agreement.points if rule_set is not None and rule_set.agreement is not None else None
    words = points.reregistration_article if points is not None else "期满后重新登记备案"
    return f"{rule_set.citation(words)}" if rule_set is not None else words
