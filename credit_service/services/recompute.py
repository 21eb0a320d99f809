"""Recomputing a subject's measures after an objection is upheld or modified (第十条).

The subject's non-voided violations from the affected record year on are decided again, in the order
they were first decided, exactly as intake decides them (decide() over the SubjectLedger). Measures
that come out the same are kept; the others are revoked (with the objection as the cause) and the
new ones created. Later years are replayed too: a shorter suspension moves the start of any that
was queued behind it.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import date, datetime

from ..adapters.orm import MeasureRow, ViolationRow
from ..domain.ledger import SubjectLedger
from ..domain.decisions import MeasureDraft, MonthsBelowImposed, MonthsOutOfRange, ViolationFacts, decide
from ..domain.practitioners import ENDING_KINDS, AgreementInputError
from ..domain.procedure import closure_reason
from ..domain.rules import RuleBook
from .clients import Principal
from .measure_records import add_event


@dataclass
class Recomputed:
    revoked: list[MeasureRow]
    created: list[MeasureRow]


def recompute_subject(uow, subject_type: str, lookup_key: str, from_year: int, rules: RuleBook,
                      on: date, cause: str, now: datetime, principal: Principal) -> Recomputed:
    """`lookup_key`: the subject's lookup key; `principal`: who decided the objection (`cause`). An objection
    or repair application still open on a revoked measure is closed in this same transaction (_revoke)."""
    violations = uow.cases.violations_of(subject_type, lookup_key)
    measures = uow.cases.standing_measures_of(subject_type, lookup_key)
    ledger = SubjectLedger()
    standing: dict[str, list[MeasureRow]] = {}
    for m in measures:
        if m.record_year < from_year:
            ledger.note_measure(m.record_year, m.kind, m.months, m.restores_on, m.reregistration_from)
        else:
            standing.setdefault(m.violation_id, []).append(m)
    for v in violations:
        if v.record_year < from_year and v.voided_on is None:
            ledger.year_loss[v.record_year] += v.fund_loss
            ledger.year_points[v.record_year] += v.points or 0

    result = Recomputed(revoked=[], created=[])
    for v in violations:
        if v.record_year < from_year or v.voided_on is not None:
            continue
        drafts, note = _decide_again(v, ledger, rules)
        existing = standing.pop(v.id, [])
        kept: list = []
        for draft in drafts:
            same = next((m for m in existing if _same(m, draft)), None)
            if same is not None:
                existing.remove(same)
                kept.append(same)
            else:
                created = _create(uow, v, draft, note, now)
                add_event(uow, created, "created", on, now, principal.actor, ref=cause, detail="异议复核后重新计算")
                result.created.append(created)
                kept.append(created)
        _revoke(uow, existing, on, cause, now, principal, result)
        ledger.add(v.record_year, v.fund_loss, kept, points=v.points)
    for leftover in standing.values():  # measures of voided violations
        _revoke(uow, leftover, on, cause, now, principal, result)
    return result


def _decide_again(v: ViolationRow, ledger: SubjectLedger, rules: RuleBook) -> tuple[tuple[MeasureDraft, ...], str]:
    facts = ViolationFacts(subject_type=v.subject_type, region=v.region, occurred_on=v.occurred_on,
                           determined_on=v.determined_on, fund_loss=v.fund_loss, handling=v.handling,
                           fraud=v.fraud, months_override=v.months_override, points=v.points, category=v.category)
    position = ledger.position(v.record_year)
    try:
        return decide(facts, position, rules).measures, "（异议复核后重新计算。）"
    except AgreementInputError:
        # The agreement in force no longer knows the category or its band: the violation is only recorded.
        decision = decide(replace(facts, points=None, category=None, months_override=None), position, rules)
        return decision.measures, "（异议复核后重新计算；原违规类别或记分不符合现行协议约定，不再记分。）"
    except (MonthsOutOfRange, MonthsBelowImposed):
        # The staff-chosen duration no longer fits the corrected year total: the rule set's default applies.
        decision = decide(replace(facts, months_override=None), position, rules)
        return decision.measures, "（异议复核后重新计算；原指定月数不在更正后档次范围内，按规则集确定。）"


def _same(m: MeasureRow, draft: MeasureDraft) -> bool:
    # A termination's restores_on is its re-registration, recorded by staff, not decided by the rules:
    # a termination that stands keeps it.
    restores_on = draft.restores_on if m.kind not in ENDING_KINDS else m.restores_on
    return (m.kind, m.starts_on, m.restores_on, m.months, m.reregistration_from) == (
        draft.kind, draft.starts_on, restores_on, draft.months, draft.reregistration_from)


def _create(uow, v: ViolationRow, draft: MeasureDraft, note: str, now: datetime) -> MeasureRow:
    row = MeasureRow(id=uuid.uuid4().hex, violation_id=v.id, kind=draft.kind, subject_type=v.subject_type,
                     lookup_key=v.lookup_key, region=v.region, record_year=v.record_year, starts_on=draft.starts_on,
                     restores_on=draft.restores_on, months=draft.months, rule_set=draft.rule_set,
                     article=draft.article, explanation=draft.explanation + note, past_expiry=draft.past_expiry,
                     reregistration_from=draft.reregistration_from, revoked_on=None, created_at=now)
    uow.cases.add(row)
    return row


def _revoke(uow, rows: list[MeasureRow], on: date, cause: str, now: datetime, principal: Principal,
            result: Recomputed) -> None:
    for m in rows:
        m.revoked_on, m.revoked_by = on, cause
        add_event(uow, m, "revoked", on, now, principal.actor, ref=cause, detail="异议复核决定撤销")
        result.revoked.append(m)
        _close_what_was_open(uow, m, on, cause, now, principal)


def _close_what_was_open(uow, m: MeasureRow, on: date, cause: str, now: datetime, principal: Principal) -> None:
    """Nothing is left to review or answer on a revoked measure: each open application ends with the
    reason, so it leaves the worklist. (An objection window still open ends at its deadline, as before:
    the sweep closes it; an objection filed in it is refused as the measure is revoked.)"""
    for row, application in ([(o, "objection") for o in uow.cases.open_objections_of(m.id)]
                             + [(r, "repair") for r in uow.cases.open_repairs_of(m.id)]):
        reason = closure_reason(application, m.kind, on, cause)
        row.state, row.decided_on, row.decision_reason, row.decided_by = "closed", on, reason, principal.name
        add_event(uow, m, f"{application}_closed", on, now, principal.actor, ref=row.id, detail=reason,
                  before={"state": "open"}, after={"state": "closed", "reason": reason, "cause": cause})
