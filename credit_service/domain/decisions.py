"""Deciding the measures a violation causes (Arts 7–9, 13 of 鲁医保发〔2024〕25号).

Pure: the caller supplies what is already on record for the subject (YearPosition) and the rule
book; nothing here reads a database or a clock.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from .errors import RuleRefusal
from .money import format_yuan
from .months import add_months
from .rules import RuleBook, RuleSet, Selection

SETTLEMENT_SUSPENSION = "settlement_suspension"
JOINT_PUNISHMENT_LISTING = "joint_punishment_listing"
PRACTITIONER_TYPES = ("physician", "pharmacist")


@dataclass(frozen=True)
class ViolationFacts:
    subject_type: str
    region: str
    occurred_on: date
    determined_on: date
    fund_loss: Decimal
    handling: str
    fraud: bool
    months_override: int | None = None
    points: int | None = None  # practitioners: points in the band of `category` (医保发〔2024〕23号)
    category: str | None = None  # practitioners: a category of the region's agreement

    @property
    def record_year(self) -> int:
        """第七条：以一个自然年度为一个记录周期 — the year the violation was determined."""
        return self.determined_on.year

    @property
    def criminal_fraud(self) -> bool:
        return self.handling == "criminal" and self.fraud


@dataclass(frozen=True)
class YearPosition:
    """What the record already holds for this subject when a violation arrives."""

    total_loss: Decimal = Decimal("0.00")  # earlier violations of the same record year
    months_imposed: int = 0  # settlement-suspension months already imposed for that year
    suspended_until: date | None = None  # latest restores_on of the subject's suspensions, any year
    listed: bool = False
    # Practitioners (the agreement and its points):
    points: int = 0  # points of earlier violations of the same record year (reset every 1 January)
    qualification_months: int = 0  # qualification-suspension months already imposed for that year
    qualification_suspended_until: date | None = None  # latest end of a service/qualification suspension
    qualification_barred_until: date | None = None  # terminated or revoked: re-registration date (date.max: never)
    # re-registered (重新登记备案) after a termination: the qualification is normal again from this day
    qualification_reregistered_on: date | None = None


@dataclass(frozen=True)
class MeasureDraft:
    kind: str
    starts_on: date
    restores_on: date | None
    months: int | None
    rule_set: str
    article: str
    explanation: str
    past_expiry: bool = False
    reregistration_from: date | None = None  # qualification ended: first day re-registration is allowed


@dataclass(frozen=True)
class Decision:
    measures: tuple[MeasureDraft, ...] = ()
    rule_set: str | None = None
    year_total: Decimal = Decimal("0.00")
    notes: tuple[str, ...] = field(default_factory=tuple)
    agreement_rule_set: str | None = None  # practitioners: the agreement rule set applied

    @property
    def severity(self) -> tuple[bool, int]:
        listed = any(m.kind == JOINT_PUNISHMENT_LISTING for m in self.measures)
        return listed, sum(m.months or 0 for m in self.measures)


class MonthsOutOfRange(RuleRefusal, ValueError):
    code, field = "months_out_of_range", "months"

    def __init__(self, allowed: range, article: str, band: str):
        self.allowed, self.article, self.band = allowed, article, band
        if allowed:
            super().__init__(f"暂停月数须在{allowed[0]}至{allowed[-1]}个月之间（{article}：{band}）。")
        else:
            super().__init__(f"{band}，不得指定暂停月数。")


class MonthsBelowImposed(RuleRefusal, ValueError):
    code, field = "months_out_of_range", "months"

    def __init__(self, requested: int, imposed: int):
        self.requested, self.imposed = requested, imposed
        super().__init__(f"本年度已暂停{imposed}个月，确定的月数{requested}不得少于已暂停月数。")


def decide(violation: ViolationFacts, position: YearPosition, rules: RuleBook) -> Decision:
    """The measures `violation` causes, judged by the rule set of its determination date or, where
    the rule set of its occurrence date differs, by the lighter of the two (从旧兼从轻).
    Practitioners also meet their region's agreement rule set (第八条第二至四项)."""
    decision = _decide_credit(violation, position, rules)
    if violation.subject_type not in PRACTITIONER_TYPES:
        return decision
    agreed = practitioners.decide_agreement(violation, position, rules)
    return replace(decision, measures=agreed.measures + decision.measures, notes=agreed.notes + decision.notes,
                   agreement_rule_set=agreed.rule_set)


def _decide_credit(violation: ViolationFacts, position: YearPosition, rules: RuleBook) -> Decision:
    current = rules.select(violation.region, violation.determined_on)
    former = rules.select(violation.region, violation.occurred_on)
    if current is None:
        return Decision(notes=(f"统筹区{violation.region}在认定日{violation.determined_on}无适用的信用管理规则集，"
                               "仅记录违约违法信息，不采取措施。",))
    if former is None:
        # 从旧兼从轻 / 不溯及既往: conduct before any rule set took effect meets no measure from one.
        return Decision(notes=(f"违约违法行为发生于{violation.occurred_on}，当时统筹区{violation.region}尚无适用的"
                               "信用管理规则集；依从旧兼从轻原则，仅记录违约违法信息，不采取信用管理措施。",))
    # A staff-chosen duration may fit only one set's band: judged by the set it fits.
    return milder_of(current, former, lambda selection: _decide_under(violation, position, selection),
                     (MonthsOutOfRange, MonthsBelowImposed))


