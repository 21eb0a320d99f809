"""Credit evaluation (信用评价积分 and 信用等级): a score per subject per day from the facts on record.

Tai'an's notice has every level act "根据医保医(药)师和参保人医保信用评价积分情况"; Weihai's 2024 plan asks for
信用分级分类管理 with incentives for the trustworthy and 医保信用支付. The model is rule data (`[evaluation]`
in config/rules/): a base score, deductions for each fact (a record year, a measure in force, a measure
ended without repair, a practitioner's points), grade bands and what each grade unlocks or triggers.

Pure: the facts are those of the status index (domain.status.SubjectFacts), the day is an argument.
Every deduction is a non-negative number, so a violation — which only ever adds facts — never raises a
score, and a subject never recorded has the base score and so the top grade (checked when the file is
read). One model applies to the whole province: 第四条 asks for one standard, and 第五条 has every pooling
region recognise the results, so a grade must mean the same everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Iterator

from .kinds import measure_words

if TYPE_CHECKING:  # the status types only describe what is passed in
    from .rules import RuleBook, Selection
    from .status import MeasureFact, SubjectFacts

PROVINCE = "370000"  # the region the province's model is selected for (rule sets name prefixes, e.g. "37")
EVALUATION = "evaluation"  # the kind of rule set holding an `[evaluation]` table
LENIENT_ACCEPTANCE = "lenient_acceptance"
CREDIT_PAYMENT = "credit_payment"
UNLOCKS = {LENIENT_ACCEPTANCE: "医保经办容缺受理（第九条第一项）", CREDIT_PAYMENT: "医保信用支付（先诊疗后付费）"}
INSPECTION_LEVELS = ("reduced", "routine", "increased", "intensive")
LISTING = "joint_punishment_listing"


@dataclass(frozen=True)
class Grade:
    grade: str  # "A"
    title: str  # "守信"
    min_score: int
    unlocks: frozenset[str] = frozenset()  # what the grade allows: lenient_acceptance, credit_payment
    inspection: str = "routine"  # practitioners: how often their institution's use of the fund is checked
    inspection_words: str = ""


@dataclass(frozen=True)
class MeasureRule:
    kind: str
    article: str | None  # None: any measure of the kind that no rule names by article
    deduct: int


@dataclass(frozen=True)
class Contribution:
    change: int  # points added to the score (never positive in a valid model)
    reason: str  # in Chinese, for people
    rule_set: str
    article: str


@dataclass(frozen=True)
class EvaluationModel:
    base: int
    floor: int
    window_years: int  # a record year counts in its own year and the `window_years` complete years after it
    record_deduct: int
    record_article: str
    measure_rules: tuple[MeasureRule, ...]
    unrepaired_deduct: int
    unrepaired_article: str
    point_deduct: int  # per point of the current record year (practitioners; reset each 1 January)
    points_article: str
    listed_grade: str  # a listed subject's grade is never above this one
    grades: tuple[Grade, ...]  # from the highest; the lowest one's min_score is at most `floor`
    _by_measure: dict = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)
    _by_score: list = field(default_factory=list, init=False, compare=False, hash=False, repr=False)
    _deduct: dict = field(default_factory=dict, init=False, compare=False, hash=False, repr=False)

    def __post_init__(self):
        for rule in self.measure_rules:
            self._by_measure[(rule.kind, rule.article)] = rule
            self._deduct[(rule.kind, rule.article)] = rule.deduct
        # score → grade, one look-up on the hot path (scores are whole numbers from floor to base)
        self._by_score.extend(next((g for g in self.grades if score >= g.min_score), self.grades[-1])
                              for score in range(self.floor, self.base + 1))

    @property
    def top(self) -> Grade:
        return self.grades[0]

    def measure_rule(self, kind: str, article: str) -> MeasureRule | None:
        by = self._by_measure
        return by.get((kind, article)) or by.get((kind, None))

    def deductions(self, facts: "SubjectFacts", day: date) -> Iterator[tuple[int, str, object]]:
        """(points deducted, what, the fact): 'record' a year, 'measure'/'unrepaired' a MeasureFact,
        'points' a (year, points) pair. The one place the model is applied; the score and the
        explanation are both read from it."""
        year = day.year
        first = year - self.window_years
        if self.record_deduct:
            for y in sorted(facts.record_years):
                if first <= y <= year:
                    yield self.record_deduct, "record", y
        by = self._by_measure
        for m in facts.measures:
            if m.starts_on <= day and (m.restores_on is None or day < m.restores_on):
                rule = by.get((m.kind, m.article)) or by.get((m.kind, None))
                if rule is not None and rule.deduct:
                    yield rule.deduct, "measure", m
            elif m.unrepaired and m.restores_on is not None and m.restores_on <= day and self.unrepaired_deduct:
                yield self.unrepaired_deduct, "unrepaired", m
        for y, points in facts.points:
            if y == year and points and self.point_deduct:
                yield self.point_deduct * points, "points", (y, points)

    def score(self, facts: "SubjectFacts", day: date) -> int:
        """base − the deductions, at least floor. The same sum as deductions() (a property test holds
        them equal), written as one loop: every status answer pays for it."""
        total, year = self.base, day.year
        years = facts.record_years
        if years and self.record_deduct:
            first = year - self.window_years
            for y in years:
                if first <= y <= year:
                    total -= self.record_deduct
        measures = facts.measures
        if measures:
            deduct = self._deduct
            for m in measures:
                restores_on = m.restores_on
                if m.starts_on <= day and (restores_on is None or day < restores_on):
                    amount = deduct.get((m.kind, m.article))
                    total -= deduct.get((m.kind, None), 0) if amount is None else amount
                elif m.unrepaired and restores_on is not None and restores_on <= day:
                    total -= self.unrepaired_deduct
        for y, points in facts.points:
            if y == year:
                total -= self.point_deduct * points
        return total if total > self.floor else self.floor

    def grade_for(self, score: int, listed: bool = False) -> Grade:
        grade = self._by_score[score - self.floor]
        if listed and self._rank(grade.grade) < self._rank(self.listed_grade):
            return next(g for g in self.grades if g.grade == self.listed_grade)
        return grade

    def _rank(self, grade: str) -> int:
        return next(i for i, g in enumerate(self.grades) if g.grade == grade)


def model_on(rules: "RuleBook", day: date) -> "Selection | None":
    """The province's evaluation rule set in force on `day` (None: no model configured)."""
    return rules.select(PROVINCE, day, EVALUATION)


