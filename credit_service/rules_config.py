"""Reads config/rules/*.toml into a RuleBook. A malformed file stops start-up, naming file and key."""
from __future__ import annotations

import tomllib
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

from .domain.evaluation import INSPECTION_LEVELS, UNLOCKS, EvaluationModel, Grade, MeasureRule
from .domain.kinds import MEASURE_KINDS
from .domain.procedure import Procedure
from .domain.rules import (INCLUSIVE_LOWER, INCLUSIVE_UPPER, Agreement, Bound, Category, ListingRule,
                           PointRule, RuleBook, RuleSet, Tier)


class RuleConfigError(ValueError):
    def __init__(self, path: Path, key: str, problem: str):
        self.path, self.key, self.problem = path, key, problem
        super().__init__(f"{path}: {key}: {problem}")


def load_rule_book(directory: Path) -> RuleBook:
    rule_sets = [load_rule_set(p) for p in sorted(directory.glob("*.toml")) if not p.name.startswith(("_", "."))]
    seen: dict[str, Path] = {}
    for rs in rule_sets:
        if rs.id in seen:
            raise RuleConfigError(Path(rs.source_file), "id", f"duplicate rule set id, also in {seen[rs.id]}")
        seen[rs.id] = Path(rs.source_file)
    return RuleBook(tuple(rule_sets))


def load_rule_set(path: Path) -> RuleSet:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise RuleConfigError(path, "(file)", f"not valid TOML: {exc}") from exc
    r = _Reader(path, data)
    effective_from = r.get("effective_from", date)
    effective_until = r.get("effective_until", date, required=False)
    if effective_until is not None and effective_until < effective_from:
        raise RuleConfigError(path, "effective_until", "is before effective_from")
    after_expiry = r.get("after_expiry", str)
    if after_expiry not in ("continue", "stop"):
        raise RuleConfigError(path, "after_expiry", 'must be "continue" or "stop"')
    regions = r.get("regions", list)
    if not regions or not all(isinstance(x, str) and x.isdigit() and 1 <= len(x) <= 6 for x in regions):
        raise RuleConfigError(path, "regions", "must be a non-empty list of region-code prefixes (digits)")

    agreement = _agreement(r.table("agreement", required=False))
    if agreement is not None:
        for other in ("insured", "practitioner", "incentives", "procedure", "evaluation"):
            if other in data:
                raise RuleConfigError(path, other, "an agreement rule set holds only [agreement]; "
                                                   "put credit rules in their own file")
    evaluation = _evaluation(r.table("evaluation", required=False))
    if evaluation is not None:
        for other in ("insured", "practitioner", "incentives", "procedure"):
            if other in data:
                raise RuleConfigError(path, other, "an evaluation rule set holds only [evaluation]; "
                                                   "put credit rules in their own file")
        if any(len(prefix) != 2 for prefix in regions):
            raise RuleConfigError(path, "regions", "an evaluation model applies to a whole province (第四条 统一的"
                                                   "标准, 第五条 结果互认): give 2-digit province prefixes, e.g. [\"37\"]")

    insured = r.table("insured", required=False)
    tiers: list[Tier] = []
    default_months = "minimum"
    insured_listing = None
    if insured is not None:
        if insured.get("aggregation", str) != "natural_year_sum":
            raise RuleConfigError(path, "insured.aggregation", 'only "natural_year_sum" is supported')
        default_months = insured.get("default_months", str)
        if default_months not in ("minimum", "maximum"):
            raise RuleConfigError(path, "insured.default_months", 'must be "minimum" or "maximum"')
        for i, raw in enumerate(insured.get("tiers", list)):
            tiers.append(_tier(_Reader(path, raw, f"insured.tiers[{i}]")))
        _check_tiers(path, tiers)
        insured_listing = _listing(insured.table("criminal_fraud", required=False))
    practitioner = r.table("practitioner", required=False)
    practitioner_listing = _listing(practitioner.table("criminal_fraud", required=False)) if practitioner else None
    incentives = r.table("incentives", required=False)
    lenient = incentives.table("lenient_acceptance", required=False) if incentives else None
    procedure = _procedure(r.table("procedure", required=False))

    return RuleSet(
        id=r.get("id", str), title=r.get("title", str), document=r.get("document", str),
        regions=tuple(regions), effective_from=effective_from, effective_until=effective_until,
        after_expiry=after_expiry, tiers=tuple(tiers), default_months=default_months,
        insured_criminal_fraud=insured_listing, practitioner_criminal_fraud=practitioner_listing,
        lenient_clean_years=lenient.get("clean_years", int) if lenient else 2,
        lenient_article=lenient.get("article", str) if lenient else "第九条第一项",
        procedure=procedure,
        source_file=str(path), agreement=agreement, evaluation=evaluation)


