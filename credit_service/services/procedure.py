"""Use cases of Arts 10–12: the credit-result notice, objections and their review, credit repair.
Each opens one unit of work, checks the transition with the pure domain, writes, commits."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Sequence

from ..clock import Clock
from ..domain import procedure as rules_of
from ..domain.dates import LawfulDates
from ..domain.procedure import RepairView
from ..domain.rules import RuleBook
from ..domain.working_days import WorkingCalendar
from ..adapters.orm import MeasureRow, NoticeRow, ObjectionRow, RepairRow, ViolationRow
from . import access
from . import evidence as evidence_files
from .audit import Change
from .clients import Principal
from .errors import Conflict, Invalid, date_out_of_range
from .evidence import Upload
from .measure_records import add_event, load, procedure_for, view_of
from .recompute import recompute_subject
from .unit_of_work import DuplicateRow


@dataclass
class Workflow:
    """What the procedure's use cases need: built once per process from the container."""

    uow_factory: object
    rules: RuleBook
    calendar: WorkingCalendar
    clock: Clock
    dates: LawfulDates = field(default_factory=LawfulDates)

    def refuse_early(self, **days: date | None) -> None:
        """422 date_out_of_range for a given day before the earliest lawful date (domain/dates.py)."""
        if errors := self.dates.too_early(**days):
            raise date_out_of_range(errors)


# -- 信用结果告知书 ---------------------------------------------------------------------------------

def _case_file(principal: Principal, action: str, row) -> None:
    access.check_case_file(principal, action, row.subject_type, row.lookup_key, row.region)


def serve_notice(w: Workflow, principal: Principal, measure_id: str, served_on: date, received_on: date) -> NoticeRow:
    actor = principal.name
    now, today = w.clock.now(), w.clock.today()
    with w.uow_factory() as uow:
        m = load(uow, "measure", measure_id, for_update=True)
        _case_file(principal, access.CASE_DECIDE, m)
        w.refuse_early(served_on=served_on, received_on=received_on)
        rules_of.check_notice(view_of(m), served_on, received_on, today, uow.cases.notice_of(m.id) is not None)
        deadline = procedure_for(w.rules, m.rule_set, m.region, m.starts_on).objection_deadline(w.calendar, received_on)
        notice = NoticeRow(id=uuid.uuid4().hex, measure_id=m.id, subject_type=m.subject_type, lookup_key=m.lookup_key,
                           region=m.region, served_on=served_on, received_on=received_on,
                           objection_deadline=deadline.due_on, deadline_provisional=deadline.provisional,
                           recorded_by=actor, created_at=now)
        uow.cases.add(notice)
        add_event(uow, m, "notice_served", received_on, now, principal.actor, ref=notice.id,
                  detail=f"异议期限{deadline.due_on}{'（暂定）' if deadline.provisional else ''}")
        try:
            uow.commit()
        except DuplicateRow:
            raise Conflict("该措施的信用结果告知书已登记送达，不能重复登记。", code="notice_exists") from None
        return notice


# -- 异议 ------------------------------------------------------------------------------------------

def _entered(entered: bool, actor: str) -> dict:
    """The audit entry says when the filing date was entered by a person rather than the service's."""
    return {"filed_on_entered_by": actor} if entered else {}


@dataclass
class CaseAnswer:
    """A case-file row, the subject's number (opened from `subjects`) and whether the principal sees it whole."""

    row: object
    number: str
    full_numbers: bool
    credit_restored: bool = False


def _answer(uow, principal: Principal, action: str, row, credit_restored: bool = False) -> CaseAnswer:
    return CaseAnswer(row, uow.subjects.reveal_one(row.lookup_key),
                      access.sees_full_numbers(principal, action), credit_restored)


