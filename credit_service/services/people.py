"""A person at the self-service pages (real-name login over OpenID Connect): their own subject only.

The pages call these and the same use cases as the API (status, the year record, the procedure, the
letters, the evidence files); what is here only gathers them for one person, bound to the lookup key
their session holds, and writes the audit entries of what the person looked at."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..adapters.pii import KeyRing
from ..clock import Clock
from ..domain import procedure as rules_of
from ..domain.errors import RuleRefusal
from ..domain.status import measure_state
from . import access
from .audit import SYSTEM, Actor, Change
from .clients import Principal
from .errors import Forbidden
from .measure_records import procedure_for, view_of
from .status_query import status_of
from .unit_of_work import UnitOfWork


def person_signed_in(uow: UnitOfWork, clock: Clock, keys: KeyRing, subject_type: str, id_number: str, *,
                     actor: Actor = SYSTEM) -> str:
    """Keeps the number sealed in `subjects` (so staff pages and use cases given only the lookup key can
    reveal it) and audits the sign-in; returns the lookup key the session is bound to."""
    with uow:
        key = uow.subjects.remember([(subject_type, id_number)])[(subject_type, id_number)]
        uow.audit.stage([Change(action="person_signed_in", entity="subject", entity_id=key,
                                subject_type=subject_type, lookup_key=key)], clock.now(), actor)
        uow.commit()
    return key


def _own(principal: Principal, action: str) -> tuple[str, str]:
    """The subject a person principal is bound to (type, lookup key); anyone else is refused here."""
    if principal.subject_type is None or principal.subject_lookup_key is None:
        raise Forbidden("自助服务仅供已实名登录的本人使用。", code="not_own_subject")
    access.check_subject(principal, action, principal.subject_type, principal.subject_lookup_key)
    return principal.subject_type, principal.subject_lookup_key


def own_number(uow: UnitOfWork, principal: Principal) -> tuple[str, str]:
    """(subject_type, identity number) of the signed-in person, opened from `subjects` (never from the
    browser), to call the use cases that take a number."""
    subject_type, key = _own(principal, access.RECORD_READ)
    with uow:
        return subject_type, uow.subjects.reveal_one(key)


def person_viewed(uow: UnitOfWork, clock: Clock, principal: Principal, page: str, entity: str = "subject",
                  entity_id: str | None = None) -> None:
    """Audits a page, letter or file the person looked at (the actor is the person: their principal's)."""
    subject_type, key = _own(principal, access.RECORD_READ)
    with uow:
        uow.audit.stage([Change(action="person_viewed", entity=entity, entity_id=entity_id or key,
                                subject_type=subject_type, lookup_key=key, after={"page": page})], clock.now(),
                        principal.actor)
        uow.commit()


@dataclass
class Choice:
    """May the person file this now? If not, why (the rule's own words)."""

    allowed: bool
    refusal: str = ""
    code: str = ""


def _choice(check) -> Choice:
    try:
        check()
    except RuleRefusal as refusal:
        return Choice(False, refusal.detail, refusal.code)
    return Choice(True)


@dataclass
class MeasureToday:
    measure: object
    violation: object
    notice: object | None
    state: str  # pending | active | ended
    objection: Choice
    objection_deadline: date | None
    objection_provisional: bool
    objection_days: int
    repair: Choice
    repair_days: int
    repair_reply_due: date  # if applied for today (第十一条)
    open_objection: str | None
    open_repair: str | None


@dataclass
class Today:
    on: date
    status: dict
    emergency_settles: bool  # would emergency/rescue care be settled today (the same status query)
    measures: list[MeasureToday] = field(default_factory=list)
    points_this_year: int | None = None  # practitioners: 记分 of this natural year


def today_for(source, workflow, principal: Principal) -> Today:
    """今天能否结算: the status answer (services/status_query.py, as the API gives it), and for each of the
    person's standing measures what it is, why, and whether an objection (第十条) or a repair
    application (第十一、十二条) can be filed now — asked of the rules themselves."""
    subject_type, number = own_number(workflow.uow_factory(), principal)
    day = workflow.clock.today()
    status = status_of(principal, source, subject_type, number, day, None)
    emergency = status_of(principal, source, subject_type, number, day, True)
    answer = Today(on=day, status=status, emergency_settles=emergency["settlement_allowed"])
    key = principal.subject_lookup_key
    with workflow.uow_factory() as uow:
        for m in sorted(uow.cases.standing_measures_of(subject_type, key), key=lambda m: (m.starts_on, m.id)):
            state = measure_state(m.starts_on, m.restores_on, False, day)
            if state == "ended" and m.credit_state == "restored":
                continue
            notice = uow.cases.notice_of(m.id)
            deadline = (rules_of.Deadline(notice.objection_deadline, notice.deadline_provisional)
                        if notice is not None else None)
            open_objection, open_repair = uow.cases.open_objection(m.id), uow.cases.open_repair(m.id)
            procedure = procedure_for(workflow.rules, m.rule_set, m.region, m.starts_on)
            answer.measures.append(MeasureToday(
                measure=m, violation=uow.cases.violation(m.violation_id), notice=notice, state=state,
                objection=_choice(lambda: rules_of.check_objection(view_of(m), day, day, deadline,
                                                                   open_objection is not None)),
                objection_deadline=deadline.due_on if deadline else None,
                objection_provisional=bool(deadline and deadline.provisional),
                objection_days=procedure.objection_working_days,
                repair=_choice(lambda: rules_of.check_repair(view_of(m), day, day, open_repair is not None)),
                repair_days=procedure.repair_reply_working_days,
                repair_reply_due=procedure.repair_reply_due(workflow.calendar, day).due_on,
                open_objection=open_objection, open_repair=open_repair))
        if subject_type != "insured":
            record = uow.cases.year_record(subject_type, key, day.year, None)
            answer.points_this_year = record.total_points
    return answer


def record_years(uow: UnitOfWork, principal: Principal) -> list[int]:
    """The natural years in which the person has anything recorded (newest first)."""
    subject_type, key = _own(principal, access.RECORD_READ)
    with uow:
        return uow.cases.record_years(subject_type, key)


@dataclass
class Filing:
    kind: str  # "objection" | "repair"
    row: object
    measure: object
    files: list


def applications(uow: UnitOfWork, principal: Principal) -> list[Filing]:
    """我的申请: every objection and repair application of the person, with its state, due date and
    evidence files, newest first."""
    subject_type, key = _own(principal, access.CASE_READ)
    with uow:
        objections, repairs = uow.cases.filings_of(subject_type, key)
        filings = [Filing("objection", o, uow.cases.measure(o.measure_id), uow.cases.evidence_files("objection", o.id))
                   for o in objections]
        filings += [Filing("repair", r, uow.cases.measure(r.measure_id), uow.cases.evidence_files("repair", r.id))
                    for r in repairs]
    return sorted(filings, key=lambda f: (f.row.filed_on, f.row.created_at), reverse=True)
