"""Spec for the credit evaluation (信用评价积分, 信用等级) and the reading of 第九条第一项 that goes with it.
Pure: the facts are the status index's, the model is the shipped config/rules/shandong-evaluation-2024.toml."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_service.domain.evaluation import PROVINCE, evaluate, model_on, score_and_grade
from credit_service.domain.kinds import MEASURE_KINDS
from credit_service.domain.status import CLEAN, MeasureFact, SubjectFacts, status_on
from credit_service.rules_config import RuleConfigError, load_rule_book
from tests.unit.rulebooks import RULES_DIR, SHIPPED_BOOK

D = date.fromisoformat
BOOK = SHIPPED_BOOK
SELECTION = model_on(BOOK, D("2026-05-01"))
MODEL = SELECTION.rule_set.evaluation


def suspension(starts="2026-04-10", restores="2026-10-10", article="第九条第三项", **kw) -> MeasureFact:
    return MeasureFact(kw.pop("measure_id", "m1"), kw.pop("kind", "settlement_suspension"), kw.pop("region", "370100"),
                       D(starts), D(restores) if restores else None, article=article, **kw)


def test_the_shipped_model_is_the_provinces_and_says_it_awaits_the_bureau():
    rs = SELECTION.rule_set
    assert (rs.id, rs.regions, rs.kind) == ("shandong-evaluation-2024", ("37",), "evaluation")
    assert "待省医疗保障局确认" in rs.title
    text = (RULES_DIR / "shandong-evaluation-2024.toml").read_text(encoding="utf-8")
    assert "THIS SERVICE'S DEFAULTS" in text and "must be confirmed by 山东省医疗保障局" in text
    assert [g.grade for g in MODEL.grades] == ["A", "B", "C", "D"]
    assert model_on(BOOK, D("2024-08-09")) is None  # before 鲁医保发〔2024〕25号 took effect: no model
    assert BOOK.select("371000", D("2026-05-01"), "evaluation").rule_set is rs  # every region: one model


def test_a_subject_never_recorded_has_the_top_grade_and_every_unlock():
    evaluation = evaluate(CLEAN, D("2026-05-01"), SELECTION)
    assert (evaluation.score, evaluation.grade.grade, evaluation.contributions) == (100, "A", ())
    assert evaluation.grade.unlocks == {"lenient_acceptance", "credit_payment"}
    assert evaluation.clean_years == 10


@pytest.mark.article("第九条第三项")
def test_an_active_suspension_and_its_record_year_each_deduct_with_their_reason_and_article():
    facts = SubjectFacts(measures=(suspension(),), record_years=frozenset({2026}))
    evaluation = evaluate(facts, D("2026-05-01"), SELECTION)
    assert (evaluation.score, evaluation.grade.grade) == (70, "C")
    assert [(c.change, c.article, c.rule_set) for c in evaluation.contributions] == [
        (-15, "第七条", "shandong-evaluation-2024"), (-15, "第九条第三项", "shandong-evaluation-2024")]
    record, measure = (c.reason for c in evaluation.contributions)
    assert "2026年度有违约违法记录" in record and "2026年至2028年" in record
    assert "暂停医疗费用联网结算（第九条第三项）自2026-04-10起执行（至2026-10-10恢复）" in measure


@pytest.mark.parametrize(("day", "score", "grade"), [
    ("2026-04-09", 85, "B"),   # the year is on record (the index keeps years), the measure not yet in force
    ("2026-10-09", 70, "C"),   # last day of the suspension
    ("2026-10-10", 85, "B"),   # restored: only the record year counts
    ("2028-12-31", 85, "B"),   # the last year of the window
    ("2029-01-01", 100, "A"),  # 2027 and 2028 clean: the record no longer counts
])
def test_a_record_year_counts_for_its_year_and_the_two_after_it(day, score, grade):
    facts = SubjectFacts(measures=(suspension(),), record_years=frozenset({2026}))
    assert score_and_grade(BOOK, facts, D(day), listed=False)[0] == score
    assert evaluate(facts, D(day), SELECTION).grade.grade == grade


@pytest.mark.article("第十二条")
def test_art12_an_unrepaired_measure_deducts_until_repaired():
    ended = suspension(starts="2024-09-02", restores="2024-12-02", article="第九条第二项", unrepaired=True)
    facts = SubjectFacts(measures=(ended,), record_years=frozenset({2024}))
    evaluation = evaluate(facts, D("2027-03-01"), SELECTION)
    assert (evaluation.score, [c.article for c in evaluation.contributions]) == (90, ["第十二条"])
    assert "信用尚未修复" in evaluation.contributions[0].reason
    assert evaluate(replace(facts, measures=(replace(ended, unrepaired=False),)), D("2027-03-01"), SELECTION).score == 100


@pytest.mark.article("第九条第五项")
def test_a_listed_subject_is_never_above_the_listed_grade():
    listing = suspension(kind="joint_punishment_listing", restores=None, article="第九条第五项")
    facts = SubjectFacts(measures=(listing,), record_years=frozenset({2026}))
    evaluation = evaluate(facts, D("2026-05-01"), SELECTION)
    assert (evaluation.score, evaluation.grade.grade) == (25, "D")
    lenient_model = replace(MODEL, measure_rules=tuple(replace(r, deduct=0) for r in MODEL.measure_rules),
                            record_deduct=0)
    lenient = replace(SELECTION, rule_set=replace(SELECTION.rule_set, evaluation=lenient_model))
    capped = evaluate(facts, D("2026-05-01"), lenient)
    assert (capped.score, capped.grade.grade) == (100, "D")
    assert any("不高于D级" in note for note in capped.notes)


@pytest.mark.article("第八条第二项")
def test_practitioners_points_of_the_current_year_deduct_and_set_the_inspection_level():
    facts = SubjectFacts(record_years=frozenset({2026}), points=((2025, 3), (2026, 6)))
    evaluation = evaluate(facts, D("2026-05-01"), SELECTION)
    assert (evaluation.score, evaluation.grade.grade, evaluation.grade.inspection) == (73, "C", "increased")
    assert evaluation.contributions[-1].reason.startswith("2026年度累计记分6分")
    assert evaluate(facts, D("2027-01-01"), SELECTION).score == 85  # points reset on 1 January


def test_the_score_never_goes_below_the_floor_and_says_so():
    measures = tuple(suspension(measure_id=f"m{i}", kind="qualification_revoked", restores=None, article="")
                     for i in range(3))
    evaluation = evaluate(SubjectFacts(measures=measures, record_years=frozenset({2026})), D("2026-05-01"), SELECTION)
    assert (evaluation.score, evaluation.grade.grade) == (0, "D")
    assert any("最低0分" in note for note in evaluation.notes)


def test_a_measure_under_an_article_no_rule_names_counts_at_its_kinds_default():
    facts = SubjectFacts(measures=(suspension(article="某市细则第三条"),), record_years=frozenset({2026}))
    assert evaluate(facts, D("2026-05-01"), SELECTION).contributions[1].change == -20


# --- properties --------------------------------------------------------------------------------------

DAYS = st.dates(min_value=date(2024, 8, 10), max_value=date(2031, 12, 31))


@st.composite
def measure_facts(draw, index: int = 0):
    starts = draw(DAYS)
    kind = draw(st.sampled_from(MEASURE_KINDS))
    open_ended = kind in ("joint_punishment_listing", "qualification_termination", "qualification_revoked")
    months = draw(st.integers(1, 12))
    restores = None if open_ended else starts + timedelta(days=30 * months)
    return MeasureFact(f"m{index}-{draw(st.integers(0, 10**6))}", kind, draw(st.sampled_from(["370100", "370900"])),
                       starts, restores, unrepaired=draw(st.booleans()) and restores is not None,
                       article=draw(st.sampled_from(["第九条第二项", "第九条第三项", "第九条第四项", "", "别的条款"])))


@st.composite
def subject_facts(draw):
    measures = tuple(draw(measure_facts(i)) for i in range(draw(st.integers(0, 4))))
    years = frozenset(draw(st.lists(st.integers(2020, 2031), max_size=4)) + [m.starts_on.year for m in measures])
    points = tuple(sorted({y: draw(st.integers(1, 12)) for y in draw(st.lists(st.sampled_from(sorted(years)),
                                                                              max_size=2))}.items())) if years else ()
    return SubjectFacts(measures=measures, record_years=years, points=points)


@settings(database=None, deadline=None, max_examples=300)
@given(facts=subject_facts(), day=DAYS)
def test_property_the_score_is_a_pure_function_of_facts_and_date(facts, day):
    first, again = evaluate(facts, day, SELECTION), evaluate(replace(facts), day, SELECTION)
    assert first == again
    assert first.score == max(MODEL.floor, MODEL.base + sum(c.change for c in first.contributions))
    fast = score_and_grade(BOOK, facts, day, listed=status_on("insured", facts, day).listed)
    assert fast == (first.score, first.grade)
    assert status_on("insured", facts, day, rules=BOOK).grade == first.grade.grade


@settings(database=None, deadline=None, max_examples=300)
@given(facts=subject_facts(), extra=measure_facts(99), points=st.integers(0, 12), day=DAYS)
def test_property_a_violation_never_raises_a_score(facts, extra, points, day):
    """A violation only adds facts: its record year, its points, the measures it caused."""
    year = extra.starts_on.year
    more = facts.with_new((extra,), year, points)
    before, after = evaluate(facts, day, SELECTION), evaluate(more, day, SELECTION)
    assert after.score <= before.score
    assert MODEL._rank(after.grade.grade) >= MODEL._rank(before.grade.grade)
    recorded_only = facts.with_new((), year)
    assert evaluate(recorded_only, day, SELECTION).score <= before.score


@settings(database=None, deadline=None, max_examples=100)
@given(day=DAYS)
def test_property_a_subject_never_recorded_has_the_top_grade(day):
    assert score_and_grade(BOOK, CLEAN, day, listed=False) == (MODEL.base, MODEL.top)
    assert status_on("insured", CLEAN, day, rules=BOOK).incentives == ("lenient_acceptance",)


# --- 第九条第一项 -----------------------------------------------------------------------------------

@pytest.mark.article("第九条第一项")
def test_art9_item1_no_lenient_acceptance_while_a_measure_is_in_force_or_after_a_violation_this_year():
    """The issue's case: suspended since 2025-04-10, asked about 2025-05-01 (2023 and 2024 clean)."""
    facts = SubjectFacts(measures=(suspension(starts="2025-04-10", restores="2025-10-10"),),
                         record_years=frozenset({2025}))
    assert status_on("insured", facts, D("2025-05-01")).incentives == ()
    assert status_on("insured", facts, D("2025-12-01")).incentives == ()  # ended, but determined this year
    assert status_on("insured", facts, D("2027-06-01")).incentives == ()  # 2025 is one of the two years
    assert status_on("insured", facts, D("2028-01-01")).incentives == ("lenient_acceptance",)


