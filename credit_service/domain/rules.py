"""Rule sets as plain objects: tiers with Art. 13 boundary words, durations, effective periods.

The files under config/rules/ are parsed into these by credit_service.rules_config; this module
only interprets them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from datetime import date
from decimal import Decimal

from .evaluation import EVALUATION, EvaluationModel
from .procedure import Procedure

# 第十三条：“以上”“以下”包括本数，“不满”“超过”不含本数。
INCLUSIVE_LOWER = {"以上": True, "超过": False}
INCLUSIVE_UPPER = {"以下": True, "不满": False}
_INCLUSIVE = {**INCLUSIVE_LOWER, **INCLUSIVE_UPPER}


@dataclass(frozen=True)
class Bound:
    amount: Decimal
    term: str  # one of 以上/超过 (lower) or 以下/不满 (upper)

    @property
    def inclusive(self) -> bool:
        return _INCLUSIVE[self.term]


@dataclass(frozen=True)
class Tier:
    article: str
    loss_above: Bound
    loss_below: Bound | None
    months_from: int
    months_from_term: str
    months_to: int
    months_to_term: str

    def contains(self, loss: Decimal) -> bool:
        low = self.loss_above
        if loss < low.amount or (loss == low.amount and not low.inclusive):
            return False
        high = self.loss_below
        if high is None:
            return True
        return loss < high.amount or (loss == high.amount and high.inclusive)

    @cached_property
    def allowed_months(self) -> range:
        first = self.months_from if INCLUSIVE_LOWER[self.months_from_term] else self.months_from + 1
        last = self.months_to if INCLUSIVE_UPPER[self.months_to_term] else self.months_to - 1
        return range(first, last + 1)

    @cached_property
    def band_words(self) -> str:
        """第九条's own wording of the loss band, e.g. "10万元以上、不满20万元"."""
        parts = []
        if self.loss_above.amount > 0 or self.loss_above.term == "以上":
            parts.append(f"{_yuan_words(self.loss_above.amount)}{self.loss_above.term}")
        if self.loss_below is not None:
            parts.append(f"{self.loss_below.term}{_yuan_words(self.loss_below.amount)}")
        return "、".join(parts)

    @cached_property
    def months_words(self) -> str:
        low = f"{self.months_from}个月{self.months_from_term}"
        high = (f"{self.months_to_term}{self.months_to}个月" if self.months_to_term == "不满"
                else f"{self.months_to}个月{self.months_to_term}")
        return f"{low}、{high}"


def _yuan_words(amount: Decimal) -> str:
    if amount % 10000 == 0:
        return f"{int(amount // 10000)}万元"
    return f"{amount}元"


@dataclass(frozen=True)
class ListingRule:
    article: str
    measure: str = "joint_punishment_listing"


@dataclass(frozen=True)
class Category:
    """A kind of practitioner violation in an agreement and what it brings (第八条第二、三项：按照协议约定执行)."""

    id: str
    title: str
    article: str
    points: range | None = None  # the band a violation of this category is scored in
    service_suspension: range | None = None  # months of 中止医保医药服务 the agreement allows
    qualification_revoked: bool = False
    handlings: tuple[str, ...] | None = None  # the handlings the category applies to; None: any

    @property
    def points_words(self) -> str:
        return f"{self.points[0]}至{self.points[-1]}分" if self.points else "不记分"


@dataclass(frozen=True)
class PointRule:
    """The 医保发〔2024〕23号 point model: points add up per natural year of determination."""

    suspend_at: int
    terminate_at: int
    suspension_months: tuple[tuple[int, int], ...]  # (points reached, months of suspension for the year)
    bar_years_cumulative: int
    bar_years_single: int
    suspend_article: str
    terminate_article: str
    single_article: str
    # cited when staff record a re-registration after the bar (重新登记备案)
    reregistration_article: str = "期满后重新登记备案"

    def months_for(self, points: int) -> int | None:
        """Suspension months for a year's total below terminate_at; None below suspend_at."""
        months = None
        for threshold, m in self.suspension_months:
            if points >= threshold:
                months = m
        return months


