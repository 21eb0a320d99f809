"""Physicians and pharmacists under their region's service agreement (鲁医保发〔2024〕25号第八条).

Art. 8 items 2–3 hand practitioners' liability to "本统筹区协议约定"; the agreement rule set of the
region (config/rules/, `[agreement]`) says what each category of violation brings: points in a band
(the 医保发〔2024〕23号 model: 9 points in a natural year suspend the payment qualification, 12 end it),
a suspension of service for some months, or the loss of the qualification. Pure, like decisions.py.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date

from . import decisions as d
from .errors import RuleRefusal
from .months import add_months
from .rules import AGREEMENT, Category, RuleBook, Selection

SERVICE_SUSPENSION = "service_suspension"  # 中止医保医药服务 (an agreement's months, per violation)
QUALIFICATION_SUSPENSION = "qualification_suspension"  # 暂停医保支付资格 (points)
QUALIFICATION_TERMINATION = "qualification_termination"  # 终止医保支付资格 (points)
QUALIFICATION_REVOKED = "qualification_revoked"  # 取消医保医（药）师资格
SUSPENDING_KINDS = frozenset({SERVICE_SUSPENSION, QUALIFICATION_SUSPENSION})
ENDING_KINDS = frozenset({QUALIFICATION_TERMINATION, QUALIFICATION_REVOKED})
PRACTITIONER_KINDS = SUSPENDING_KINDS | ENDING_KINDS
FOR_GOOD = date.max  # qualification revoked: no re-registration date


class AgreementInputError(RuleRefusal, ValueError):
    """The violation does not fit the agreement in force (naming `field`)."""

    code = "validation_failed"
    field = "category"


class UnknownCategory(AgreementInputError):
    code, field = "unknown_category", "category"

    def __init__(self, category: str, known: tuple[Category, ...], rule_set: str):
        names = "、".join(f"{c.id}（{c.title}）" for c in known)
        super().__init__(f"违规类别“{category}”不在协议约定规则集{rule_set}中，可用类别：{names}。")


class CategoryNotApplicable(AgreementInputError):
    code, field = "category_not_applicable", "category"

    def __init__(self, category: Category, handling: str):
        words = {"agreement": "协议处理", "administrative": "行政处罚", "criminal": "刑事处理"}
        allowed = "、".join(words[h] for h in category.handlings)
        super().__init__(f"协议约定的违规类别“{category.title}”仅适用于{allowed}，本条为{words.get(handling, handling)}。")


class PointsOutOfBand(AgreementInputError):
    code, field = "points_out_of_band", "points"

    def __init__(self, message: str, band: range | None = None):
        self.band = band
        super().__init__(message)


@dataclass(frozen=True)
class AgreementDecision:
    measures: tuple[d.MeasureDraft, ...] = ()
    notes: tuple[str, ...] = ()
    rule_set: str | None = None

    @property
    def severity(self) -> tuple[bool, int, date]:
        ends = [m for m in self.measures if m.kind in ENDING_KINDS]
        return (bool(ends), sum(m.months or 0 for m in self.measures),
                max((m.reregistration_from or FOR_GOOD for m in ends), default=date.min))


def decide_agreement(violation: d.ViolationFacts, position: d.YearPosition, rules: RuleBook) -> AgreementDecision:
    """What the region's agreement imposes; 从旧兼从轻 between the sets of occurrence and determination."""
    current = rules.select(violation.region, violation.determined_on, AGREEMENT)
    former = rules.select(violation.region, violation.occurred_on, AGREEMENT)
    if current is None:
        return AgreementDecision(notes=(f"统筹区{violation.region}在认定日{violation.determined_on}无医保医（药）师"
                                        "协议约定规则集，仅记录违约违法信息。",))
    if former is None:
        return AgreementDecision(notes=(f"违约违法行为发生于{violation.occurred_on}，当时统筹区{violation.region}尚无"
                                        "医保医（药）师协议约定规则集；依从旧兼从轻原则，不按协议记分或处理。",))
    return d.milder_of(current, former, lambda selection: _under(violation, position, selection),
                       (AgreementInputError, d.MonthsOutOfRange))


