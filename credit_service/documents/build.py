"""From the records to the document model: what each letter must say (Arts 10–12).

Takes the stored rows (or anything with the same attributes) and the rule book; reads nothing else.
"""
from __future__ import annotations

from ..api.notice_page import _HANDLING, _KIND, _SUBJECT
from ..domain.identity import mask_id_number
from ..domain.money import format_yuan
from ..domain.procedure import Procedure
from ..domain.rules import RuleBook
from .model import (Addressee, CreditResultNotice, Letterhead, MeasureText, ObjectionDecision, RepairReply)


def _procedure(rules: RuleBook, rule_set: str) -> Procedure:
    found = rules.get(rule_set)
    return found.procedure if found is not None else Procedure()


def measure_text(measure, rules: RuleBook) -> MeasureText:
    rule_set = rules.get(measure.rule_set)
    citation = rule_set.citation(measure.article) if rule_set else f"{measure.rule_set}{measure.article}"
    return MeasureText(kind=_KIND.get(measure.kind, measure.kind), article=measure.article, citation=citation,
                       explanation=measure.explanation, starts_on=measure.starts_on,
                       restores_on=measure.restores_on, months=measure.months)


def addressee(subject_type: str, name: str | None, id_number: str) -> Addressee:
    """`id_number`: the number itself (revealed from `subjects` by the caller); the letter shows it masked."""
    return Addressee(name=name or "", subject_word=_SUBJECT.get(subject_type, "信用主体"),
                     masked_id=mask_id_number(id_number))


def credit_result_notice(letterhead: Letterhead, measure, violation, notice, rules: RuleBook,
                         id_number: str) -> CreditResultNotice:
    procedure = _procedure(rules, measure.rule_set)
    what = (f"{violation.description or '（未填写）'}；发生于{_cn(violation.occurred_on)}，"
            f"{_cn(violation.determined_on)}认定（{_HANDLING.get(violation.handling, violation.handling)}）")
    return CreditResultNotice(
        letterhead=letterhead, addressee=addressee(measure.subject_type, violation.name, id_number),
        measure=measure_text(measure, rules), violation=what, fund_loss=format_yuan(violation.fund_loss),
        record_year=violation.record_year, objection_days=procedure.objection_working_days,
        review_days=procedure.review_working_days, repair_days=procedure.repair_reply_working_days,
        objection_deadline=notice.objection_deadline if notice is not None else None,
        deadline_provisional=bool(notice is not None and notice.deadline_provisional))


_OBJECTION_OUTCOMES = {"upheld": "异议成立", "modified": "异议部分成立，予以更正", "rejected": "异议不成立，维持原信用结果"}


def objection_decision(letterhead: Letterhead, objection, measure, violation, new_measures, rules: RuleBook,
                       id_number: str) -> ObjectionDecision:
    """`new_measures`: the measures the recomputation after this decision created (modified), else ()."""
    procedure = _procedure(rules, measure.rule_set)
    old = measure_text(measure, rules)
    consequences: list[str] = []
    if objection.outcome == "upheld":
        consequences.append(f"该违约违法信息不再记入信用记录，原“{old.kind}”措施予以撤销。")
    elif objection.outcome == "modified":
        if objection.corrected_fund_loss is not None:
            consequences.append(f"医保基金损失更正为{format_yuan(objection.corrected_fund_loss)}元，"
                                "并据此重新认定本年度的信用管理措施。")
        consequences.append(f"原“{old.kind}”措施予以撤销。" if new_measures or measure.revoked_on
                            else f"原“{old.kind}”措施经重新认定后维持。")
    else:
        consequences.append(f"原“{old.kind}”措施继续执行。")
    return ObjectionDecision(
        letterhead=letterhead, addressee=addressee(measure.subject_type, violation.name, id_number), measure=old,
        filed_on=objection.filed_on, objection_reason=objection.reason,
        outcome=objection.outcome, decision=_OBJECTION_OUTCOMES.get(objection.outcome, objection.outcome),
        decision_reason=objection.decision_reason or "", decided_on=objection.decided_on,
        consequences=tuple(consequences), new_measures=tuple(measure_text(m, rules) for m in new_measures),
        repair_days=procedure.repair_reply_working_days)


def repair_reply(letterhead: Letterhead, repair, measure, violation, rules: RuleBook, id_number: str) -> RepairReply:
    procedure = _procedure(rules, measure.rule_set)
    text = measure_text(measure, rules)
    if repair.state == "approved":
        decision = "同意信用修复"
        effect = (f"您已纠正失信行为、消除不良影响并作出修复承诺，“{text.kind}”措施期满"
                  f"{'（' + _cn(text.restores_on) + '）' if text.restores_on else ''}信用自动修复（第十二条）。")
    else:
        decision = "暂不予信用修复"
        effect = ("您可以在纠正失信行为、消除不良影响并作出修复承诺后再次申请信用修复，"
                  f"医疗保障部门将于收到申请后{procedure.repair_reply_working_days}个工作日内给予回复（第十一条）。")
    return RepairReply(
        letterhead=letterhead, addressee=addressee(measure.subject_type, violation.name, id_number), measure=text,
        filed_on=repair.filed_on,
        conditions=(("纠正失信行为", bool(repair.corrected)), ("消除不良影响", bool(repair.adverse_effects_removed)),
                    ("作出修复承诺", bool(repair.commitment))),
        outcome=repair.state, decision=decision, decision_reason=repair.decision_reason or "",
        decided_on=repair.decided_on, effect=effect, repair_days=procedure.repair_reply_working_days)


def _cn(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""
