"""Properties of decide() over many inputs: 鲁医保发〔2024〕25号 第七条 (one natural year is one record
period), 第九条第二至四项 (bands), 第十三条 (boundaries), and status_on() agreeing with the measures.

The YearPosition is kept here as the ledger would keep it (see rulebooks.advance).
"""
from __future__ import annotations

import pytest

from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from credit_service.domain.decisions import SETTLEMENT_SUSPENSION, YearPosition, decide
from credit_service.domain.status import MeasureFact, SubjectFacts, status_on

from .rulebooks import SHIPPED, SHIPPED_BOOK, advance, insured

PROPERTY = settings(database=None, deadline=None, max_examples=200)

# Amounts at and next to every band edge are drawn often; the rest are uniform in cents.
EDGES = [Decimal(x) for x in ("0.00", "0.01", "99999.99", "100000.00", "100000.01", "199999.99",
                              "200000.00", "200000.01", "400000.00")]
LOSS = st.one_of(st.sampled_from(EDGES), st.integers(0, 40_000_000).map(lambda c: Decimal(c).scaleb(-2)))
# Hand-written bands of 第九条: (lowest loss, lowest months, highest months).
BANDS = [(Decimal("200000.00"), 9, 12), (Decimal("100000.00"), 6, 8), (Decimal("0.01"), 3, 5)]


def band(total: Decimal) -> tuple[int, int]:
    """(minimum, maximum) months for a year's total, straight from the text; (0, 0) for no loss."""
    for lowest, low, high in BANDS:
        if total >= lowest:
            return low, high
    return 0, 0


def min_months(loss: Decimal) -> int:
    tier = SHIPPED.tier_for(loss)
    return SHIPPED.default_months_for(tier) if tier else 0


@given(a=LOSS, b=LOSS)
@PROPERTY
@pytest.mark.article("第九条")
@pytest.mark.article("第十三条")
def test_art9_art13_tier_is_monotone_in_loss(a, b):
    low, high = sorted((a, b))
    tiers = list(SHIPPED.tiers)
    index = lambda loss: tiers.index(SHIPPED.tier_for(loss)) if SHIPPED.tier_for(loss) else -1  # noqa: E731
    assert index(low) <= index(high)
    assert min_months(low) <= min_months(high)


@given(loss=LOSS)
@PROPERTY
@pytest.mark.article("第九条")
@pytest.mark.article("第十三条")
def test_art9_art13_tier_matches_the_text(loss):
    tier = SHIPPED.tier_for(loss)
    low, high = band(loss)
    if low == 0:
        assert tier is None
    else:
        assert (tier.allowed_months[0], tier.allowed_months[-1]) == (low, high)


YEAR = 2025
VIOLATIONS = st.lists(st.tuples(LOSS, st.integers(0, 364)), min_size=1, max_size=6).map(
    lambda xs: sorted(xs, key=lambda x: x[1]))


def feed(violations):
    position = YearPosition()
    produced = []
    for loss, offset in violations:
        day = date(YEAR, 1, 1) + timedelta(days=offset)
        v = replace(insured(day.isoformat(), "0"), fund_loss=loss)
        decision = decide(v, position, SHIPPED_BOOK)
        assert decision.year_total == position.total_loss + loss
        produced.append((v, decision, position))
        position = advance(position, v, decision)
    return produced, position


@given(violations=VIOLATIONS)
@PROPERTY
@pytest.mark.article("第七条")
@pytest.mark.article("第九条")
def test_art7_art9_year_months_stay_in_band_and_end_at_its_minimum(violations):
    produced, final = feed(violations)
    running = 0
    for v, decision, before in produced:
        running += sum(m.months for m in decision.measures if m.kind == SETTLEMENT_SUSPENSION)
        low, high = band(before.total_loss + v.fund_loss)
        assert running <= high
        assert running == low  # defaults are band minimums and totals only grow
    total = sum((loss for loss, _ in violations), Decimal("0.00"))
    assert final.total_loss == total
    assert final.months_imposed == running == band(total)[0]
    assert (final.months_imposed > 0) is (total > 0)


@given(violations=VIOLATIONS, probe=st.integers(0, 400))
@PROPERTY
@pytest.mark.article("第九条")
def test_art9_suspensions_never_overlap_and_status_blocks_every_day_inside(violations, probe):
    produced, final = feed(violations)
    measures = [(v, m) for v, d, _ in produced for m in d.measures]
    assert all(m.kind == SETTLEMENT_SUSPENSION for _, m in measures)
    for v, m in measures:
        assert m.starts_on >= v.determined_on
        assert m.months >= 1 and m.restores_on > m.starts_on
    ordered = sorted((m for _, m in measures), key=lambda m: m.starts_on)
    for earlier, later in zip(ordered, ordered[1:]):
        assert later.starts_on >= earlier.restores_on
    facts = SubjectFacts(measures=tuple(
        MeasureFact(measure_id=str(i), kind=m.kind, region="370100", starts_on=m.starts_on,
                    restores_on=m.restores_on) for i, m in enumerate(ordered)))
    for m in ordered:
        inside = [m.starts_on, m.restores_on - timedelta(days=1),
                  m.starts_on + timedelta(days=probe % (m.restores_on - m.starts_on).days)]
        for day in inside:
            status = status_on("insured", facts, day)
            assert not status.settlement_allowed, (day, m)
            assert status.restrictions
    if ordered:
        free = max(m.restores_on for m in ordered)
        assert final.suspended_until == free
        assert status_on("insured", facts, free).settlement_allowed
        assert status_on("insured", facts, ordered[0].starts_on - timedelta(days=1)).settlement_allowed


@given(violations=VIOLATIONS, data=st.data())
@PROPERTY
@pytest.mark.article("第九条")
def test_art9_staff_overrides_within_band_set_the_year_months_exactly(violations, data):
    position = YearPosition()
    for loss, offset in violations:
        day = date(YEAR, 1, 1) + timedelta(days=offset)
        total = position.total_loss + loss
        low, high = band(total)
        override = None
        if low and max(low, position.months_imposed) <= high:
            override = data.draw(st.integers(max(low, position.months_imposed), high), label="override")
        v = replace(insured(day.isoformat(), "0", months_override=override), fund_loss=loss)
        decision = decide(v, position, SHIPPED_BOOK)
        new = advance(position, v, decision)
        assert new.months_imposed == (override if override is not None else max(low, position.months_imposed))
        assert new.months_imposed <= high
        for m in decision.measures:
            assert position.suspended_until is None or m.starts_on >= position.suspended_until
        position = new
