"""Objections, review and credit repair (Arts 10–12 of 鲁医保发〔2024〕25号): deadlines, the checks
every transition must pass, and what happens to credit when a measure ends. Pure: dates come in as
arguments, the working-day calendar is passed in.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable

from .errors import RuleRefusal
from .kinds import measure_words
from .money import format_yuan
from .working_days import Deadline, WorkingCalendar

OBJECTION_OUTCOMES = ("upheld", "rejected", "modified")
REPAIR_OUTCOMES = ("approved", "rejected")
# "closed": ended without a decision of its own, because its measure was revoked (closure_reason).
OBJECTION_STATES = ("open", "decided", "closed")
REPAIR_STATES = ("open", "approved", "rejected", "closed")


@dataclass(frozen=True)
class Procedure:
    """The deadlines a rule set gives, in working days (config: `[procedure]`)."""

    objection_working_days: int = 15  # 第十条：自收到信用结果告知书15个工作日内提出异议
    review_working_days: int = 15  # 第十条：收到申请及证明材料15个工作日内完成复核
    repair_reply_working_days: int = 15  # 第十一条：收到修复申请后15个工作日内给予回复
    objection_article: str = "第十条"
    repair_article: str = "第十一条"
    restoration_article: str = "第十二条"
    objection_pauses_measure: bool = False

    def objection_deadline(self, calendar: WorkingCalendar, received_on: date) -> Deadline:
        return calendar.add_working_days(received_on, self.objection_working_days)

    def review_due(self, calendar: WorkingCalendar, counted_from: date) -> Deadline:
        """From the filing, or from the day staff record the evidence complete (the clock restarts)."""
        return calendar.add_working_days(counted_from, self.review_working_days)

    def repair_reply_due(self, calendar: WorkingCalendar, filed_on: date) -> Deadline:
        return calendar.add_working_days(filed_on, self.repair_reply_working_days)


class TransitionRefused(RuleRefusal):
    """A request the procedure does not allow: some clash with the record's state (a revoked measure,
    an objection already open), the others are invalid requests. The code says which."""

    def __init__(self, code: str, detail: str, field: str | None = None):
        super().__init__(detail, code, field)


@dataclass(frozen=True)
class MeasureView:
    """What the procedure needs to know about a measure."""

    id: str
    starts_on: date
    restores_on: date | None
    revoked_on: date | None
    credit_state: str | None = None  # None while running; "restored" | "unrepaired" once ended


def check_notice(measure: MeasureView, served_on: date, received_on: date, today: date,
                 already_served: bool) -> None:
    if measure.revoked_on is not None:
        raise TransitionRefused("measure_revoked", f"措施已于{measure.revoked_on}撤销，无需送达信用结果告知书。")
    if already_served:
        raise TransitionRefused("notice_exists", "该措施的信用结果告知书已登记送达，不能重复登记。")
    if received_on < served_on:
        raise TransitionRefused("received_before_served", "签收日期不能早于送达日期。", field="received_on")
    if received_on > today:
        raise TransitionRefused("received_in_future", f"签收日期{received_on}晚于今天（{today}）。",
                                field="received_on")


def filing_date(given: date | None, today: date, paper_filing: bool) -> tuple[date, bool]:
    """The day an objection or a repair application is filed, and whether it was entered by staff.

    API.md v1.1: a person files through the service, so the filing is dated by the service (today):
    they may leave the date out, and any other date is refused — a later date would be invented, an
    earlier one would reopen a closed objection window. Staff entering a paper filing give the day it
    was received (`paper_filing`); that date is recorded as entered by them.
    """
    if given is None:
        return today, False
    if not paper_filing:
        if given != today:
            raise TransitionRefused(
                "filed_on_not_today",
                f"网上提出的申请以本服务收到之日（{today}）为提出日期：filed_on 可以省略，填写时须为{today}，"
                f"不能为{given}。纸质申请请由经办机构按收件日期录入。", field="filed_on")
        return today, False
    return given, True


def check_objection(measure: MeasureView, filed_on: date, today: date, deadline: Deadline | None,
                    open_objection: bool) -> str:
    """Returns a note for the record ('' if none); raises when the objection cannot be accepted."""
    if measure.revoked_on is not None:
        raise TransitionRefused("measure_revoked", f"措施已于{measure.revoked_on}撤销，不能再提出异议。")
    if open_objection:
        raise TransitionRefused("objection_open", "该措施已有一件异议申请正在复核，复核结束前不能再次提出。")
    if filed_on > today:
        raise TransitionRefused("filed_in_future", f"提出日期{filed_on}晚于今天（{today}）。", field="filed_on")
    if deadline is None:
        return "异议提出时尚未登记信用结果告知书的签收，异议期限尚未起算，予以受理。"
    if filed_on > deadline.due_on:
        if deadline.provisional:
            # The real deadline may be later (the year's holidays are not loaded): never refuse on a guess.
            return (f"异议期限{deadline.due_on}为暂定（该年度法定节假日安排尚未载入），"
                    "按有利于申请人的原则予以受理。")
        raise TransitionRefused(
            "objection_window_closed",
            f"异议期限已于{deadline.due_on}届满（第十条：自收到信用结果告知书之日起15个工作日内提出），"
            f"{filed_on}提出的异议不予受理。", field="filed_on")
    return ""


def check_objection_decision(state: str, outcome: str, decided_on: date, filed_on: date, today: date,
                             corrected_loss_given: bool, corrected_loss: Decimal | None = None,
                             objected_loss: Decimal | None = None) -> None:
    if state != "open":
        raise TransitionRefused("objection_closed", "该异议已作出复核决定，不能再次决定。")
    if decided_on < filed_on:
        raise TransitionRefused("decided_before_filed", "复核决定日期不能早于异议提出日期。", field="decided_on")
    if decided_on > today:
        raise TransitionRefused("decided_in_future", f"复核决定日期{decided_on}晚于今天（{today}）。",
                                field="decided_on")
    if outcome == "modified" and not corrected_loss_given:
        raise TransitionRefused("fund_loss_required", "复核决定为变更（modified）时须给出更正后的医保基金损失金额。",
                                field="fund_loss")
    if outcome != "modified" and corrected_loss_given:
        raise TransitionRefused("fund_loss_not_allowed", "仅在复核决定为变更（modified）时给出更正后的金额。",
                                field="fund_loss")
    if corrected_loss is not None and objected_loss is not None and corrected_loss > objected_loss:
        # 第十条: the review answers the subject's objection; it cannot turn against the one who objected.
        raise TransitionRefused(
            "modification_worsens",
            f"复核变更不得加重对异议申请人的处理（第十条：复核是对信用主体异议的复核）：更正后的损失"
            f"{format_yuan(corrected_loss)}元高于被异议的{format_yuan(objected_loss)}元。新发现的更高损失应作为"
            "一条新的违约违法信息记录。", field="fund_loss")


def check_repair(measure: MeasureView, filed_on: date, today: date, open_repair: bool) -> None:
    if measure.revoked_on is not None:
        raise TransitionRefused("measure_revoked", f"措施已于{measure.revoked_on}撤销，无需信用修复。")
    if measure.credit_state == "restored":
        raise TransitionRefused("credit_restored", "该措施对应的信用已修复，无需再申请。")
    if open_repair:
        raise TransitionRefused("repair_open", "该措施已有一件信用修复申请待答复。")
    if filed_on > today:
        raise TransitionRefused("filed_in_future", f"申请日期{filed_on}晚于今天（{today}）。", field="filed_on")


def closure_reason(application: str, measure_kind: str, revoked_on: date, cause: str) -> str:
    """Why an open objection or repair application ends undecided: the measure it concerns was revoked
    when another objection's review recomputed the year (第十条). Nothing is left to review or repair;
    the application is closed in the same transaction, with this reason, and leaves the worklist."""
    answer = "复核" if application == "objection" else "答复"
    words = "异议申请" if application == "objection" else "信用修复申请"
    return (f"所涉“{measure_words(measure_kind)}”措施已于{revoked_on}因异议复核决定（异议编号{cause}）重新计算本年度措施而撤销"
            f"（第十条），本{words}已无需{answer}，予以终结。")


def check_repair_decision(state: str, decided_on: date, filed_on: date, today: date) -> None:
    if state != "open":
        raise TransitionRefused("repair_decided", "该信用修复申请已作出决定，不能再次决定。")
    if decided_on < filed_on:
        raise TransitionRefused("decided_before_filed", "决定日期不能早于申请日期。", field="decided_on")
    if decided_on > today:
        raise TransitionRefused("decided_in_future", f"决定日期{decided_on}晚于今天（{today}）。", field="decided_on")


@dataclass(frozen=True)
class RepairView:
    filed_on: date
    corrected: bool
    adverse_effects_removed: bool
    commitment: bool
    state: str  # "open" | "approved" | "rejected" | "closed"
    decided_on: date | None

    @property
    def complete(self) -> bool:
        """第十二条：纠正失信行为、消除不良影响、作出修复承诺 — all three."""
        return self.corrected and self.adverse_effects_removed and self.commitment


@dataclass(frozen=True)
class Restoration:
    credit_state: str  # "restored" | "unrepaired"
    on: date
    how: str | None  # "automatic" | "repair" | None
    explanation: str


def restoration_at_end(restores_on: date, repairs: Iterable[RepairView]) -> Restoration:
    """What the end of a measure does to credit. Settlement is allowed again from `restores_on` in any
    case (the period is bounded). 第十二条：在规定期限内纠正失信行为、消除不良影响、作出修复承诺的，
    信用管理措施期满信用自动修复 — so an approved application with all three conditions that was filed
    within the period (filed before `restores_on`) restores credit automatically on `restores_on`,
    whenever the agency approves it: its reply time (第十一条, 15 working days) must not decide the outcome.
    An application filed after the period restores credit on the day it is approved (第十一条).
    A pure function of the record, never of when a sweep happens to run: a sweep that catches up
    decides exactly as daily ones would have.
    """
    approved = [r for r in repairs if r.complete and r.state == "approved" and r.decided_on is not None]
    in_period = [r for r in approved if r.filed_on < restores_on]
    if in_period:
        first = min(in_period, key=lambda r: (r.decided_on, r.filed_on))
        if first.decided_on <= restores_on:
            return Restoration("restored", restores_on, "automatic",
                               f"措施期满（{restores_on}），已纠正失信行为、消除不良影响并作出修复承诺，"
                               "依第十二条信用自动修复。")
        return Restoration("restored", restores_on, "automatic",
                           f"修复申请于{first.filed_on}提出，三项条件在措施期限内已具备；申请于{first.decided_on}"
                           f"核准，依第十二条自措施期满之日（{restores_on}）起信用自动修复。")
    if not approved:
        pending = [r for r in repairs if r.complete and r.state == "open" and r.filed_on < restores_on]
        tail = ("期限内提出的修复申请尚待答复，核准后自期满之日起信用自动修复（第十二条）。" if pending
                else "经信用修复申请核准后修复（第十一条、第十二条）。")
        return Restoration("unrepaired", restores_on, None,
                           f"措施期满（{restores_on}），自该日起恢复联网结算；修复条件未全部具备，信用尚未修复，" + tail)
    approved_on = min(r.decided_on for r in approved)
    return Restoration("restored", approved_on, "repair",
                       f"措施期满（{restores_on}）时修复条件未全部具备；信用修复申请于{approved_on}核准，"
                       "信用修复（第十一条、第十二条）。")


def restoration_on_approval(restores_on: date | None, credit_state: str | None,
                            repairs: Iterable[RepairView]) -> Restoration | None:
    """An approval after the measure ended unrepaired restores credit now; while the measure still
    runs (or its end is not yet swept) the end-of-measure sweep applies it."""
    if credit_state != "unrepaired" or restores_on is None:
        return None
    return restoration_at_end(restores_on, repairs)