def file_objection(w: Workflow, principal: Principal, measure_id: str, filed_on: date | None, reason: str,
                   evidence: list[str], files: Sequence[Upload] = ()) -> CaseAnswer:
    """`filed_on`: None for the service's today; staff may enter the day a paper filing was received
    (domain.procedure.filing_date), a person files today. `files`: evidence files, stored with the
    filing in its transaction (services/evidence.py)."""
    actor = principal.name
    now, today = w.clock.now(), w.clock.today()
    with w.uow_factory() as uow:
        m = load(uow, "measure", measure_id, for_update=True)
        _case_file(principal, access.CASE_FILE, m)
        w.refuse_early(filed_on=filed_on)
        filed_on, entered = rules_of.filing_date(filed_on, today, access.may(principal, access.PAPER_FILING))
        notice = uow.cases.notice_of(m.id)
        deadline = (rules_of.Deadline(notice.objection_deadline, notice.deadline_provisional)
                    if notice is not None else None)
        open_one = uow.cases.open_objection(m.id) is not None
        note = rules_of.check_objection(view_of(m), filed_on, today, deadline, open_one)
        checked = evidence_files.check_uploads(files)
        due = procedure_for(w.rules, m.rule_set, m.region, m.starts_on).review_due(w.calendar, filed_on)
        objection = ObjectionRow(
            id=uuid.uuid4().hex, measure_id=m.id, subject_type=m.subject_type, lookup_key=m.lookup_key,
            region=m.region, filed_on=filed_on, filed_on_entered=entered, reason=reason,
            evidence=json.dumps(evidence, ensure_ascii=False),
            acceptance_note=note, review_due_on=due.due_on, review_due_provisional=due.provisional, state="open",
            filed_by=actor, created_at=now)
        uow.cases.add(objection)
        add_event(uow, m, "objection_filed", filed_on, now, principal.actor, ref=objection.id,
                  after={"review_due_on": due.due_on, "acceptance_note": note, **_entered(entered, actor)})
        evidence_files.stage(uow, "objection", objection, checked, principal, now)
        answer = _answer(uow, principal, access.CASE_FILE, objection)
        try:
            uow.commit()
        except DuplicateRow:
            raise Conflict("该措施已有一件异议申请正在复核，复核结束前不能再次提出。", code="objection_open") from None
        return answer


def objection_for(uow, principal: Principal, objection_id: str) -> CaseAnswer:
    """GET /objections/{id}: one objection and its review (its region's staff, admin, the person)."""
    with uow:
        o = load(uow, "objection", objection_id)
        _case_file(principal, access.CASE_READ, o)
        return _answer(uow, principal, access.CASE_READ, o)


def record_evidence_complete(w: Workflow, principal: Principal, objection_id: str, on: date) -> CaseAnswer:
    """第十条：复核期限自收到书面申请及相关证明材料起算 — the review clock restarts."""
    now, today = w.clock.now(), w.clock.today()
    with w.uow_factory() as uow:
        o = load(uow, "objection", objection_id, for_update=True)
        _case_file(principal, access.CASE_DECIDE, o)
        w.refuse_early(on=on)
        if o.state != "open":
            raise Conflict("该异议已作出复核决定。", code="objection_closed")
        if o.evidence_complete_on is not None:
            raise _evidence_complete_twice(o.evidence_complete_on)
        if on < o.filed_on or on > today:
            raise Invalid(f"材料补齐日期须在异议提出日期（{o.filed_on}）与今天（{today}）之间。",
                          code="evidence_date_out_of_range", errors={"on": ["日期不在允许范围内。"]})
        m = load(uow, "measure", o.measure_id)
        due = procedure_for(w.rules, m.rule_set, m.region, m.starts_on).review_due(w.calendar, on)
        o.evidence_complete_on, o.review_due_on, o.review_due_provisional = on, due.due_on, due.provisional
        o.overdue_on = None
        add_event(uow, m, "objection_evidence_complete", on, now, principal.actor, ref=o.id, detail=f"复核期限{due.due_on}")
        answer = _answer(uow, principal, access.CASE_DECIDE, o)
        try:
            uow.commit()
        except DuplicateRow:  # another request recorded it first (one event per objection)
            raise _evidence_complete_twice(on) from None
        return answer


def _evidence_complete_twice(on: date) -> Conflict:
    return Conflict(f"该异议的证明材料已登记为{on}补齐，复核期限已重新起算，不能再次登记。",
                    code="evidence_already_complete")


@dataclass
class ObjectionDecision:
    objection: ObjectionRow
    revoked: list[MeasureRow] = field(default_factory=list)
    created: list[MeasureRow] = field(default_factory=list)
    subject: tuple[str, str] | None = None
    number: str = ""