def _evaluation(r: "_Reader | None") -> EvaluationModel | None:
    """[evaluation]: the credit evaluation model (信用评价积分, 信用等级; domain/evaluation.py)."""
    if r is None:
        return None
    base, floor = r.get("base", int), r.get("floor", int)
    if not 0 <= floor < base:
        raise RuleConfigError(r.path, f"{r.prefix}.floor", f"must be 0 or more and below base ({base})")
    window = r.get("window_years", int)
    if not 0 <= window <= 10:
        raise RuleConfigError(r.path, f"{r.prefix}.window_years", "must be 0..10 years")

    def deduction(table: "_Reader", key: str = "deduct") -> int:
        value = table.get(key, int)
        if value < 0:  # a violation must never raise a score
            raise RuleConfigError(r.path, f"{table.prefix}.{key}", "must be 0 or more (a deduction)")
        return value

    record, unrepaired, points = r.table("record"), r.table("unrepaired"), r.table("points")
    rules: list[MeasureRule] = []
    for i, raw in enumerate(r.get("measures", list)):
        key = f"{r.prefix}.measures[{i}]"
        if not isinstance(raw, dict):
            raise RuleConfigError(r.path, key, "must be a table { kind, article?, deduct }")
        m = _Reader(r.path, raw, key)
        kind = m.get("kind", str)
        if kind not in MEASURE_KINDS:
            raise RuleConfigError(r.path, f"{key}.kind", f"unknown measure kind {kind!r}; known: {', '.join(MEASURE_KINDS)}")
        rule = MeasureRule(kind, m.get("article", str, required=False), deduction(m))
        if any((x.kind, x.article) == (rule.kind, rule.article) for x in rules):
            raise RuleConfigError(r.path, key, f"a second rule for {kind} {rule.article or '(any article)'}")
        rules.append(rule)
    missing = [k for k in MEASURE_KINDS if not any(x.kind == k and x.article is None for x in rules)]
    if missing:  # fail closed: a measure under an article no rule names must still count
        raise RuleConfigError(r.path, f"{r.prefix}.measures", "needs a rule without `article` (the default) for "
                                                              f"every measure kind; missing: {', '.join(missing)}")
    grades: list[Grade] = []
    for i, raw in enumerate(r.get("grades", list)):
        key = f"{r.prefix}.grades[{i}]"
        if not isinstance(raw, dict):
            raise RuleConfigError(r.path, key, "must be a table")
        g = _Reader(r.path, raw, key)
        unlocks = g.get("unlocks", list)
        unknown = [u for u in unlocks if u not in UNLOCKS]
        if unknown:
            raise RuleConfigError(r.path, f"{key}.unlocks", f"unknown {unknown}; known: {', '.join(UNLOCKS)}")
        inspection = g.get("inspection", str)
        if inspection not in INSPECTION_LEVELS:
            raise RuleConfigError(r.path, f"{key}.inspection", f"must be one of {', '.join(INSPECTION_LEVELS)}")
        grades.append(Grade(g.get("grade", str), g.get("title", str), g.get("min_score", int), frozenset(unlocks),
                            inspection, g.get("inspection_words", str)))
    if not grades:
        raise RuleConfigError(r.path, f"{r.prefix}.grades", "must list at least one grade")
    if len({g.grade for g in grades}) != len(grades):
        raise RuleConfigError(r.path, f"{r.prefix}.grades", "grade names must be unique")
    if any(b.min_score >= a.min_score for a, b in zip(grades, grades[1:])):
        raise RuleConfigError(r.path, f"{r.prefix}.grades", "must be listed from the highest min_score down")
    if grades[0].min_score > base:
        raise RuleConfigError(r.path, f"{r.prefix}.grades[0].min_score",
                              f"the top grade must include the base score {base}: a subject never recorded "
                              "has the top grade")
    if grades[-1].min_score > floor:
        raise RuleConfigError(r.path, f"{r.prefix}.grades[{len(grades) - 1}].min_score",
                              f"the lowest grade must reach down to floor ({floor}): every score has a grade")
    listed = r.get("listed_grade", str)
    if listed not in {g.grade for g in grades}:
        raise RuleConfigError(r.path, f"{r.prefix}.listed_grade", f"{listed!r} is not one of the grades")
    return EvaluationModel(
        base=base, floor=floor, window_years=window,
        record_deduct=deduction(record), record_article=record.get("article", str),
        measure_rules=tuple(rules),
        unrepaired_deduct=deduction(unrepaired), unrepaired_article=unrepaired.get("article", str),
        point_deduct=deduction(points, "deduct_per_point"), points_article=points.get("article", str),
        listed_grade=listed, grades=tuple(grades))


