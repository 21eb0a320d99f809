"""Loading measures for the procedure, and writing what every workflow transition writes: an event
(once per transition) and its audit-trail entry, through the unit of work's repositories."""
from __future__ import annotations

from datetime import date, datetime

from ..domain.procedure import MeasureView, Procedure
from ..domain.rules import RuleBook
from .audit import Actor, Change
from .errors import NotFound

_MISSING = {"measure": ("信用管理措施", "measure_not_found"), "objection": ("异议申请", "objection_not_found"),
            "repair": ("信用修复申请", "repair_not_found")}


def load(uow, what: str, row_id: str, for_update: bool = False):
    """One measure, objection or repair by id (locked for this transaction if `for_update`); 404 problem
    if it does not exist."""
    row = getattr(uow.cases, what)(row_id, for_update)
    if row is None:
        missing, code = _MISSING[what]
        raise NotFound(f"未找到编号为{row_id}的{missing}。", code=code)
    return row


def view_of(m) -> MeasureView:
    return MeasureView(id=m.id, starts_on=m.starts_on, restores_on=m.restores_on, revoked_on=m.revoked_on,
                       credit_state=m.credit_state)


def procedure_for(rules: RuleBook, rule_set_id: str, region: str | None = None, on: date | None = None) -> Procedure:
    """The deadlines of the rule set that produced the measure (defaults if it is no longer configured).
    A practitioner's agreement measure follows the credit rules of its region (第十至十二条 apply to all)."""
    rule_set = rules.get(rule_set_id)
    if rule_set is not None and rule_set.agreement is not None and region is not None and on is not None:
        credit = rules.select(region, on)
        rule_set = credit.rule_set if credit is not None else None
    return rule_set.procedure if rule_set is not None else Procedure()


def add_event(uow, m, event: str, on: date, now: datetime, actor: Actor, ref: str = "", detail: str = "",
              after: dict | None = None, before: dict | None = None) -> None:
    """The transition, once (measure_events), and its audit-trail entry by `actor`, in this transaction."""
    uow.cases.event(m, event, on, now, ref=ref, detail=detail)
    uow.audit.stage([measure_change(m.id, m.subject_type, m.lookup_key, m.region, event, on, ref, detail, after,
                                    before)], now, actor)


_EVENT_ENTITY = {
    "notice_served": "notice", "objection_window_closed": "notice", "objection_deadline_final": "notice",
    "objection_filed": "objection", "objection_evidence_complete": "objection", "objection_upheld": "objection",
    "objection_rejected": "objection", "objection_modified": "objection", "review_overdue": "objection",
    "review_due_on_final": "objection", "objection_closed": "objection",
    "repair_filed": "repair", "repair_approved": "repair", "repair_rejected": "repair",
    "repair_reply_overdue": "repair", "reply_due_on_final": "repair", "repair_closed": "repair",
}


def measure_change(measure_id: str, subject_type: str, lookup_key: str, region: str, event: str, on: date,
                   ref: str = "", detail: str = "", after: dict | None = None,
                   before: dict | None = None) -> Change:
    """The audit entry of a measure event: about the notice/objection/repair it concerns, if any."""
    entity = _EVENT_ENTITY.get(event, "measure")
    action = event if entity != "measure" else f"measure_{event}"
    return Change(action=action, entity=entity, entity_id=measure_id if entity == "measure" else ref,
                  subject_type=subject_type, lookup_key=lookup_key, region=region, before=before,
                  after={"measure_id": measure_id, "on": on, **({"cause": ref} if ref and entity == "measure"
                                                                else {}),
                         **({"detail": detail} if detail else {}), **(after or {})})
