"""Spec for practitioners under their region's agreement (鲁医保发〔2024〕25号第八条) and the shipped
Shandong default, the 医保发〔2024〕23号 point model: bands 1–3/4–6/7–9/10–12, points add up per natural
year of determination, 9 → suspended (months from the region's table for 9/10/11), 12 → terminated,
re-registration barred 1 year (12 reached cumulatively) or 3 years (12 in one violation).

Violations go through decide() and the intake's SubjectLedger, exactly as intake replays them.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from credit_service.domain.ledger import SubjectLedger
from credit_service.domain.decisions import JOINT_PUNISHMENT_LISTING, MonthsOutOfRange, ViolationFacts, decide
from credit_service.domain.practitioners import (FOR_GOOD, QUALIFICATION_REVOKED, QUALIFICATION_SUSPENSION,
                                                 QUALIFICATION_TERMINATION, SERVICE_SUSPENSION, PointsOutOfBand,
                                                 UnknownCategory)
from credit_service.domain.status import qualification_on
from credit_service.rules_config import load_rule_book

from .rulebooks import RULES_DIR, SHIPPED_BOOK, D

AGREEMENT_ID = "shandong-practitioners-2024"
AGREEMENT_TEXT = (RULES_DIR / "shandong-practitioners-2024.toml").read_text(encoding="utf-8")
JINAN, WEIHAI = "370100", "371000"
CATEGORY_OF = {1: "minor", 2: "minor", 3: "minor", 4: "moderate", 5: "moderate", 6: "moderate",
               7: "serious", 8: "serious", 9: "serious", 10: "grave", 11: "grave", 12: "grave"}


def physician(determined_on: str, points: int | None, *, category: str | None = None, region: str = JINAN,
              occurred_on: str | None = None, handling: str = "agreement", fraud: bool = False,
              months: int | None = None) -> ViolationFacts:
    return ViolationFacts(
        subject_type="physician", region=region, occurred_on=D(occurred_on or determined_on),
        determined_on=D(determined_on), fund_loss=Decimal("1000.00"), handling=handling, fraud=fraud,
        months_override=months, points=points,
        category=category or (CATEGORY_OF[points] if points is not None else None))


def run(*violations: ViolationFacts, book=SHIPPED_BOOK, ledger: SubjectLedger | None = None):
    """Decide each violation against the ledger and record it there, as intake does."""
    ledger = ledger or SubjectLedger()
    decisions = []
    for v in violations:
        decision = decide(v, ledger.position(v.record_year), book)
        ledger.add(v.record_year, v.fund_loss, decision.measures, points=v.points)
        decisions.append(decision)
    return decisions, ledger


def agreement_measures(decisions):
    return [m for d in decisions for m in d.measures if m.kind != JOINT_PUNISHMENT_LISTING]


def summary(decisions):
    return [(m.kind, m.article, m.starts_on.isoformat(), m.restores_on and m.restores_on.isoformat(), m.months,
             m.reregistration_from and m.reregistration_from.isoformat()) for m in agreement_measures(decisions)]


# --- the point thresholds ---------------------------------------------------------------------------

THRESHOLDS = [
    pytest.param([(4, "2025-03-01"), (4, "2025-04-01")], [], id="累计8分-未达9分-正常"),
    pytest.param([(5, "2025-03-01"), (4, "2025-04-01")],
                 [(QUALIFICATION_SUSPENSION, "累计记分达到9分", "2025-04-01", "2025-05-01", 1, None)],
                 id="累计记分达到9分-暂停1个月"),
    pytest.param([(9, "2025-04-01")],
                 [(QUALIFICATION_SUSPENSION, "累计记分达到9分", "2025-04-01", "2025-05-01", 1, None)],
                 id="一次记9分-暂停1个月"),
    pytest.param([(10, "2025-04-01")],
                 [(QUALIFICATION_SUSPENSION, "累计记分达到9分", "2025-04-01", "2025-06-01", 2, None)],
                 id="累计10分-暂停2个月"),
    pytest.param([(11, "2025-04-01")],
                 [(QUALIFICATION_SUSPENSION, "累计记分达到9分", "2025-04-01", "2025-07-01", 3, None)],
                 id="累计11分-暂停3个月-更长"),
    pytest.param([(9, "2025-04-01"), (2, "2025-04-10")],
                 [(QUALIFICATION_SUSPENSION, "累计记分达到9分", "2025-04-01", "2025-05-01", 1, None),
                  (QUALIFICATION_SUSPENSION, "累计记分达到9分", "2025-05-01", "2025-07-01", 2, None)],
                 id="9分后再记2分-累计11分-追加2个月接续"),
    pytest.param([(6, "2025-03-01"), (6, "2025-05-20")],
                 [(QUALIFICATION_TERMINATION, "累计记分达到12分", "2025-05-20", None, None, "2026-05-20")],
                 id="累计记分达到12分-终止-1年内不得再次登记备案"),
    pytest.param([(12, "2025-05-20")],
                 [(QUALIFICATION_TERMINATION, "一次性记满12分", "2025-05-20", None, None, "2028-05-20")],
                 id="一次性记满12分-终止-3年内不得再次登记备案"),
    pytest.param([(3, "2025-02-01"), (12, "2025-05-20")],
                 [(QUALIFICATION_TERMINATION, "一次性记满12分", "2025-05-20", None, None, "2028-05-20")],
                 id="已有3分再一次记12分-仍为一次性记满-3年"),
    pytest.param([(9, "2025-03-01"), (3, "2025-03-10")],
                 [(QUALIFICATION_SUSPENSION, "累计记分达到9分", "2025-03-01", "2025-04-01", 1, None),
                  (QUALIFICATION_TERMINATION, "累计记分达到12分", "2025-03-10", None, None, "2026-03-10")],
                 id="暂停中累计达到12分-终止"),
    pytest.param([(6, "2025-12-31"), (6, "2026-01-01")], [], id="12月31日与1月1日的记分不累计"),
    pytest.param([(8, "2025-12-31"), (8, "2026-01-01"), (1, "2026-01-02")],
                 [(QUALIFICATION_SUSPENSION, "累计记分达到9分", "2026-01-02", "2026-02-02", 1, None)],
                 id="次年重新累计-1月2日累计9分"),
    pytest.param([(12, "2025-05-20"), (12, "2025-06-01")],
                 [(QUALIFICATION_TERMINATION, "一次性记满12分", "2025-05-20", None, None, "2028-05-20")],
                 id="已终止-不重复终止"),
]


@pytest.mark.parametrize(("rows", "expected"), THRESHOLDS)
def test_point_thresholds(rows, expected):
    decisions, _ = run(*(physician(day, points) for points, day in rows))
    assert summary(decisions) == expected
    for m in agreement_measures(decisions):
        assert m.rule_set == AGREEMENT_ID and m.explanation.startswith("依据《关于建立定点医药机构相关人员医保支付资格")
    assert all(d.agreement_rule_set == AGREEMENT_ID for d in decisions)


def test_points_in_the_explanation_and_notes_name_the_year_total():
    (first, second), _ = run(physician("2025-03-01", 4), physician("2025-04-01", 5))
    assert "2025年度累计记分4分" in "".join(first.notes) and "仅记分" in "".join(first.notes)
    (m,) = second.measures
    assert "2025年度累计记分9分（本次5分" in m.explanation and "急救、抢救除外" in m.explanation


def test_pharmacists_follow_the_same_agreement():
    v = physician("2025-04-01", 10)
    v = ViolationFacts(**{**v.__dict__, "subject_type": "pharmacist"})
    (decision,), _ = run(v)
    assert [m.kind for m in decision.measures] == [QUALIFICATION_SUSPENSION]


def test_insured_persons_are_not_scored():
    v = ViolationFacts(subject_type="insured", region=JINAN, occurred_on=D("2025-04-01"),
                       determined_on=D("2025-04-01"), fund_loss=Decimal("0.00"), handling="administrative",
                       fraud=False)
    assert decide(v, SubjectLedger().position(2025), SHIPPED_BOOK).agreement_rule_set is None


# --- status values and their dates -----------------------------------------------------------------

def test_status_normal_suspended_terminated_with_dates():
    decisions, _ = run(physician("2025-03-01", 9), physician("2025-06-01", 3))
    from credit_service.domain.status import MeasureFact
    facts = [MeasureFact(str(i), m.kind, JINAN, m.starts_on, m.restores_on, reregistration_from=m.reregistration_from)
             for i, m in enumerate(agreement_measures(decisions))]
    assert qualification_on(facts, D("2025-02-28")) == ("normal", None, None, None)
    assert qualification_on(facts, D("2025-03-01")) == ("suspended", D("2025-03-01"), D("2025-04-01"), None)
    assert qualification_on(facts, D("2025-04-01")) == ("normal", None, None, None)
    assert qualification_on(facts, D("2025-06-01")) == ("terminated", D("2025-06-01"), None, D("2026-06-01"))
    assert qualification_on(facts, D("2027-01-01")) == ("terminated", D("2025-06-01"), None, D("2026-06-01"))


# --- bands: out of band → an error naming the band --------------------------------------------------

@pytest.mark.parametrize(("category", "points", "band"), [
    pytest.param("minor", 0, "1至3分", id="1至3分档-0分"),
    pytest.param("minor", 4, "1至3分", id="1至3分档-4分"),
    pytest.param("moderate", 3, "4至6分", id="4至6分档-3分"),
    pytest.param("serious", 10, "7至9分", id="7至9分档-10分"),
    pytest.param("grave", 13, "10至12分", id="10至12分档-13分"),
    pytest.param("grave", None, "10至12分", id="10至12分档-未记分"),
])
def test_points_out_of_the_category_band_are_refused_naming_the_band(category, points, band):
    with pytest.raises(PointsOutOfBand) as caught:
        run(physician("2025-04-01", points, category=category))
    assert band in str(caught.value) and caught.value.code == "points_out_of_band"


def test_points_without_a_category_are_refused():
    v = ViolationFacts(subject_type="physician", region=JINAN, occurred_on=D("2025-04-01"),
                       determined_on=D("2025-04-01"), fund_loss=Decimal("0.00"), handling="agreement",
                       fraud=False, points=3)
    with pytest.raises(PointsOutOfBand, match="category"):
        run(v)


def test_unknown_category_names_the_known_ones():
    with pytest.raises(UnknownCategory) as caught:
        run(physician("2025-04-01", 3, category="trivial"))
    assert "minor（违规情节较轻）" in str(caught.value) and caught.value.code == "unknown_category"


def test_no_category_only_records():
    (decision,), _ = run(physician("2025-04-01", None))
    assert decision.measures == () and "不记分" in decision.notes[0]


# --- 第八条第四项: criminal fraud ---------------------------------------------------------------------

@pytest.mark.article("第八条第四项")
def test_art8_item4_criminal_fraud_revokes_the_qualification_and_lists():
    (decision,), ledger = run(physician("2025-04-01", None, handling="criminal", fraud=True))
    kinds = {m.kind: m for m in decision.measures}
    assert set(kinds) == {QUALIFICATION_REVOKED, JOINT_PUNISHMENT_LISTING}
    revoked = kinds[QUALIFICATION_REVOKED]
    assert (revoked.article, revoked.restores_on, revoked.reregistration_from) == ("第八条第四项", None, FOR_GOOD)
    assert "取消医保医（药）师资格" in revoked.explanation
    assert kinds[JOINT_PUNISHMENT_LISTING].article == "第八条第四项"
    # Nothing more to end afterwards: a later 12 points does not terminate a revoked qualification.
    (later,), _ = run(physician("2025-05-01", 12), ledger=ledger)
    assert later.measures == () and "不再暂停" in "".join(later.notes)


def test_criminal_handling_without_fraud_is_scored_only():
    (decision,), _ = run(physician("2025-04-01", 10, handling="criminal", fraud=False))
    assert [m.kind for m in decision.measures] == [QUALIFICATION_SUSPENSION]


# --- a second region's agreement with different numbers ---------------------------------------------

WEIHAI_FILE = RULES_DIR.parents[1] / "examples" / "rules" / "weihai-practitioners-example.toml"
WEIHAI_ID = "weihai-practitioners-example"


@pytest.fixture
def two_region_book(tmp_path):
    (tmp_path / "shandong-2024-trial.toml").write_text(
        (RULES_DIR / "shandong-2024-trial.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "shandong-practitioners-2024.toml").write_text(AGREEMENT_TEXT, encoding="utf-8")
    (tmp_path / WEIHAI_FILE.name).write_text(WEIHAI_FILE.read_text(encoding="utf-8"), encoding="utf-8")
    return load_rule_book(tmp_path)


@pytest.mark.parametrize(("rows", "jinan", "weihai"), [
    pytest.param([(8, "2025-04-01")], [], [(QUALIFICATION_SUSPENSION, "2025-04-01", "2025-06-01", 2, None)],
                 id="8分-济南正常-威海暂停2个月"),
    pytest.param([(9, "2025-04-01")], [(QUALIFICATION_SUSPENSION, "2025-04-01", "2025-05-01", 1, None)],
                 [(QUALIFICATION_SUSPENSION, "2025-04-01", "2025-08-01", 4, None)], id="9分-1个月对4个月"),
    pytest.param([(12, "2025-04-01")], [(QUALIFICATION_TERMINATION, "2025-04-01", None, None, "2028-04-01")],
                 [(QUALIFICATION_TERMINATION, "2025-04-01", None, None, "2030-04-01")], id="一次性12分-3年对5年"),
])
def test_a_second_regions_agreement_changes_only_that_region(two_region_book, rows, jinan, weihai):
    def outcome(region, book):
        decisions, _ = run(*(physician(day, p, region=region) for p, day in rows), book=book)
        return [row[:1] + row[2:] for row in summary(decisions)]

    assert outcome(JINAN, two_region_book) == outcome(JINAN, SHIPPED_BOOK) == jinan
    assert outcome(WEIHAI, two_region_book) == weihai
    assert outcome(WEIHAI, SHIPPED_BOOK) == jinan  # without its own file Weihai has the Shandong default
    decisions, _ = run(*(physician(day, p, region=WEIHAI) for p, day in rows), book=two_region_book)
    assert {m.rule_set for m in agreement_measures(decisions)} <= {WEIHAI_ID}


def test_an_agreement_category_may_suspend_service_for_months_within_its_range(two_region_book):
    v = physician("2025-04-01", None, category="prescription_fraud", region=WEIHAI)
    (decision,), _ = run(v, book=two_region_book)
    (m,) = decision.measures
    assert (m.kind, m.months, m.restores_on, m.article) == (SERVICE_SUSPENSION, 3, D("2025-07-01"), "协议第二十条")
    assert "处方（医嘱）不予医保结算" in m.explanation
    (chosen,), _ = run(physician("2025-04-01", None, category="prescription_fraud", region=WEIHAI, months=6),
                       book=two_region_book)
    assert chosen.measures[0].months == 6
    with pytest.raises(MonthsOutOfRange, match="3至6"):
        run(physician("2025-04-01", None, category="prescription_fraud", region=WEIHAI, months=7),
            book=two_region_book)
    with pytest.raises(UnknownCategory):  # Jinan's agreement has no such category
        run(physician("2025-04-01", None, category="prescription_fraud", region=JINAN), book=two_region_book)


@pytest.mark.article("第八条第三项")
def test_art8_item3_a_category_may_be_limited_to_a_handling(two_region_book):
    from credit_service.domain.practitioners import CategoryNotApplicable
    v = physician("2025-04-01", None, category="unit_penalised_unreformed", region=WEIHAI, handling="administrative")
    (decision,), _ = run(v, book=two_region_book)
    assert [(m.kind, m.article) for m in decision.measures] == [(QUALIFICATION_REVOKED, "协议第二十一条")]
    with pytest.raises(CategoryNotApplicable, match="仅适用于行政处罚"):
        run(physician("2025-04-01", None, category="unit_penalised_unreformed", region=WEIHAI), book=two_region_book)


def test_months_cannot_be_chosen_for_a_points_category():
    with pytest.raises(MonthsOutOfRange, match="不中止医保医药服务"):
        run(physician("2025-04-01", 3, months=2))


# --- 从旧兼从轻 between agreements, and before any agreement ----------------------------------------

def test_conduct_before_the_agreement_took_effect_is_not_scored():
    (decision,), _ = run(physician("2024-09-01", 12, occurred_on="2024-08-01"))
    assert agreement_measures([decision]) == [] and "从旧兼从轻" in "".join(decision.notes)


def test_the_lighter_of_the_agreements_of_occurrence_and_determination(tmp_path):
    (tmp_path / "a.toml").write_text(AGREEMENT_TEXT, encoding="utf-8")
    stricter = (AGREEMENT_TEXT.replace('id = "shandong-practitioners-2024"', 'id = "shandong-practitioners-2026"')
                .replace("effective_from = 2024-08-10", "effective_from = 2026-01-01")
                .replace("{ points = 9, months = 1 }", "{ points = 9, months = 2 }"))
    (tmp_path / "b.toml").write_text(stricter, encoding="utf-8")
    book = load_rule_book(tmp_path)
    (decision,), _ = run(physician("2026-02-01", 9, occurred_on="2025-11-01"), book=book)
    (m,) = decision.measures
    assert (m.months, m.rule_set) == (1, AGREEMENT_ID) and "从旧兼从轻" in m.explanation
    (later,), _ = run(physician("2026-02-01", 9), book=book)
    assert (later.measures[0].months, later.measures[0].rule_set) == (2, "shandong-practitioners-2026")


def test_an_agreement_set_is_never_picked_for_the_insured_credit_rules():
    assert SHIPPED_BOOK.select(JINAN, date(2025, 4, 1)).rule_set.id == "shandong-2024-trial"
    assert SHIPPED_BOOK.select(JINAN, date(2025, 4, 1), "agreement").rule_set.id == AGREEMENT_ID


# --- a malformed agreement file stops start-up, naming file, key and problem ------------------------

def _agreement_edit(old: str, new: str) -> str:
    assert AGREEMENT_TEXT.count(old) >= 1, old
    return AGREEMENT_TEXT.replace(old, new, 1)


MALFORMED_AGREEMENTS = [
    pytest.param(_agreement_edit("suspend_at = 9 ", "suspend_at = 13 "), "agreement.points.suspend_at",
                 "below terminate_at", id="suspend_at不低于terminate_at"),
    pytest.param(_agreement_edit("{ points = 10, months = 2 },\n", ""), "agreement.points.suspension",
                 "each of [9, 10, 11] points", id="缺10分的暂停月数"),
    pytest.param(_agreement_edit("{ points = 11, months = 3 }", "{ points = 11, months = 7 }"),
                 "agreement.points.suspension[2].months", "within 1 to 6", id="暂停超过6个月"),
    pytest.param(_agreement_edit("{ points = 10, months = 2 }", "{ points = 10, months = 0 }"),
                 "agreement.points.suspension[1].months", "within 1 to 6", id="暂停0个月"),
    pytest.param(_agreement_edit("{ points = 11, months = 3 }", "{ points = 11, months = 1 }"),
                 "agreement.points.suspension", "fewer months", id="分多月少"),
    pytest.param(_agreement_edit('reset = "natural_year"', 'reset = "rolling_12_months"'),
                 "agreement.points.reset", "natural_year", id="记分须按自然年度清零"),
    pytest.param(_agreement_edit("bar_years_single = 3", 'bar_years_single = "3"'),
                 "agreement.points.bar_years_single", "must be a int", id="禁入年数为字符串"),
    pytest.param(_agreement_edit("points = { from = 4, to = 6 }", "points = { from = 6, to = 4 }"),
                 "agreement.categories[1].points", "from <= to", id="记分档次倒置"),
    pytest.param(_agreement_edit("points = { from = 1, to = 3 }", "points = { from = 0, to = 3 }"),
                 "agreement.categories[0].points", "1 <= from", id="记分档次含0分"),
    pytest.param(_agreement_edit('id = "moderate"', 'id = "minor"'), "agreement.categories[1].id",
                 "duplicate category", id="类别重复"),
    pytest.param(_agreement_edit('id = "moderate"', 'id = "Moderate Case"'), "agreement.categories[1].id",
                 "lower-case", id="类别名非法"),
    pytest.param(_agreement_edit('measure = "qualification_revoked"', 'measure = "warning"'),
                 "agreement.criminal_fraud.measure", "qualification_revoked", id="第八条第四项-measure"),
    pytest.param(_agreement_edit("[agreement.points]", "[agreement.points_model]"), "agreement.categories[0].points",
                 "no [agreement.points]", id="有记分类别却无记分模型"),
    pytest.param(_agreement_edit("points = { from = 1, to = 3 }", 'points = { from = 1, to = 3 }\nhandlings = ["fine"]'),
                 "agreement.categories[0].handlings", "agreement/administrative/criminal", id="处理方式未知"),
    pytest.param(AGREEMENT_TEXT + '\n[insured]\naggregation = "natural_year_sum"\n', "insured",
                 "only [agreement]", id="协议规则集混入参保人规则"),
]


@pytest.mark.parametrize(("text", "key", "problem"), MALFORMED_AGREEMENTS)
def test_malformed_agreement_file_names_file_key_and_problem(tmp_path, text, key, problem):
    from credit_service.rules_config import RuleConfigError
    path = tmp_path / "broken-agreement.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleConfigError) as caught:
        load_rule_book(tmp_path)
    assert (caught.value.path, caught.value.key) == (path, key)
    assert problem in caught.value.problem
    assert str(path) in str(caught.value) and key in str(caught.value)


def test_a_malformed_agreement_file_stops_start_up(tmp_path):
    from credit_service import create_app
    from credit_service.rules_config import RuleConfigError
    from credit_service.settings import Settings
    rules = tmp_path / "rules"
    rules.mkdir()
    (tmp_path / "calendar").symlink_to(RULES_DIR.parent / "calendar")
    (rules / "shandong-practitioners-2024.toml").write_text(
        _agreement_edit("{ points = 11, months = 3 }", "{ points = 11, months = 9 }"), encoding="utf-8")
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", secret_key="t", config_dir=tmp_path,
                        scheduler="off", index_poll_seconds=0, warm_index=False)
    with pytest.raises(RuleConfigError) as caught:
        create_app(settings)
    message = str(caught.value)
    assert "shandong-practitioners-2024.toml" in message
    assert "agreement.points.suspension[2].months" in message and "within 1 to 6" in message


# --- properties over many sequences: per natural year, by the hand-written table --------------------

from hypothesis import given, settings as hypothesis_settings, strategies as st  # noqa: E402

# 医保发〔2024〕23号 as shipped, written out by hand: months for a year's total of 9, 10, 11 points.
MONTHS_FOR_TOTAL = {9: 1, 10: 2, 11: 3}
DAYS = st.dates(date(2025, 1, 1), date(2026, 12, 31))


@hypothesis_settings(database=None, deadline=None, max_examples=200)
@given(st.lists(st.tuples(st.integers(1, 12), DAYS), min_size=1, max_size=8))
def test_each_year_is_judged_by_its_own_points_alone(rows):
    rows = sorted(rows, key=lambda r: r[1])
    decisions, _ = run(*(physician(day.isoformat(), points) for points, day in rows))
    ended = False
    for year in (2025, 2026):
        of_year = [(p, d) for (p, day), d in zip(rows, decisions) if day.year == year]
        total = sum(p for p, _ in of_year)
        measures = [m for _, d in of_year for m in d.measures]
        months = sum(m.months for m in measures if m.kind == QUALIFICATION_SUSPENSION)
        terminations = [m for m in measures if m.kind == QUALIFICATION_TERMINATION]
        if ended:
            assert measures == []
            continue
        # Months imposed before the year reached 12 points are kept; none are added after.
        running, expected_months = 0, 0
        for p, _ in of_year:
            running += p
            if running >= 12:
                break
            expected_months = MONTHS_FOR_TOTAL.get(running, expected_months)
        assert months == expected_months
        assert len(terminations) == (1 if total >= 12 else 0)
        if terminations:
            single = next(p for p, _ in _running_until(of_year, 12)) >= 12
            (t,) = terminations
            assert t.reregistration_from == t.starts_on.replace(year=t.starts_on.year + (3 if single else 1))
            ended = True


def _running_until(rows, threshold):
    """The row at which the running total first reaches `threshold`, as a one-element list."""
    running = 0
    for row in rows:
        running += row[0]
        if running >= threshold:
            return [row]
    return []