def _under(v: d.ViolationFacts, position: d.YearPosition, selection: Selection) -> AgreementDecision:
    rs = selection.rule_set
    agreement = rs.agreement
    category = _category(v, agreement.categories, rs.id)
    _check_points(v, category)
    if v.months_override is not None and (category is None or category.service_suspension is None):
        raise d.MonthsOutOfRange(range(0), category.article if category else "协议约定",
                                 "该违规类别不中止医保医药服务")
    measures: list[d.MeasureDraft] = []
    notes: list[str] = []
    # Ended: terminated or revoked and not re-registered, or determined before the re-registration.
    day = v.determined_on
    ended = position.qualification_barred_until is not None or (
        position.qualification_reregistered_on is not None and day < position.qualification_reregistered_on)

    def draft(kind, article, text, starts_on=day, restores_on=None, months=None, reregistration_from=None):
        measures.append(d.MeasureDraft(
            kind=kind, starts_on=starts_on, restores_on=restores_on, months=months, rule_set=rs.id,
            article=article, explanation=f"依据{rs.citation(article)}：{text}",
            past_expiry=selection.past_expiry, reregistration_from=reregistration_from))

    if category is None and not v.criminal_fraud:
        notes.append("未注明协议约定的违规类别，仅记录违约违法信息，不记分。")

    revoke = None
    if v.criminal_fraud and agreement.criminal_fraud_article:
        revoke = (agreement.criminal_fraud_article, "因欺诈骗保被刑事处罚，按照协议约定取消医保医（药）师资格。")
    elif category is not None and category.qualification_revoked:
        revoke = (category.article, f"属{category.title}，按照协议约定取消医保医（药）师资格。")
    if revoke:
        if ended:
            notes.append("医保医（药）师资格已被取消或医保支付资格已终止，不重复处理。")
        else:
            draft(QUALIFICATION_REVOKED, revoke[0], revoke[1], reregistration_from=FOR_GOOD)
            ended = True

    running = position.qualification_suspended_until
    start = running if running and running > day else day
    if category is not None and category.service_suspension is not None and not ended:
        allowed = category.service_suspension
        if v.months_override is not None and v.months_override not in allowed:
            raise d.MonthsOutOfRange(allowed, category.article, category.title)
        months = allowed[0] if v.months_override is None else v.months_override
        restores_on = add_months(start, months)
        draft(SERVICE_SUSPENSION, category.article,
              f"属{category.title}，按照协议约定中止医保医药服务{allowed[0]}至{allowed[-1]}个月，确定为{months}个月，"
              f"自{start.isoformat()}起至{restores_on.isoformat()}恢复；其间开具的处方（医嘱）不予医保结算。",
              starts_on=start, restores_on=restores_on, months=months)
        start = restores_on

    rule = agreement.points
    if v.points is not None and rule is not None:
        year, total = v.record_year, position.points + v.points
        scored = (f"{year}年度累计记分{total}分（本次{v.points}分，{category.title}，"
                  f"记分档次{category.points_words}）")
        if ended:
            notes.append(f"{scored}；医保支付资格已终止或资格已取消，不再暂停。")
        elif total >= rule.terminate_at:
            single = v.points >= rule.terminate_at
            years = rule.bar_years_single if single else rule.bar_years_cumulative
            article = rule.single_article if single else rule.terminate_article
            again = add_months(day, 12 * years)
            how = f"一次性记满{rule.terminate_at}分" if single else f"累计记分达到{rule.terminate_at}分"
            draft(QUALIFICATION_TERMINATION, article,
                  f"{scored}，{how}，自{day.isoformat()}起终止医保支付资格，{years}年内不得再次登记备案"
                  f"（{again.isoformat()}起方可重新登记备案）。",
                  reregistration_from=again)
        elif total >= rule.suspend_at:
            target = rule.months_for(total)
            additional = target - position.qualification_months
            reason = f"{scored}，达到{rule.suspend_at}分，按协议约定{total}分暂停医保支付资格{target}个月"
            if additional <= 0:
                notes.append(f"{reason}；本年度已暂停{position.qualification_months}个月，不重复处理。")
            else:
                restores_on = add_months(start, additional)
                more = (f"；本年度已暂停{position.qualification_months}个月，追加{additional}个月"
                        if position.qualification_months else "")
                draft(QUALIFICATION_SUSPENSION, rule.suspend_article,
                      f"{reason}{more}，自{start.isoformat()}起至{restores_on.isoformat()}恢复；"
                      "暂停期间发生的医药费用医保基金不予结算（急救、抢救除外）。",
                      starts_on=start, restores_on=restores_on, months=additional)
        else:
            notes.append(f"{scored}，未达到{rule.suspend_at}分，仅记分。")

    if selection.past_expiry:
        note = d.expiry_note(rs)
        measures = [replace(m, explanation=m.explanation + note) for m in measures]
        notes.append(note)
    return AgreementDecision(measures=tuple(measures), notes=tuple(notes), rule_set=rs.id)