def milder_of(current: Selection, former: Selection, decide_under, refusals: tuple[type[Exception], ...]):
    """从旧兼从轻: conduct is judged under the rule set in force when it occurred (`former`) and the one
    in force when it was determined (`current`), and the lighter outcome applies (by its `severity`;
    a tie keeps the current set), saying so in each measure's explanation. A set under which
    `decide_under` refuses the request (`refusals`, e.g. months outside its band) is passed over;
    refused under both, the current set's refusal is raised. Used for the credit rules and for the
    practitioners' agreement alike."""
    if former.rule_set.id == current.rule_set.id:
        return decide_under(current)
    outcomes = []
    for selection in (current, former):
        try:
            outcomes.append(decide_under(selection))
        except refusals as exc:
            outcomes.append(exc)
    fits = [o for o in outcomes if not isinstance(o, Exception)]
    if not fits:
        raise outcomes[0]
    lighter = min(fits, key=lambda o: o.severity)  # current first: a tie keeps the current set
    if len(fits) == 1:
        return lighter
    note = (f"违约违法行为发生时适用{former.rule_set.id}，认定时适用{current.rule_set.id}；"
            f"依从旧兼从轻原则，适用处理较轻的{lighter.rule_set}。")
    return replace(lighter,
                   measures=tuple(replace(m, explanation=m.explanation + note) for m in lighter.measures),
                   notes=lighter.notes + (note,))


def _decide_under(violation: ViolationFacts, position: YearPosition, selection: Selection) -> Decision:
    rs = selection.rule_set
    expiry = expiry_note(rs) if selection.past_expiry else ""
    measures: list[MeasureDraft] = []
    notes: list[str] = []
    year_total = position.total_loss + violation.fund_loss

    if violation.subject_type == "insured":
        suspension, note = _insured_suspension(violation, position, rs, year_total)
        if suspension:
            measures.append(suspension)
        if note:
            notes.append(note)
        listing_rule = rs.insured_criminal_fraud
    else:
        notes.append("医保医（药）师违约违法使用医保基金的责任，按照本统筹区协议约定执行（第八条第二、三项）。")
        listing_rule = rs.practitioner_criminal_fraud

    if violation.criminal_fraud and listing_rule is not None:
        if position.listed:
            notes.append("已纳入失信联合惩戒对象名单，不重复纳入。")
        else:
            measures.append(MeasureDraft(
                kind=JOINT_PUNISHMENT_LISTING, starts_on=violation.determined_on, restores_on=None,
                months=None, rule_set=rs.id, article=listing_rule.article,
                explanation=f"依据{rs.citation(listing_rule.article)}：因欺诈骗保被刑事处理，"
                            f"依法纳入失信联合惩戒对象名单。"))

    measures = [replace(m, explanation=m.explanation + expiry, past_expiry=selection.past_expiry)
                for m in measures]
    if expiry:
        notes.append(expiry)
    return Decision(measures=tuple(measures), rule_set=rs.id, year_total=year_total, notes=tuple(notes))


def _insured_suspension(violation: ViolationFacts, position: YearPosition, rs: RuleSet,
                        year_total: Decimal) -> tuple[MeasureDraft | None, str | None]:
    year = violation.record_year
    tier = rs.tier_for(year_total)
    if tier is None:
        if violation.months_override is not None:
            raise MonthsOutOfRange(range(0), "第九条", "本年度未造成医保基金损失，不暂停联网结算")
        return None, (f"{year}年度累计造成医保基金损失{format_yuan(year_total)}元，"
                      "未达到暂停联网结算的条件，仅记录。")
    allowed = tier.allowed_months
    if violation.months_override is not None:
        if violation.months_override not in allowed:
            raise MonthsOutOfRange(allowed, tier.article, tier.band_words)
        if violation.months_override < position.months_imposed:
            raise MonthsBelowImposed(violation.months_override, position.months_imposed)
        target, chosen = violation.months_override, "由经办人员在该档次范围内确定为"
    else:
        target, chosen = rs.default_months_for(tier), "按该档次下限确定为"
    additional = target - position.months_imposed
    reason = (f"依据{rs.citation(tier.article)}：{year}年度累计造成医保基金损失{format_yuan(year_total)}元，"
              f"属{tier.band_words}，应暂停医疗费用联网结算{tier.months_words}，{chosen}{target}个月")
    if additional <= 0:
        return None, f"{reason}；本年度已暂停{position.months_imposed}个月，不重复处罚。"

    starts_on = violation.determined_on
    if position.suspended_until and position.suspended_until > starts_on:
        starts_on = position.suspended_until
    restores_on = add_months(starts_on, additional)
    if position.months_imposed:
        text = (f"{reason}；本年度已暂停{position.months_imposed}个月，追加暂停{additional}个月，"
                f"自{starts_on.isoformat()}起至{restores_on.isoformat()}恢复。")
    else:
        text = f"{reason}，自{starts_on.isoformat()}起至{restores_on.isoformat()}恢复。"
    return MeasureDraft(kind=SETTLEMENT_SUSPENSION, starts_on=starts_on, restores_on=restores_on,
                        months=additional, rule_set=rs.id, article=tier.article, explanation=text), None


def expiry_note(rs: RuleSet) -> str:
    return (f"（注：{rs.document}有效期至{rs.effective_until.isoformat()}，期满后尚无新规则，"
            "按配置继续适用。）")


from . import practitioners  # noqa: E402  (it builds on the types above)