_CATEGORY_ID = "abcdefghijklmnopqrstuvwxyz0123456789_"


def _agreement(r: "_Reader | None") -> Agreement | None:
    """[agreement]: a region's service agreement for physicians and pharmacists (第八条第二至四项)."""
    if r is None:
        return None
    points = _point_rule(r.table("points", required=False))
    categories: list[Category] = []
    for i, raw in enumerate(r.get("categories", list)):
        c = _Reader(r.path, raw, f"{r.prefix}.categories[{i}]") if isinstance(raw, dict) else None
        if c is None:
            raise RuleConfigError(r.path, f"{r.prefix}.categories[{i}]", "must be a table")
        category = Category(
            id=c.get("id", str), title=c.get("title", str), article=c.get("article", str),
            points=_int_range(c, "points", 1), service_suspension=_int_range(c, "service_suspension", 1),
            qualification_revoked=bool(c.get("qualification_revoked", bool, required=False)),
            handlings=_handlings(c))
        if not category.id or set(category.id) - set(_CATEGORY_ID):
            raise RuleConfigError(r.path, f"{c.prefix}.id", "must be lower-case letters, digits or _")
        if any(seen.id == category.id for seen in categories):
            raise RuleConfigError(r.path, f"{c.prefix}.id", f"duplicate category {category.id!r}")
        if category.points and points is None:
            raise RuleConfigError(r.path, f"{c.prefix}.points", "the agreement has no [agreement.points] model")
        if not (category.points or category.service_suspension or category.qualification_revoked):
            raise RuleConfigError(r.path, c.prefix, "gives no points, no service_suspension and no "
                                                    "qualification_revoked: it would change nothing")
        categories.append(category)
    if not categories:
        raise RuleConfigError(r.path, f"{r.prefix}.categories", "must list at least one category")
    fraud = r.table("criminal_fraud", required=False)
    fraud_article = None
    if fraud is not None:
        if fraud.get("measure", str) != "qualification_revoked":
            raise RuleConfigError(r.path, f"{fraud.prefix}.measure", 'only "qualification_revoked"')
        fraud_article = fraud.get("article", str)
    return Agreement(categories=tuple(categories), points=points, criminal_fraud_article=fraud_article)


_HANDLINGS = ("agreement", "administrative", "criminal")