def _category(v: d.ViolationFacts, known: tuple[Category, ...], rule_set: str) -> Category | None:
    if v.category is None:
        return None
    found = next((c for c in known if c.id == v.category), None)
    if found is None:
        raise UnknownCategory(v.category, known, rule_set)
    if found.handlings is not None and v.handling not in found.handlings:
        raise CategoryNotApplicable(found, v.handling)
    return found


def _check_points(v: d.ViolationFacts, category: Category | None) -> None:
    if category is None:
        if v.points is not None:
            raise PointsOutOfBand("记分须注明协议约定的违规类别（category），以确定记分档次。")
        return
    band = category.points
    if band is None:
        if v.points is not None:
            raise PointsOutOfBand(f"违规类别“{category.title}”按协议约定不记分，不得填写记分。")
        return
    if v.points is None or v.points not in band:
        raise PointsOutOfBand(f"违规类别“{category.title}”的记分档次为{category.points_words}，"
                              f"记分须在{band[0]}至{band[-1]}分之间。", band)


def check_reregistration(kind: str, starts_on: date, restores_on: date | None, revoked_on: date | None,
                         reregistration_from: date | None, registered_on: date, today: date) -> None:
    """May a re-registration (重新登记备案) on `registered_on` end this measure? Only a terminated payment
    qualification, not yet re-registered, on or after the first day its bar allows (`reregistration_from`,
    fixed by the agreement's rule file when the termination was decided) and not after today. A revoked
    qualification (取消医保医（药）师资格) is never re-registered under the agreement."""
    from .kinds import measure_words
    if revoked_on is not None:
        raise RuleRefusal(f"措施已于{revoked_on}撤销，无需重新登记备案。", "measure_revoked")
    if kind not in ENDING_KINDS or reregistration_from is None or reregistration_from == FOR_GOOD:
        why = ("取消医保医（药）师资格的，按照协议约定不得重新登记备案" if kind == QUALIFICATION_REVOKED
               else f"“{measure_words(kind)}”不是终止医保支付资格的措施，无需重新登记备案")
        raise RuleRefusal(f"{why}。", "reregistration_not_applicable")
    if restores_on is not None:
        raise RuleRefusal(f"已于{restores_on}重新登记备案，医保支付资格自该日起恢复正常。", "already_reregistered")
    if registered_on > today:
        raise RuleRefusal(f"登记备案日期{registered_on}晚于今天（{today}）。", "registered_in_future",
                          "registered_on")
    if registered_on < reregistration_from:
        raise RuleRefusal(f"医保支付资格自{starts_on}终止，按照协议约定{reregistration_from}起方可重新登记备案，"
                          f"{registered_on}不能登记。", "reregistration_barred", "registered_on")