def score_and_grade(rules: "RuleBook", facts: "SubjectFacts", day: date, listed: bool) -> tuple[int, Grade] | None:
    """The hot path's share of the evaluation: a number and a grade, no words."""
    selection = rules.select(PROVINCE, day, EVALUATION)
    if selection is None:
        return None
    model = selection.rule_set.evaluation
    score = model.score(facts, day)
    return score, model.grade_for(score, listed)


@dataclass(frozen=True)
class Evaluation:
    on: date
    score: int
    grade: Grade
    contributions: tuple[Contribution, ...]
    rule_set: str
    document: str
    past_expiry: bool
    base: int
    clean_years: int  # complete natural years without a record just before `on` (at most 10)
    notes: tuple[str, ...] = ()


def evaluate(facts: "SubjectFacts", day: date, selection: "Selection") -> Evaluation:
    """The score with the contribution of each fact, in words."""
    rs = selection.rule_set
    model: EvaluationModel = rs.evaluation
    contributions = tuple(Contribution(-amount, _reason(model, what, fact), rs.id, _article(model, what, fact))
                          for amount, what, fact in model.deductions(facts, day))
    raw = model.base + sum(c.change for c in contributions)
    score = max(model.floor, raw)
    listed = any(m.kind == LISTING and m.starts_on <= day and (m.restores_on is None or day < m.restores_on)
                 for m in facts.measures)
    grade = model.grade_for(score, listed)
    notes = []
    if raw < model.floor:
        notes.append(f"扣分合计超过{model.base - model.floor}分，按最低{model.floor}分计。")
    if grade != model.grade_for(score):
        notes.append(f"已纳入失信联合惩戒对象名单，信用等级不高于{model.listed_grade}级。")
    if selection.past_expiry:
        notes.append(f"（注：{rs.document}有效期至{rs.effective_until.isoformat()}，期满后尚无新规则，按配置继续适用。）")
    clean = 0
    while clean < 10 and (day.year - 1 - clean) not in facts.record_years:
        clean += 1
    return Evaluation(on=day, score=score, grade=grade, contributions=contributions, rule_set=rs.id,
                      document=rs.document, past_expiry=selection.past_expiry, base=model.base, clean_years=clean,
                      notes=tuple(notes))


def _article(model: EvaluationModel, what: str, fact) -> str:
    if what == "record":
        return model.record_article
    if what == "measure":
        return fact.article or model.measure_rule(fact.kind, fact.article).article or fact.kind
    if what == "unrepaired":
        return model.unrepaired_article
    return model.points_article


def _reason(model: EvaluationModel, what: str, fact) -> str:
    if what == "record":
        return (f"{fact}年度有违约违法记录（以自然年度为记录周期），计入{fact}年至{fact + model.window_years}年的评价，"
                f"扣{model.record_deduct}分。")
    if what == "points":
        year, points = fact
        return f"{year}年度累计记分{points}分，每分扣{model.point_deduct}分（次年1月1日清零），扣{points * model.point_deduct}分。"
    m: MeasureFact = fact
    words = measure_words(m.kind)
    article = f"（{m.article}）" if m.article else ""
    if what == "unrepaired":
        return (f"{words}{article}已于{m.restores_on.isoformat()}期满，信用尚未修复（第十二条），"
                f"扣{model.unrepaired_deduct}分，修复后不再扣分。")
    rule = model.measure_rule(m.kind, m.article)
    until = f"至{m.restores_on.isoformat()}恢复" if m.restores_on else "无恢复日期"
    return f"{words}{article}自{m.starts_on.isoformat()}起执行（{until}），执行期间扣{rule.deduct}分。"