def _handlings(c: "_Reader") -> tuple[str, ...] | None:
    """Art. 8 item 2 is about 协议处理, item 3 about 行政处罚 of the institution: a category may be limited."""
    values = c.get("handlings", list, required=False)
    if values is None:
        return None
    if not values or not all(v in _HANDLINGS for v in values):
        raise RuleConfigError(c.path, f"{c.prefix}.handlings", f"must be a non-empty list of {'/'.join(_HANDLINGS)}")
    return tuple(values)


def _point_rule(r: "_Reader | None") -> PointRule | None:
    if r is None:
        return None
    if r.get("reset", str) != "natural_year":
        raise RuleConfigError(r.path, f"{r.prefix}.reset", 'only "natural_year" (记分以自然年度累计) is supported')
    suspend_at, terminate_at = r.get("suspend_at", int), r.get("terminate_at", int)
    if not 0 < suspend_at < terminate_at:
        raise RuleConfigError(r.path, f"{r.prefix}.suspend_at", "must be above 0 and below terminate_at")
    longest = r.get("suspension_months_max", int)
    table: list[tuple[int, int]] = []
    for i, raw in enumerate(r.get("suspension", list)):
        key = f"{r.prefix}.suspension[{i}]"
        if not isinstance(raw, dict):
            raise RuleConfigError(r.path, key, "must be a table { points = N, months = M }")
        row = _Reader(r.path, raw, key)
        table.append((row.get("points", int), row.get("months", int)))
        if not 1 <= table[-1][1] <= longest:
            raise RuleConfigError(r.path, f"{key}.months", f"must be within 1 to {longest} "
                                                           "(suspension_months_max)")
    wanted = list(range(suspend_at, terminate_at))
    if [p for p, _ in table] != wanted:
        raise RuleConfigError(r.path, f"{r.prefix}.suspension",
                              f"must give the months for each of {wanted} points, in that order")
    if any(b[1] < a[1] for a, b in zip(table, table[1:])):
        raise RuleConfigError(r.path, f"{r.prefix}.suspension", "more points must not suspend for fewer months")
    bars = [r.get(k, int) for k in ("bar_years_cumulative", "bar_years_single")]
    for key, years in zip(("bar_years_cumulative", "bar_years_single"), bars):
        if years < 0:
            raise RuleConfigError(r.path, f"{r.prefix}.{key}", "must be 0 or more years")
    return PointRule(suspend_at=suspend_at, terminate_at=terminate_at, suspension_months=tuple(table),
                     bar_years_cumulative=bars[0], bar_years_single=bars[1],
                     suspend_article=r.get("suspend_article", str),
                     terminate_article=r.get("terminate_article", str),
                     single_article=r.get("single_article", str),
                     **({"reregistration_article": again} if (again := r.get("reregistration_article", str,
                                                                               required=False)) else {}))


def _int_range(r: "_Reader", key: str, lowest: int) -> range | None:
    """`key = { from = A, to = B }`, both included."""
    table = r.table(key, required=False)
    if table is None:
        return None
    low, high = table.get("from", int), table.get("to", int)
    if low < lowest or high < low:
        raise RuleConfigError(r.path, f"{table.prefix}", f"must have {lowest} <= from <= to, got {low} to {high}")
    return range(low, high + 1)


def _tier(r: "_Reader") -> Tier:
    above = _bound(r, "loss_above", INCLUSIVE_LOWER)
    below = _bound(r, "loss_below", INCLUSIVE_UPPER, required=False)
    months_from = r.table("months_from")
    months_to = r.table("months_to")
    tier = Tier(
        article=r.get("article", str), loss_above=above, loss_below=below,
        months_from=months_from.get("months", int), months_from_term=months_from.get("term", str),
        months_to=months_to.get("months", int), months_to_term=months_to.get("term", str))
    if tier.months_from_term not in INCLUSIVE_LOWER:
        raise RuleConfigError(r.path, f"{r.prefix}.months_from.term", "must be 以上 or 超过 (第十三条)")
    if tier.months_to_term not in INCLUSIVE_UPPER:
        raise RuleConfigError(r.path, f"{r.prefix}.months_to.term", "must be 以下 or 不满 (第十三条)")
    if not tier.allowed_months or tier.allowed_months[0] < 1:
        raise RuleConfigError(r.path, f"{r.prefix}.months_from", "the band allows no whole month >= 1")
    return tier