def decide_objection(w: Workflow, principal: Principal, objection_id: str, outcome: str, decided_on: date,
                     reason: str, fund_loss: Decimal | None, dry_run: bool = False) -> ObjectionDecision:
    """`dry_run`: everything the decision would do, computed in a transaction that is then rolled
    back — what it would revoke and create, shown before the decision is confirmed."""
    actor = principal.name
    now, today = w.clock.now(), w.clock.today()
    with w.uow_factory() as uow:
        o = load(uow, "objection", objection_id, for_update=True)
        _case_file(principal, access.CASE_DECIDE, o)
        w.refuse_early(decided_on=decided_on)
        uow.lock_subjects([(o.subject_type, o.lookup_key)])  # the year is recomputed: serialise with intake
        m = load(uow, "measure", o.measure_id)
        violation = uow.cases.violation(m.violation_id)
        rules_of.check_objection_decision(o.state, outcome, decided_on, o.filed_on, today, fund_loss is not None,
                                          fund_loss, violation.fund_loss)
        o.state, o.outcome, o.decided_on, o.decision_reason, o.decided_by = "decided", outcome, decided_on, reason, actor
        o.decided_late = decided_on > o.review_due_on
        if o.decided_late and o.overdue_on is None:  # as the overdue sweep would have flagged it
            o.overdue_on = o.review_due_on + timedelta(days=1)
        o.corrected_fund_loss = fund_loss
        result = ObjectionDecision(objection=o, subject=(o.subject_type, o.lookup_key))
        add_event(uow, m, f"objection_{outcome}", decided_on, now, principal.actor, ref=o.id,
                  detail="逾期作出复核决定" if o.decided_late else "", before={"state": "open"},
                  after={"state": "decided", "outcome": outcome, "reason": reason, "fund_loss": fund_loss,
                         "decided_late": o.decided_late})
        if outcome in ("upheld", "modified"):
            before = {"fund_loss": violation.fund_loss, "voided_on": violation.voided_on}
            if outcome == "upheld":
                violation.voided_on, violation.voided_by = decided_on, o.id
            else:
                if violation.reported_fund_loss is None:
                    violation.reported_fund_loss = violation.fund_loss
                violation.fund_loss = fund_loss
            uow.audit.stage([Change(
                action="violation_voided" if outcome == "upheld" else "violation_corrected", entity="violation",
                entity_id=violation.id, subject_type=violation.subject_type, lookup_key=violation.lookup_key,
                region=violation.region, before=before,
                after={"fund_loss": violation.fund_loss, "voided_on": violation.voided_on, "objection": o.id})], now,
                principal.actor)
            redone = recompute_subject(uow, o.subject_type, o.lookup_key, violation.record_year, w.rules, decided_on,
                                       o.id, now, principal)
            result.revoked, result.created = redone.revoked, redone.created
            uow.subjects_changed([(o.subject_type, o.lookup_key)], now)
        result.number = uow.subjects.reveal_one(o.lookup_key)
        if not dry_run:
            uow.commit()
        return result


# -- 信用修复 --------------------------------------------------------------------------------------

def file_repair(w: Workflow, principal: Principal, measure_id: str, subject_type: str, id_number: str,
                filed_on: date | None, corrected: bool, adverse_effects_removed: bool, commitment: bool,
                evidence: list[str], files: Sequence[Upload] = ()) -> CaseAnswer:
    """The subject applies (by its number) for the repair of one of its measures."""
    actor = principal.name
    now, today = w.clock.now(), w.clock.today()
    with w.uow_factory() as uow:
        subject = (subject_type, uow.keys.lookup_key(subject_type, id_number))
        m = load(uow, "measure", measure_id, for_update=True)
        _case_file(principal, access.CASE_FILE, m)  # a person naming their own number and another's measure: 403
        access.check_case_file(principal, access.CASE_FILE, *subject, m.region)  # the subject's: checked below
        w.refuse_early(filed_on=filed_on)
        filed_on, entered = rules_of.filing_date(filed_on, today, access.may(principal, access.PAPER_FILING))
        if (m.subject_type, m.lookup_key) != subject:
            raise Invalid("该措施不属于申请中的信用主体。", code="measure_not_of_subject",
                          errors={"measure_id": ["措施与 subject_type/id_number 不符。"]})
        open_one = uow.cases.open_repair(m.id)
        rules_of.check_repair(view_of(m), filed_on, today, open_one is not None)
        checked = evidence_files.check_uploads(files)
        due = procedure_for(w.rules, m.rule_set, m.region, m.starts_on).repair_reply_due(w.calendar, filed_on)
        repair = RepairRow(
            id=uuid.uuid4().hex, measure_id=m.id, subject_type=m.subject_type, lookup_key=m.lookup_key, region=m.region,
            filed_on=filed_on, filed_on_entered=entered, corrected=corrected,
            adverse_effects_removed=adverse_effects_removed,
            commitment=commitment, evidence=json.dumps(evidence, ensure_ascii=False), reply_due_on=due.due_on,
            reply_due_provisional=due.provisional, state="open", filed_by=actor, created_at=now)
        uow.cases.add(repair)
        add_event(uow, m, "repair_filed", filed_on, now, principal.actor, ref=repair.id,
                  after={"corrected": corrected, "adverse_effects_removed": adverse_effects_removed,
                         "commitment": commitment, "reply_due_on": due.due_on, **_entered(entered, actor)})
        evidence_files.stage(uow, "repair", repair, checked, principal, now)
        try:
            uow.commit()
        except DuplicateRow:
            raise Conflict("该措施已有一件信用修复申请待答复。", code="repair_open") from None
        return CaseAnswer(repair, id_number, access.sees_full_numbers(principal, access.CASE_FILE))