@dataclass(frozen=True)
class Agreement:
    categories: tuple[Category, ...] = ()
    points: PointRule | None = None
    criminal_fraud_article: str | None = None  # 第八条第四项：因欺诈骗保被刑事处罚，按照协议约定取消资格

    def category(self, category_id: str) -> Category | None:
        return next((c for c in self.categories if c.id == category_id), None)


CREDIT, AGREEMENT = "credit", "agreement"  # and EVALUATION (domain.evaluation)


@dataclass(frozen=True)
class RuleSet:
    id: str
    title: str
    document: str
    regions: tuple[str, ...]
    effective_from: date
    effective_until: date | None
    after_expiry: str  # "continue" | "stop"
    tiers: tuple[Tier, ...]
    default_months: str = "minimum"
    insured_criminal_fraud: ListingRule | None = None
    practitioner_criminal_fraud: ListingRule | None = None
    lenient_clean_years: int = 2
    lenient_article: str = "第九条第一项"
    procedure: Procedure = Procedure()
    source_file: str = ""
    agreement: Agreement | None = None  # set only in agreement rule sets (practitioners, 第八条)
    evaluation: EvaluationModel | None = None  # set only in evaluation rule sets (信用评价)

    @property
    def kind(self) -> str:
        if self.agreement is not None:
            return AGREEMENT
        return EVALUATION if self.evaluation is not None else CREDIT

    def tier_for(self, loss: Decimal) -> Tier | None:
        for tier in self.tiers:
            if tier.contains(loss):
                return tier
        return None

    def default_months_for(self, tier: Tier) -> int:
        allowed = tier.allowed_months
        return allowed[0] if self.default_months == "minimum" else allowed[-1]

    def covers_region(self, region: str) -> int:
        """Length of the longest matching region prefix; 0 if the set does not cover the region."""
        return max((len(p) for p in self.regions if region.startswith(p)), default=0)

    def in_force_on(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_until is None or day <= self.effective_until)

    def citation(self, article: str) -> str:
        return f"《{self.title}》（{self.document}）{article}"


@dataclass(frozen=True)
class Selection:
    rule_set: RuleSet
    past_expiry: bool = False


@dataclass(frozen=True)
class RuleBook:
    """Every rule set the service knows, to pick the one in force by date and region."""

    rule_sets: tuple[RuleSet, ...] = field(default_factory=tuple)
    _selections: dict = field(default_factory=dict, compare=False, hash=False, repr=False)
    # Answers that depend on nothing but these rules and a day (domain.status: a clean subject's status).
    memo: dict = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)

    def select(self, region: str, day: date, kind: str = CREDIT) -> Selection | None:
        """The rule set of `kind` (credit rules, or a practitioners' agreement) for a region on a day
        (memoised: a bulk import asks the same few questions)."""
        key = (region, day, kind)
        if key not in self._selections:
            self._selections[key] = self._select(region, day, kind)
        return self._selections[key]

    def _select(self, region: str, day: date, kind: str) -> Selection | None:
        covering = [rs for rs in self.rule_sets if rs.kind == kind and rs.covers_region(region)]
        if not covering:
            return None
        in_force = [rs for rs in covering if rs.in_force_on(day)]
        if in_force:
            return Selection(max(in_force, key=lambda rs: (rs.covers_region(region), rs.effective_from)))
        expired = [rs for rs in covering if rs.effective_until is not None and rs.effective_until < day]
        if not expired:
            return None  # the day is before any rule set for this region took effect
        latest = max(expired, key=lambda rs: (rs.effective_until, rs.covers_region(region)))
        if latest.after_expiry == "continue":
            return Selection(latest, past_expiry=True)
        return None

    def get(self, rule_set_id: str) -> RuleSet | None:
        return next((rs for rs in self.rule_sets if rs.id == rule_set_id), None)