@pytest.mark.article("第九条第一项")
def test_art9_item1_a_measure_queued_into_a_clean_year_withholds_it_while_it_runs():
    # determined in 2022, queued behind another suspension into 2025: 2023 and 2024 carry no record
    queued = suspension(starts="2025-02-01", restores="2025-08-01", article="第九条第二项")
    facts = SubjectFacts(measures=(queued,), record_years=frozenset({2022}))
    assert status_on("insured", facts, D("2025-03-01")).incentives == ()
    assert status_on("insured", facts, D("2025-08-01")).incentives == ("lenient_acceptance",)


@pytest.mark.article("第九条第一项")
def test_art9_item1_the_grade_can_withhold_but_never_grant_lenient_acceptance():
    recorded = SubjectFacts(record_years=frozenset({2025}))
    assert status_on("insured", recorded, D("2026-05-01"), rules=BOOK).incentives == ()  # the article says no
    strict = replace(MODEL, grades=tuple(replace(g, unlocks=g.unlocks - {"lenient_acceptance"}) for g in MODEL.grades))
    book = replace(BOOK, rule_sets=tuple(replace(rs, evaluation=strict) if rs.evaluation else rs
                                         for rs in BOOK.rule_sets), _selections={})
    assert status_on("insured", CLEAN, D("2026-05-01"), rules=book).incentives == ()
    assert status_on("insured", CLEAN, D("2026-05-01"), rules=BOOK).incentives == ("lenient_acceptance",)