def _bound(r: "_Reader", key: str, terms: dict, required: bool = True) -> Bound | None:
    table = r.table(key, required=required)
    if table is None:
        return None
    term = table.get("term", str)
    if term not in terms:
        raise RuleConfigError(r.path, f"{table.prefix}.term", f"must be one of {'/'.join(terms)} (第十三条)")
    raw = table.get("amount", str)
    try:
        amount = Decimal(raw)
    except InvalidOperation:
        raise RuleConfigError(r.path, f"{table.prefix}.amount", f"not a decimal amount: {raw!r}") from None
    if not amount.is_finite() or amount < 0:
        raise RuleConfigError(r.path, f"{table.prefix}.amount", f"must be a finite amount >= 0, got {raw!r}")
    return Bound(amount, term)


def _check_tiers(path: Path, tiers: list[Tier]) -> None:
    """Tiers must be in ascending order and leave no gap or overlap between neighbours."""
    for i, tier in enumerate(tiers):
        if tier.loss_below is not None and tier.loss_below.amount <= tier.loss_above.amount:
            raise RuleConfigError(path, f"insured.tiers[{i}].loss_below",
                                  f"{tier.loss_below.amount} is not above loss_above {tier.loss_above.amount}")
    for i, (low, high) in enumerate(zip(tiers, tiers[1:]), start=1):
        edge = low.loss_below
        if edge is None or edge.amount != high.loss_above.amount or edge.inclusive == high.loss_above.inclusive:
            raise RuleConfigError(path, f"insured.tiers[{i}].loss_above",
                                  "must start exactly where the previous tier's loss_below ends "
                                  "(不满 X followed by X以上, or X以下 followed by 超过 X)")
    if tiers and tiers[-1].loss_below is not None:
        raise RuleConfigError(path, f"insured.tiers[{len(tiers) - 1}].loss_below",
                              "the highest tier must be open-ended")


def _procedure(table: "_Reader | None") -> Procedure:
    if table is None:
        return Procedure()
    values = {}
    for key in ("objection_working_days", "review_working_days", "repair_reply_working_days"):
        days = table.get(key, int)
        if not 1 <= days <= 90:
            raise RuleConfigError(table.path, f"{table.prefix}.{key}", f"must be 1..90 working days, got {days}")
        values[key] = days
    pauses = table.get("objection_pauses_measure", bool)
    if pauses:
        raise RuleConfigError(table.path, f"{table.prefix}.objection_pauses_measure",
                              "true is not supported yet: an objection does not pause the measure (第十条)")
    return Procedure(**values, objection_pauses_measure=pauses)


def _listing(table: "_Reader | None") -> ListingRule | None:
    if table is None:
        return None
    measure = table.get("measure", str)
    if measure != "joint_punishment_listing":
        raise RuleConfigError(table.path, f"{table.prefix}.measure", 'only "joint_punishment_listing"')
    return ListingRule(article=table.get("article", str), measure=measure)


class _Reader:
    def __init__(self, path: Path, data: dict, prefix: str = ""):
        self.path, self.data, self.prefix = path, data, prefix

    def _key(self, key: str) -> str:
        return f"{self.prefix}.{key}" if self.prefix else key

    def get(self, key: str, kind: type, required: bool = True):
        if key not in self.data:
            if required:
                raise RuleConfigError(self.path, self._key(key), "is missing")
            return None
        value = self.data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)) or (
                kind is date and hasattr(value, "hour")):
            raise RuleConfigError(self.path, self._key(key),
                                  f"must be a {kind.__name__}, got {type(value).__name__} {value!r}")
        return value

    def table(self, key: str, required: bool = True) -> "_Reader | None":
        value = self.get(key, dict, required=required)
        return None if value is None else _Reader(self.path, value, self._key(key))
