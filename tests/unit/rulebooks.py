"""Shared helpers for the unit tests: the shipped rule book, variants of it, violation builders.

Variants are built with dataclasses.replace from the shipped rule set so that a test changes only
what it means to change (ids, effective periods, month bands).
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path

from credit_service.domain.decisions import (SETTLEMENT_SUSPENSION, Decision, ViolationFacts,
                                             YearPosition)
from credit_service.domain.rules import RuleBook, RuleSet, Tier
from credit_service.rules_config import load_rule_book

PROJECT_ROOT = Path(__file__).resolve().parents[2]
RULES_DIR = PROJECT_ROOT / "config" / "rules"
SHIPPED_ID = "shandong-2024-trial"
D = date.fromisoformat
Y = Decimal

JINAN = "370100"


def shipped_book() -> RuleBook:
    return load_rule_book(RULES_DIR)


SHIPPED_BOOK = shipped_book()
SHIPPED = SHIPPED_BOOK.get(SHIPPED_ID)
assert SHIPPED is not None, "the shipped rule set must be in config/rules/"


def with_month_bands(rs: RuleSet, bands: list[tuple[int, str, int, str]]) -> RuleSet:
    """A copy of `rs` whose tiers keep their loss bands but get the given month bands."""
    tiers = tuple(replace(t, months_from=a, months_from_term=at, months_to=b, months_to_term=bt)
                  for t, (a, at, b, bt) in zip(rs.tiers, bands, strict=True))
    return replace(rs, tiers=tiers)


# Heavier than the shipped set by one month at each end of every band.
HEAVIER_BANDS = [(4, "以上", 7, "不满"), (7, "以上", 10, "不满"), (10, "以上", 12, "以下")]
# Lighter: 1–2, 4–5, 7–8 months.
LIGHTER_BANDS = [(1, "以上", 2, "以下"), (4, "以上", 5, "以下"), (7, "以上", 8, "以下")]


def successor_book(bands, effective_from: date = D("2025-01-01"), new_id: str = "shandong-2025-revised",
                   effective_until: date | None = None) -> tuple[RuleBook, RuleSet]:
    """The shipped set plus a successor for the same regions that takes effect on `effective_from`."""
    successor = replace(with_month_bands(SHIPPED, bands), id=new_id, document="鲁医保发〔2025〕99号",
                        effective_from=effective_from, effective_until=effective_until)
    return RuleBook((SHIPPED, successor)), successor


def insured(determined_on: str, loss: str, *, occurred_on: str | None = None, region: str = JINAN,
            handling: str = "administrative", fraud: bool = False,
            months_override: int | None = None, subject_type: str = "insured") -> ViolationFacts:
    return ViolationFacts(subject_type=subject_type, region=region,
                          occurred_on=D(occurred_on) if occurred_on else D(determined_on),
                          determined_on=D(determined_on), fund_loss=Y(loss), handling=handling,
                          fraud=fraud, months_override=months_override)


def advance(position: YearPosition, violation: ViolationFacts, decision: Decision) -> YearPosition:
    """What the record holds after `decision` is stored (same record year)."""
    months = sum(m.months or 0 for m in decision.measures if m.kind == SETTLEMENT_SUSPENSION)
    until = position.suspended_until
    for m in decision.measures:
        if m.kind == SETTLEMENT_SUSPENSION and (until is None or m.restores_on > until):
            until = m.restores_on
    listed = position.listed or any(m.kind != SETTLEMENT_SUSPENSION for m in decision.measures)
    return YearPosition(total_loss=position.total_loss + violation.fund_loss,
                        months_imposed=position.months_imposed + months,
                        suspended_until=until, listed=listed)


def new_year(position: YearPosition) -> YearPosition:
    """The position at the start of the next record year: sums reset, running suspensions kept."""
    return YearPosition(suspended_until=position.suspended_until, listed=position.listed)


def suspensions(decision: Decision):
    return [m for m in decision.measures if m.kind == SETTLEMENT_SUSPENSION]


def tier_by_article(rs: RuleSet, article: str) -> Tier:
    return next(t for t in rs.tiers if t.article == article)