# --- the file ----------------------------------------------------------------------------------------

def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    text = (RULES_DIR / "shandong-evaluation-2024.toml").read_text(encoding="utf-8")
    assert old in text
    (tmp_path / "evaluation.toml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(("old", "new", "key"), [
    pytest.param("deduct = 15\n", "deduct = -15\n", "evaluation.record.deduct", id="negative-deduction"),
    pytest.param('regions = ["37"]', 'regions = ["3710"]', "regions", id="a-city-model"),
    pytest.param("min_score = 90", "min_score = 101", "evaluation.grades[0].min_score", id="top-grade-above-base"),
    pytest.param('min_score = 0\n', 'min_score = 10\n', "evaluation.grades[3].min_score", id="scores-without-grade"),
    pytest.param('listed_grade = "D"', 'listed_grade = "E"', "evaluation.listed_grade", id="unknown-listed-grade"),
    pytest.param('unlocks = ["credit_payment"]', 'unlocks = ["free_lunch"]', "evaluation.grades[1].unlocks",
                 id="unknown-unlock"),
    pytest.param('kind = "qualification_revoked"       # 取消医保医（药）师资格\ndeduct = 60',
                 'kind = "qualification_revoked"\narticle = "x"\ndeduct = 60', "evaluation.measures",
                 id="a-kind-without-default"),
    pytest.param('inspection = "reduced"', 'inspection = "never"', "evaluation.grades[0].inspection",
                 id="unknown-inspection"),
])
def test_a_malformed_evaluation_file_stops_start_up_naming_the_key(tmp_path, old, new, key):
    with pytest.raises(RuleConfigError) as error:
        load_rule_book(_copy_with(tmp_path, old, new))
    assert error.value.key == key


def test_the_province_code_selects_the_shipped_model():
    assert BOOK.select(PROVINCE, D("2026-05-01"), "evaluation") is SELECTION


@settings(database=None, deadline=None, max_examples=100)
@given(day=DAYS, subject_type=st.sampled_from(["insured", "physician", "pharmacist"]),
       emergency=st.sampled_from([None, True, False]))
def test_property_the_remembered_answer_for_a_clean_subject_is_the_computed_one(day, subject_type, emergency):
    from credit_service.domain.status import _status_on
    first = status_on(subject_type, CLEAN, day, emergency=emergency, rules=BOOK)
    assert status_on(subject_type, CLEAN, day, emergency=emergency, rules=BOOK) is first
    assert first == _status_on(subject_type, CLEAN, day, 2, emergency, BOOK)