def repair_for(uow, principal: Principal, repair_id: str) -> CaseAnswer:
    """GET /repairs/{id}: one repair application and its reply."""
    with uow:
        r = load(uow, "repair", repair_id)
        restored = load(uow, "measure", r.measure_id).credit_state == "restored"
        _case_file(principal, access.CASE_READ, r)
        return _answer(uow, principal, access.CASE_READ, r, restored)


@dataclass
class NoticeLetter:
    measure: MeasureRow
    violation: ViolationRow
    notice: NoticeRow | None
    number: str


def notice_letter(uow, principal: Principal, measure_id: str) -> NoticeLetter:
    """What the printable credit-result notice shows (第十条)."""
    with uow:
        m = load(uow, "measure", measure_id)
        _case_file(principal, access.CASE_READ, m)
        return NoticeLetter(m, uow.cases.violation(m.violation_id), uow.cases.notice_of(measure_id),
                            uow.subjects.reveal_one(m.lookup_key))


def repair_view(r: RepairRow) -> RepairView:
    return RepairView(filed_on=r.filed_on, corrected=r.corrected, adverse_effects_removed=r.adverse_effects_removed,
                      commitment=r.commitment, state=r.state, decided_on=r.decided_on)


@dataclass
class RepairDecision:
    repair: RepairRow
    measure: MeasureRow
    restored: bool = False
    number: str = ""


def decide_repair(w: Workflow, principal: Principal, repair_id: str, outcome: str, decided_on: date,
                  reason: str, dry_run: bool = False) -> RepairDecision:
    """`dry_run`: the decision computed and rolled back (whether credit would be restored), for a preview."""
    actor = principal.name
    now, today = w.clock.now(), w.clock.today()
    with w.uow_factory() as uow:
        r = load(uow, "repair", repair_id, for_update=True)
        _case_file(principal, access.CASE_DECIDE, r)
        w.refuse_early(decided_on=decided_on)
        rules_of.check_repair_decision(r.state, decided_on, r.filed_on, today)
        if outcome == "approved" and not (r.corrected and r.adverse_effects_removed and r.commitment):
            raise Invalid("申请未同时具备纠正失信行为、消除不良影响、作出修复承诺三项条件（第十二条），不能核准。",
                          code="repair_conditions_incomplete")
        m = load(uow, "measure", r.measure_id, for_update=True)
        r.state, r.decided_on, r.decision_reason, r.decided_by = outcome, decided_on, reason, actor
        if decided_on > r.reply_due_on and r.overdue_on is None:  # as the overdue sweep would have flagged it
            r.overdue_on = r.reply_due_on + timedelta(days=1)
        add_event(uow, m, f"repair_{outcome}", decided_on, now, principal.actor, ref=r.id, before={"state": "open"},
                  after={"state": outcome, "reason": reason})
        result = RepairDecision(repair=r, measure=m)
        if outcome == "approved":
            repairs = [repair_view(x) for x in uow.cases.repairs_of(m.id)]
            restoration = rules_of.restoration_on_approval(m.restores_on, m.credit_state, repairs)
            if restoration is not None:
                m.credit_state, m.credit_restored_on, m.credit_restored_how, m.credit_note = (
                    restoration.credit_state, restoration.on, restoration.how, restoration.explanation)
                add_event(uow, m, "credit_restored", restoration.on, now, principal.actor, ref=r.id, detail=restoration.explanation)
                uow.subjects_changed([(m.subject_type, m.lookup_key)], now)
                result.restored = True
        result.number = uow.subjects.reveal_one(r.lookup_key)
        if not dry_run:
            uow.commit()
        return result
