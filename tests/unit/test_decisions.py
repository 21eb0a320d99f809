"""Spec for decide(): 鲁医保发〔2024〕25号 第七条 (natural-year record), 第八条/第九条 (measures),
第十三条 (以上/以下 include the number, 不满/超过 exclude it), 第十五条 (effective period).

Expected dates are counted by hand: a measure of N months starting on S restores on the same day
N calendar months later, clamped to the month's end; it covers S <= day < restores_on.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from credit_service.domain.decisions import (JOINT_PUNISHMENT_LISTING, SETTLEMENT_SUSPENSION,
                                             MonthsBelowImposed, MonthsOutOfRange, YearPosition,
                                             decide)
from credit_service.domain.rules import RuleBook
from credit_service.rules_config import load_rule_book

from .rulebooks import (HEAVIER_BANDS, LIGHTER_BANDS, RULES_DIR, SHIPPED, SHIPPED_BOOK, SHIPPED_ID,
                        D, Y, advance, insured, new_year, successor_book, suspensions,
                        with_month_bands)

EMPTY = YearPosition()
ITEM2, ITEM3, ITEM4 = "第九条第二项", "第九条第三项", "第九条第四项"


def only_suspension(decision):
    found = suspensions(decision)
    assert len(found) == 1, decision
    return found[0]


def run(*violations, book=SHIPPED_BOOK, position=EMPTY):
    """Feed violations of one record year through decide(), keeping the position as the ledger would."""
    decisions = []
    for v in violations:
        decision = decide(v, position, book)
        decisions.append(decision)
        position = advance(position, v, decision)
    return decisions, position


# --- 第九条第二至四项 and 第十三条: the boundaries of each band -------------------------------------

BOUNDARIES = [
    # loss, article, default months, restores_on for a suspension starting 2025-03-15
    pytest.param("0.01", ITEM2, 3, "2025-06-15", id="第九条第二项-0.01-超过0"),
    pytest.param("99999.99", ITEM2, 3, "2025-06-15", id="第九条第二项-99999.99-不满10万元"),
    pytest.param("100000.00", ITEM3, 6, "2025-09-15", id="第九条第三项-100000.00-以上含本数"),
    pytest.param("199999.99", ITEM3, 6, "2025-09-15", id="第九条第三项-199999.99-不满20万元"),
    pytest.param("200000.00", ITEM4, 9, "2025-12-15", id="第九条第四项-200000.00-以上含本数"),
    pytest.param("10000000.00", ITEM4, 9, "2025-12-15", id="第九条第四项-10000000.00-无上限"),
]


@pytest.mark.parametrize(("loss", "article", "months", "restores_on"), BOUNDARIES)
@pytest.mark.article("第九条")
@pytest.mark.article("第十三条")
def test_art9_art13_single_violation_tier_boundaries(loss, article, months, restores_on):
    decision = decide(insured("2025-03-15", loss), EMPTY, SHIPPED_BOOK)
    m = only_suspension(decision)
    assert (m.article, m.months, m.starts_on, m.restores_on) == (article, months, D("2025-03-15"),
                                                                 D(restores_on))
    assert m.rule_set == decision.rule_set == SHIPPED_ID
    assert decision.year_total == Y(loss)
    assert m.past_expiry is False
    assert decision.measures == (m,)  # no listing without criminal fraud


BAND_EDGES = [
    # loss, largest override allowed, smallest refused above it, the range words
    pytest.param("50000.00", 3, 5, 6, "3至5", id="第九条第二项-3个月以上不满6个月"),
    pytest.param("150000.00", 6, 8, 9, "6至8", id="第九条第三项-6个月以上不满9个月"),
    pytest.param("250000.00", 9, 12, 13, "9至12", id="第九条第四项-9个月以上12个月以下"),
]


@pytest.mark.parametrize(("loss", "lowest", "highest", "refused", "words"), BAND_EDGES)
@pytest.mark.article("第九条")
@pytest.mark.article("第十三条")
def test_art9_art13_month_band_edges_for_override(loss, lowest, highest, refused, words):
    for months in (lowest, highest):
        m = only_suspension(decide(insured("2025-03-15", loss, months_override=months), EMPTY, SHIPPED_BOOK))
        assert m.months == months
    for months in (lowest - 1, refused):
        with pytest.raises(MonthsOutOfRange, match=words) as exc:
            decide(insured("2025-03-15", loss, months_override=months), EMPTY, SHIPPED_BOOK)
        assert exc.value.allowed == range(lowest, highest + 1)


@pytest.mark.article("第九条")
def test_art9_zero_loss_no_measure_only_a_note():
    decision = decide(insured("2025-03-15", "0.00"), EMPTY, SHIPPED_BOOK)
    assert decision.measures == ()
    assert decision.rule_set == SHIPPED_ID
    assert len(decision.notes) == 1 and "0.00元" in decision.notes[0] and "仅记录" in decision.notes[0]


@pytest.mark.article("第九条")
def test_art9_zero_loss_after_earlier_loss_adds_nothing():
    position = YearPosition(total_loss=Y("60000.00"), months_imposed=3, suspended_until=D("2025-05-10"))
    decision = decide(insured("2025-03-15", "0.00"), position, SHIPPED_BOOK)
    assert decision.measures == () and decision.year_total == Y("60000.00")
    assert any("60000.00元" in n and "不重复处罚" in n for n in decision.notes)


@pytest.mark.article("第九条")
def test_art9_zero_loss_refuses_a_months_override():
    with pytest.raises(MonthsOutOfRange, match="不得指定暂停月数"):
        decide(insured("2025-03-15", "0.00", months_override=3), EMPTY, SHIPPED_BOOK)


# --- 第七条: one natural year is one record period; losses in it are summed ------------------------

@pytest.mark.article("第七条")
@pytest.mark.article("第九条第三项")
def test_art7_art9_item3_aggregation_within_year_escalates_after_first_ends():
    (first, second), position = run(insured("2025-02-10", "60000.00"), insured("2025-03-01", "50000.00"))
    a = only_suspension(first)
    assert (a.article, a.months, a.starts_on, a.restores_on) == (ITEM2, 3, D("2025-02-10"), D("2025-05-10"))
    b = only_suspension(second)
    # 110000.00 in 2025 → 第九条第三项, 6 months in all: 3 more, from the day the first restores.
    assert (b.article, b.months, b.starts_on, b.restores_on) == (ITEM3, 3, D("2025-05-10"), D("2025-08-10"))
    assert second.year_total == Y("110000.00")
    assert "110000.00元" in b.explanation and "已暂停3个月" in b.explanation and "追加暂停3个月" in b.explanation
    assert position.months_imposed == 6


@pytest.mark.article("第七条")
@pytest.mark.article("第九条第三项")
def test_art7_art9_item3_escalation_after_first_ended_starts_on_determination():
    (_, second), _ = run(insured("2025-02-10", "60000.00"), insured("2025-07-01", "50000.00"))
    b = only_suspension(second)
    assert (b.months, b.starts_on, b.restores_on) == (3, D("2025-07-01"), D("2025-10-01"))


@pytest.mark.article("第七条")
def test_art7_same_band_again_is_not_punished_twice():
    (_, second), position = run(insured("2025-02-10", "30000.00"), insured("2025-03-01", "20000.00"))
    assert second.measures == ()
    assert second.year_total == Y("50000.00")
    assert any("不重复处罚" in n for n in second.notes)
    assert position.months_imposed == 3


@pytest.mark.parametrize(("second_on", "year_total", "expected"), [
    # Same record year 2025: 60000 + 30000 = 90000, still 第九条第二项 → nothing more.
    pytest.param("2025-12-31", "90000.00", None, id="第七条-2025-12-31-同一年度累计"),
    # Record year 2026 starts afresh: 30000 alone → 3 months, after the 2025 suspension restores.
    pytest.param("2026-01-01", "30000.00", ("2026-03-31", "2026-06-30"), id="第七条-2026-01-01-新年度不累计"),
])
@pytest.mark.article("第七条")
def test_art7_aggregation_stops_at_the_year_boundary(second_on, year_total, expected):
    v1 = insured("2025-12-31", "60000.00")
    d1 = decide(v1, EMPTY, SHIPPED_BOOK)
    first = only_suspension(d1)
    assert (first.starts_on, first.restores_on) == (D("2025-12-31"), D("2026-03-31"))
    position = advance(EMPTY, v1, d1)
    v2 = insured(second_on, "30000.00")
    if v2.record_year != v1.record_year:
        position = new_year(position)
    d2 = decide(v2, position, SHIPPED_BOOK)
    assert d2.year_total == Y(year_total)
    if expected is None:
        assert d2.measures == ()
    else:
        m = only_suspension(d2)
        assert (m.article, m.months, m.starts_on, m.restores_on) == (ITEM2, 3, D(expected[0]), D(expected[1]))
        assert "2026年度" in m.explanation


@pytest.mark.article("第七条")
def test_art7_record_year_is_the_year_of_determination_not_occurrence():
    v = insured("2026-01-05", "30000.00", occurred_on="2025-12-20")
    assert v.record_year == 2026
    m = only_suspension(decide(v, EMPTY, SHIPPED_BOOK))
    assert "2026年度" in m.explanation and "2025年度" not in m.explanation


@pytest.mark.article("第七条")
def test_art7_new_year_suspension_starts_on_determination_when_old_one_has_ended():
    v1 = insured("2025-01-10", "60000.00")
    d1 = decide(v1, EMPTY, SHIPPED_BOOK)
    position = new_year(advance(EMPTY, v1, d1))
    m = only_suspension(decide(insured("2026-01-05", "30000.00"), position, SHIPPED_BOOK))
    assert (m.starts_on, m.restores_on) == (D("2026-01-05"), D("2026-04-05"))


@pytest.mark.article("第九条第四项")
def test_art9_item4_escalation_from_tier1_to_tier3_in_one_step():
    (first, second), position = run(insured("2025-01-10", "50000.00"), insured("2025-02-01", "160000.00"))
    assert only_suspension(first).restores_on == D("2025-04-10")
    b = only_suspension(second)
    assert (b.article, b.months, b.starts_on, b.restores_on) == (ITEM4, 6, D("2025-04-10"), D("2025-10-10"))
    assert second.year_total == Y("210000.00")
    assert position.months_imposed == 9


@pytest.mark.article("第九条第二项")
@pytest.mark.article("第九条第三项")
@pytest.mark.article("第九条第四项")
def test_art9_items2_3_4_three_step_escalation_chains_without_overlap():
    decisions, position = run(insured("2025-01-31", "50000.00"), insured("2025-03-15", "60000.00"),
                              insured("2025-06-01", "100000.00"))
    got = [(m.article, m.months, m.starts_on, m.restores_on) for d in decisions for m in d.measures]
    assert got == [
        (ITEM2, 3, D("2025-01-31"), D("2025-04-30")),
        (ITEM3, 3, D("2025-04-30"), D("2025-07-30")),  # each measure is counted from its own start
        (ITEM4, 3, D("2025-07-30"), D("2025-10-30")),
    ]
    assert [d.year_total for d in decisions] == [Y("50000.00"), Y("110000.00"), Y("210000.00")]
    assert position.months_imposed == 9


# --- months chosen by staff -------------------------------------------------------------------------

@pytest.mark.article("第九条第三项")
def test_art9_item3_override_within_band():
    m = only_suspension(decide(insured("2025-03-15", "150000.00", months_override=8), EMPTY, SHIPPED_BOOK))
    assert (m.article, m.months, m.restores_on) == (ITEM3, 8, D("2025-11-15"))
    assert "由经办人员在该档次范围内确定为8个月" in m.explanation


@pytest.mark.article("第九条")
def test_art9_override_escalation_adds_only_the_difference():
    (_, second), _ = run(insured("2025-02-10", "60000.00"),
                         insured("2025-03-01", "50000.00", months_override=8))
    m = only_suspension(second)
    assert (m.article, m.months, m.starts_on, m.restores_on) == (ITEM3, 5, D("2025-05-10"), D("2025-10-10"))


@pytest.mark.parametrize(("position", "loss", "override", "words"), [
    pytest.param(EMPTY, "50000.00", 6, "3至5", id="第九条第二项-6个月超出3至5"),
    pytest.param(EMPTY, "50000.00", 2, "3至5", id="第九条第二项-2个月低于3至5"),
    pytest.param(EMPTY, "150000.00", 9, "6至8", id="第九条第三项-9个月超出6至8"),
    pytest.param(EMPTY, "250000.00", 13, "9至12", id="第九条第四项-13个月超出9至12"),
    # The band is the one of the YEAR'S total (60000 + 50000 = 110000), not of this violation alone.
    pytest.param(YearPosition(total_loss=Y("60000.00"), months_imposed=3, suspended_until=D("2025-05-10")),
                 "50000.00", 5, "6至8", id="第七条第九条第三项-年度累计110000-5个月不在6至8"),
])
@pytest.mark.article("第九条")
def test_art9_override_outside_band_names_the_allowed_range(position, loss, override, words):
    with pytest.raises(MonthsOutOfRange) as exc:
        decide(insured("2025-03-15", loss, months_override=override), position, SHIPPED_BOOK)
    assert words in str(exc.value)
    assert exc.value.article in str(exc.value)


@pytest.mark.article("第九条")
def test_art9_override_below_months_already_imposed_is_refused():
    # Earlier in 2025: 60000 with 5 months chosen by staff. Now 10000 more (70000, same band), 4 asked.
    position = YearPosition(total_loss=Y("60000.00"), months_imposed=5, suspended_until=D("2025-07-10"))
    with pytest.raises(MonthsBelowImposed) as exc:
        decide(insured("2025-03-15", "10000.00", months_override=4), position, SHIPPED_BOOK)
    assert (exc.value.requested, exc.value.imposed) == (4, 5)
    assert "已暂停5个月" in str(exc.value)


@pytest.mark.article("第九条")
def test_art9_override_equal_to_imposed_is_a_note_not_a_measure():
    position = YearPosition(total_loss=Y("60000.00"), months_imposed=5, suspended_until=D("2025-07-10"))
    decision = decide(insured("2025-03-15", "10000.00", months_override=5), position, SHIPPED_BOOK)
    assert decision.measures == ()
    assert any("不重复处罚" in n for n in decision.notes)


# --- 第九条第五项 / 第八条第四项: criminal fraud → joint-punishment listing -------------------------

@pytest.mark.parametrize(("subject_type", "loss", "listing_article", "suspension_article"), [
    pytest.param("insured", "50000.00", "第九条第五项", ITEM2, id="第九条第五项-参保人-并处暂停"),
    pytest.param("insured", "0.00", "第九条第五项", None, id="第九条第五项-参保人-无损失仅纳入名单"),
    pytest.param("physician", "250000.00", "第八条第四项", None, id="第八条第四项-医师"),
    pytest.param("pharmacist", "0.00", "第八条第四项", None, id="第八条第四项-药师"),
])
@pytest.mark.article("第九条第五项")
@pytest.mark.article("第八条第四项")
def test_art9_item5_art8_item4_criminal_fraud_is_listed(subject_type, loss, listing_article,
                                                       suspension_article):
    v = insured("2025-03-15", loss, occurred_on="2024-11-02", handling="criminal", fraud=True,
                subject_type=subject_type)
    decision = decide(v, EMPTY, SHIPPED_BOOK)
    listings = [m for m in decision.measures if m.kind == JOINT_PUNISHMENT_LISTING]
    assert len(listings) == 1
    listing = listings[0]
    assert (listing.article, listing.starts_on, listing.restores_on, listing.months) == (
        listing_article, D("2025-03-15"), None, None)
    assert listing_article in listing.explanation and "失信联合惩戒对象名单" in listing.explanation
    assert [m.article for m in suspensions(decision)] == ([suspension_article] if suspension_article else [])


@pytest.mark.parametrize("subject_type", ["insured", "physician"])
@pytest.mark.article("第九条第五项")
@pytest.mark.article("第八条第四项")
def test_art9_item5_art8_item4_already_listed_is_not_listed_twice(subject_type):
    v = insured("2025-03-15", "0.00", handling="criminal", fraud=True, subject_type=subject_type)
    decision = decide(v, YearPosition(listed=True), SHIPPED_BOOK)
    assert [m for m in decision.measures if m.kind == JOINT_PUNISHMENT_LISTING] == []
    assert any("不重复纳入" in n for n in decision.notes)


@pytest.mark.parametrize(("handling", "fraud"), [
    pytest.param("criminal", False, id="刑事处理-非欺诈骗保"),
    pytest.param("administrative", True, id="欺诈骗保-行政处理"),
    pytest.param("agreement", True, id="欺诈骗保-协议处理"),
])
@pytest.mark.article("第九条第五项")
def test_art9_item5_listing_needs_both_criminal_handling_and_fraud(handling, fraud):
    decision = decide(insured("2025-03-15", "50000.00", handling=handling, fraud=fraud), EMPTY, SHIPPED_BOOK)
    assert [m.kind for m in decision.measures] == [SETTLEMENT_SUSPENSION]


@pytest.mark.parametrize("subject_type", ["physician", "pharmacist"])
@pytest.mark.parametrize("loss", ["50000.00", "150000.00", "250000.00"])
@pytest.mark.article("第八条第二项")
@pytest.mark.article("第八条第三项")
def test_art8_items2_3_practitioner_loss_causes_no_suspension(subject_type, loss):
    decision = decide(insured("2025-03-15", loss, subject_type=subject_type), EMPTY, SHIPPED_BOOK)
    assert decision.measures == ()
    assert any("协议约定" in n for n in decision.notes)


# --- month arithmetic at month ends -----------------------------------------------------------------

@pytest.mark.parametrize(("determined_on", "loss", "override", "starts_on", "restores_on"), [
    pytest.param("2025-01-31", "50000.00", None, "2025-01-31", "2025-04-30", id="31日起3个月-4月30日"),
    pytest.param("2025-01-31", "50000.00", 4, "2025-01-31", "2025-05-31", id="31日起4个月-5月31日"),
    pytest.param("2025-01-31", "100000.00", None, "2025-01-31", "2025-07-31", id="31日起6个月-7月31日"),
    pytest.param("2025-05-31", "200000.00", None, "2025-05-31", "2026-02-28", id="31日起9个月-平年2月28日"),
    pytest.param("2025-11-30", "50000.00", None, "2025-11-30", "2026-02-28", id="30日起3个月跨年-2月28日"),
    pytest.param("2027-05-31", "200000.00", None, "2027-05-31", "2028-02-29", id="31日起9个月-闰年2月29日"),
])
@pytest.mark.article("第九条")
def test_art9_month_arithmetic_clamps_to_month_end(determined_on, loss, override, starts_on, restores_on):
    m = only_suspension(decide(insured(determined_on, loss, months_override=override), EMPTY, SHIPPED_BOOK))
    assert (m.starts_on, m.restores_on) == (D(starts_on), D(restores_on))


@pytest.mark.article("第九条")
def test_art9_leap_day_start_12_months_restores_on_28_february():
    # 2028-02-29 lies past 第十五条's expiry; the shipped config continues to apply (past_expiry).
    m = only_suspension(decide(insured("2028-02-29", "300000.00", months_override=12), EMPTY, SHIPPED_BOOK))
    assert (m.starts_on, m.restores_on, m.past_expiry) == (D("2028-02-29"), D("2029-02-28"), True)


# --- 第十五条: the effective period and what happens after it ------------------------------------

@pytest.mark.parametrize(("day", "past_expiry"), [
    pytest.param("2024-08-10", False, id="第十五条-2024-08-10-实施首日"),
    pytest.param("2026-08-09", False, id="第十五条-2026-08-09-有效期末日"),
    pytest.param("2026-08-10", True, id="第十五条-2026-08-10-期满次日继续适用"),
])
@pytest.mark.article("第十五条")
def test_art15_effective_period_continue(day, past_expiry):
    decision = decide(insured(day, "50000.00"), EMPTY, SHIPPED_BOOK)
    m = only_suspension(decision)
    assert m.past_expiry is past_expiry
    assert decision.rule_set == SHIPPED_ID
    assert ("有效期至2026-08-09" in m.explanation) is past_expiry
    assert any("有效期" in n for n in decision.notes) is past_expiry


@pytest.mark.article("第十五条")
def test_art15_past_expiry_applies_to_listing_too():
    v = insured("2026-08-10", "0.00", handling="criminal", fraud=True, subject_type="physician")
    (listing,) = [m for m in decide(v, EMPTY, SHIPPED_BOOK).measures if m.kind == JOINT_PUNISHMENT_LISTING]
    assert listing.past_expiry is True and "有效期" in listing.explanation


@pytest.mark.article("第十五条")
def test_art15_before_the_measures_took_effect_nothing_applies():
    decision = decide(insured("2024-08-09", "50000.00"), EMPTY, SHIPPED_BOOK)
    assert decision.measures == () and decision.rule_set is None
    assert "无适用" in decision.notes[0]


@pytest.mark.article("第十五条")
def test_art15_successor_in_force_replaces_the_expired_set():
    book, successor = successor_book(HEAVIER_BANDS, effective_from=D("2026-08-10"))
    decision = decide(insured("2026-09-01", "50000.00"), EMPTY, book)
    m = only_suspension(decision)
    assert (decision.rule_set, m.months, m.past_expiry) == (successor.id, 4, False)
    assert "有效期" not in m.explanation


def _stop_book(tmp_path):
    text = (RULES_DIR / "shandong-2024-trial.toml").read_text(encoding="utf-8")
    assert 'after_expiry = "continue"' in text
    (tmp_path / "stop.toml").write_text(text.replace('after_expiry = "continue"', 'after_expiry = "stop"'),
                                        encoding="utf-8")
    return load_rule_book(tmp_path)


@pytest.mark.article("第十五条")
def test_art15_stop_config_imposes_nothing_after_expiry(tmp_path):
    book = _stop_book(tmp_path)
    assert only_suspension(decide(insured("2026-08-09", "50000.00"), EMPTY, book)).past_expiry is False
    decision = decide(insured("2026-08-10", "50000.00"), EMPTY, book)
    assert decision.measures == () and decision.rule_set is None
    assert len(decision.notes) == 1 and "无适用" in decision.notes[0] and "370100" in decision.notes[0]


@pytest.mark.article("第十五条")
def test_art15_stop_config_violation_occurred_before_expiry_determined_after(tmp_path):
    decision = decide(insured("2026-08-10", "50000.00", occurred_on="2026-08-01"), EMPTY, _stop_book(tmp_path))
    assert suspensions(decision) == []


@pytest.mark.article("第十五条")
def test_art15_violation_occurred_before_measures_took_effect_is_not_suspended():
    decision = decide(insured("2024-09-01", "50000.00", occurred_on="2024-08-01"), EMPTY, SHIPPED_BOOK)
    assert suspensions(decision) == []


def test_rule_book_most_specific_region_prefix_wins():
    # A 济南 (3701) set that took effect before the provincial one: only specificity can prefer it.
    jinan = replace(with_month_bands(SHIPPED, LIGHTER_BANDS), id="jinan-2024", regions=("3701",),
                    effective_from=D("2024-08-01"), effective_until=None)
    book = RuleBook((SHIPPED, jinan))
    assert book.select("370102", D("2025-03-15")).rule_set.id == "jinan-2024"
    assert book.select("370202", D("2025-03-15")).rule_set.id == SHIPPED_ID
    assert book.select("370102", D("2024-08-05")).rule_set.id == "jinan-2024"
    assert book.select("370202", D("2024-08-05")) is None
    assert book.select("110101", D("2025-03-15")) is None
    assert only_suspension(decide(insured("2025-03-15", "50000.00", region="370102"), EMPTY, book)).months == 1
    assert only_suspension(decide(insured("2025-03-15", "50000.00", region="370202"), EMPTY, book)).months == 3


def test_region_without_rule_set_records_only():
    decision = decide(insured("2025-03-15", "50000.00", region="110101"), EMPTY, SHIPPED_BOOK)
    assert decision.measures == () and "110101" in decision.notes[0]


# --- 从旧兼从轻: occurred under one rule set, determined under another ---------------------------

def test_lighter_of_old_and_new_old_wins_when_new_is_heavier():
    book, successor = successor_book(HEAVIER_BANDS)
    # Sanity: wholly under the successor the outcome is heavier (4 months).
    assert only_suspension(decide(insured("2025-02-01", "50000.00", occurred_on="2025-01-05"), EMPTY, book)).months == 4
    decision = decide(insured("2025-02-01", "50000.00", occurred_on="2024-12-01"), EMPTY, book)
    m = only_suspension(decision)
    assert (decision.rule_set, m.rule_set, m.months, m.restores_on) == (SHIPPED_ID, SHIPPED_ID, 3, D("2025-05-01"))
    assert "从旧兼从轻" in m.explanation and successor.id in m.explanation and SHIPPED_ID in m.explanation
    assert any("从旧兼从轻" in n for n in decision.notes)


def test_lighter_of_old_and_new_new_wins_when_new_is_lighter():
    book, successor = successor_book(LIGHTER_BANDS)
    decision = decide(insured("2025-02-01", "150000.00", occurred_on="2024-12-01"), EMPTY, book)
    m = only_suspension(decision)
    assert (decision.rule_set, m.rule_set, m.article, m.months, m.restores_on) == (
        successor.id, successor.id, ITEM3, 4, D("2025-06-01"))
    assert "从旧兼从轻" in m.explanation


def test_lighter_of_old_and_new_applies_to_escalation():
    book, successor = successor_book(HEAVIER_BANDS)
    position = YearPosition(total_loss=Y("60000.00"), months_imposed=3, suspended_until=D("2025-05-01"))
    decision = decide(insured("2025-02-01", "50000.00", occurred_on="2024-12-20"), position, book)
    m = only_suspension(decision)
    # Old: 110000 → 6 months, 3 more. New: 7 months, 4 more. The old one is lighter.
    assert (decision.rule_set, m.months, m.starts_on, m.restores_on) == (SHIPPED_ID, 3, D("2025-05-01"), D("2025-08-01"))


# --- explanations -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("loss", "amount", "article", "band", "months_band", "months", "restores_on"), [
    pytest.param(Y("50000.5"), "50000.50元", ITEM2, "属不满10万元", "3个月以上、不满6个月", 3, "2025-06-15",
                 id="第九条第二项-不满10万元"),
    pytest.param(Y("150000"), "150000.00元", ITEM3, "属10万元以上、不满20万元", "6个月以上、不满9个月", 6,
                 "2025-09-15", id="第九条第三项-10万元以上不满20万元"),
    pytest.param(Y("200000.00"), "200000.00元", ITEM4, "属20万元以上", "9个月以上、12个月以下", 9,
                 "2025-12-15", id="第九条第四项-20万元以上"),
])
@pytest.mark.article("第九条")
def test_art9_explanation_cites_article_amount_band_and_months(loss, amount, article, band, months_band,
                                                             months, restores_on):
    v = replace(insured("2025-03-15", "0"), fund_loss=loss)
    m = only_suspension(decide(v, EMPTY, SHIPPED_BOOK))
    text = m.explanation
    for part in ("鲁医保发〔2024〕25号", article, "2025年度", amount, band, months_band,
                 f"确定为{months}个月", "2025-03-15", restores_on):
        assert part in text, (part, text)


def test_decision_with_no_rule_set_has_no_rule_set_id():
    decision = decide(insured("2023-03-15", "50000.00"), EMPTY, SHIPPED_BOOK)
    assert decision.rule_set is None and decision.year_total == Decimal("0.00")


def test_shipped_rule_set_is_the_one_expected():
    assert SHIPPED.effective_from == date(2024, 8, 10) and SHIPPED.effective_until == date(2026, 8, 9)


@pytest.mark.parametrize("months,expected_rule_set", [
    (6, "shandong-2025-revised"),   # fits only the new set's 4–6 band
    (3, SHIPPED_ID),                # fits only the old set's 3–5 band
    (4, "shandong-2025-revised"),   # fits both, equally heavy: the set in force when determined applies
])
def test_staff_override_is_judged_by_a_rule_set_whose_band_it_fits(months, expected_rule_set):
    book, _ = successor_book(HEAVIER_BANDS, effective_from=D("2026-08-10"))
    decision = decide(insured("2026-09-01", "50000.00", occurred_on="2026-07-01", months_override=months),
                      EMPTY, book)
    assert decision.rule_set == expected_rule_set
    assert only_suspension(decision).months == months


def test_staff_override_fitting_neither_band_names_the_current_range():
    book, _ = successor_book(HEAVIER_BANDS, effective_from=D("2026-08-10"))
    with pytest.raises(MonthsOutOfRange) as exc:
        decide(insured("2026-09-01", "50000.00", occurred_on="2026-07-01", months_override=8), EMPTY, book)
    assert "4至6" in str(exc.value)
