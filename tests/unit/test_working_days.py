"""Spec for the China working-day calendar (第十条: "15个工作日") and its config loader.

Expected dates are counted by hand from the 2026 notice (国办发明电〔2025〕7号); the weekday of each
date is written next to it. 2026 at a glance:
  元旦   01-01 Thu .. 01-03 Sat off; 01-04 Sun works
  春节   02-15 Sun .. 02-23 Mon off; 02-14 Sat and 02-28 Sat work
  清明   04-04 Sat .. 04-06 Mon off
  劳动节 05-01 Fri .. 05-05 Tue off; 05-09 Sat works
  端午   06-19 Fri .. 06-21 Sun off
  中秋   09-25 Fri .. 09-27 Sun off (a separate block from 国庆 in 2026)
  国庆   10-01 Thu .. 10-07 Wed off; 09-20 Sun and 10-10 Sat work
"""
from __future__ import annotations

import timeit
from datetime import date, datetime, timedelta
from pathlib import Path

import chinese_calendar
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_service.calendar_config import CalendarConfigError, build_calendar, load_year_schedules
from credit_service.domain.working_days import Deadline, WorkingCalendar, YearSchedule

D = date.fromisoformat
# database=None: no .hypothesis/ directory in the working tree; deadline=None: timing is tested
# separately and the first call of a year builds its table.
PROPERTY = settings(database=None, deadline=None, max_examples=200)

CAL = WorkingCalendar()
WEEKENDS_ONLY = WorkingCalendar(use_package=False)
PACKAGE_YEARS = range(2004, 2027)


def days(first: str, last: str) -> frozenset[date]:
    start, end = D(first), D(last)
    return frozenset(start + timedelta(days=i) for i in range((end - start).days + 1))


# A made-up 2027 schedule (the real one is unpublished): 元旦 01-01 Fri .. 01-03 Sun,
# 春节 02-05 Fri .. 02-13 Sat, 02-20 Sat works.
TOML_2027 = """\
year = 2027
source = "测试用虚构安排（非国务院办公厅通知）"
adjusted_working_days = [2027-02-20]

[[holiday]]
name = "元旦"
from = 2027-01-01
to = 2027-01-03

[[holiday]]
name = "春节"
dates = [2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09,
         2027-02-10, 2027-02-11, 2027-02-12, 2027-02-13]
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def package_2026_without(*removed: str) -> YearSchedule:
    base = CAL.schedule_for(2026)
    assert base is not None
    return YearSchedule(year=2026, holidays=base.holidays - {D(r) for r in removed},
                        adjusted_working_days=base.adjusted_working_days, source="operator override")


# --------------------------------------------------------------------------------------------
# The package data the hand counts rely on
# --------------------------------------------------------------------------------------------

def test_package_2026_data_matches_the_2026_notice():
    schedule = CAL.schedule_for(2026)
    assert schedule is not None
    assert schedule.adjusted_working_days == {
        D("2026-01-04"), D("2026-02-14"), D("2026-02-28"), D("2026-05-09"), D("2026-09-20"), D("2026-10-10")}
    assert schedule.holidays == (
        days("2026-01-01", "2026-01-03") | days("2026-02-15", "2026-02-23") | days("2026-04-04", "2026-04-06")
        | days("2026-05-01", "2026-05-05") | days("2026-06-19", "2026-06-21") | days("2026-09-25", "2026-09-27")
        | days("2026-10-01", "2026-10-07"))
    assert all(d.weekday() >= 5 for d in schedule.adjusted_working_days)


@pytest.mark.parametrize(("calendar", "year", "known"), [
    pytest.param(CAL, 2003, False, id="package-2003-unknown"),
    pytest.param(CAL, 2004, True, id="package-2004-first"),
    pytest.param(CAL, 2026, True, id="package-2026-last"),
    pytest.param(CAL, 2027, False, id="package-2027-unknown"),
    pytest.param(WEEKENDS_ONLY, 2026, False, id="no-package-2026-unknown"),
])
def test_knows_year(calendar, year, known):
    assert calendar.knows_year(year) is known
    assert (calendar.schedule_for(year) is not None) is known


# --------------------------------------------------------------------------------------------
# is_working_day
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("day", "working"), [
    pytest.param("2026-01-04", True, id="yuandan-adjusted-Sun"),
    pytest.param("2026-02-13", True, id="spring-Fri-before"),
    pytest.param("2026-02-14", True, id="spring-adjusted-Sat"),
    pytest.param("2026-02-15", False, id="spring-holiday-Sun"),
    pytest.param("2026-02-16", False, id="spring-holiday-Mon"),
    pytest.param("2026-02-23", False, id="spring-holiday-last-Mon"),
    pytest.param("2026-02-24", True, id="spring-first-Tue-after"),
    pytest.param("2026-02-28", True, id="spring-adjusted-Sat-after"),
    pytest.param("2026-03-01", False, id="ordinary-Sun"),
    pytest.param("2026-09-19", False, id="national-Sat-before-adjusted-Sun"),
    pytest.param("2026-09-20", True, id="national-adjusted-Sun"),
    pytest.param("2026-09-25", False, id="mid-autumn-Fri"),
    pytest.param("2026-10-05", False, id="national-holiday-Mon"),
    pytest.param("2026-10-10", True, id="national-adjusted-Sat"),
    pytest.param("2026-10-11", False, id="national-Sun-after"),
    pytest.param("2027-01-01", True, id="unknown-2027-Fri-weekends-only"),
    pytest.param("2027-01-02", False, id="unknown-2027-Sat"),
    pytest.param("2003-01-01", True, id="unknown-2003-Wed-weekends-only"),
])
def test_is_working_day(day, working):
    assert CAL.is_working_day(D(day)) is working


# --------------------------------------------------------------------------------------------
# add_working_days: start never counts; day 1 is the first working day after it
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "n", "due"), [
    pytest.param("2026-02-12", 1, "2026-02-13", id="spring-Thu-to-Fri"),
    pytest.param("2026-02-13", 1, "2026-02-14", id="spring-Fri-to-adjusted-Sat"),
    pytest.param("2026-02-13", 2, "2026-02-24", id="spring-Fri-2-skips-holiday"),
    pytest.param("2026-02-14", 1, "2026-02-24", id="spring-from-adjusted-Sat"),
    pytest.param("2026-02-15", 1, "2026-02-24", id="spring-from-holiday-is-not-day-0"),
    pytest.param("2026-02-20", 1, "2026-02-24", id="spring-from-mid-holiday-Fri"),
    pytest.param("2026-02-23", 1, "2026-02-24", id="spring-from-last-holiday"),
    pytest.param("2026-02-27", 1, "2026-02-28", id="spring-Fri-to-adjusted-Sat-after"),
    pytest.param("2026-02-28", 1, "2026-03-02", id="spring-adjusted-Sat-to-Mon"),
    pytest.param("2026-03-07", 1, "2026-03-09", id="ordinary-Sat-is-not-day-0"),
    pytest.param("2025-12-31", 1, "2026-01-04", id="yuandan-across-known-years-adjusted-Sun"),
    pytest.param("2026-04-30", 1, "2026-05-06", id="labour-day"),
    pytest.param("2026-05-08", 1, "2026-05-09", id="labour-adjusted-Sat"),
    pytest.param("2026-09-18", 1, "2026-09-20", id="national-Fri-to-adjusted-Sun"),
    pytest.param("2026-09-24", 1, "2026-09-28", id="mid-autumn-Thu-to-Mon"),
    pytest.param("2026-09-30", 1, "2026-10-08", id="national-Wed-to-Thu-after"),
    pytest.param("2026-10-07", 3, "2026-10-10", id="national-to-adjusted-Sat"),
])
def test_add_working_days_around_2026_holidays(start, n, due):
    assert CAL.add_working_days(D(start), n) == Deadline(due_on=D(due), provisional=False)


@pytest.mark.parametrize(("received", "due"), [
    # 02-13 Fri(1), 02-14 Sat adj(2), [02-15..02-23 off], 02-24 Tue(3), 25(4), 26(5), 27 Fri(6),
    # 02-28 Sat adj(7), 03-02 Mon(8), 03(9), 04(10), 05(11), 06 Fri(12), 09 Mon(13), 10(14), 11 Wed(15)
    pytest.param("2026-02-12", "2026-03-11", id="art10-received-2026-02-12-Thu"),
    # 02-14 Sat adj(1), 02-24(2), 25(3), 26(4), 27(5), 02-28 Sat adj(6), 03-02(7), 03(8), 04(9),
    # 05(10), 06(11), 09(12), 10(13), 11(14), 03-12 Thu(15)
    pytest.param("2026-02-13", "2026-03-12", id="art10-received-2026-02-13-Fri"),
    # the count from 02-13 shifted by one: 02-24(1) .. 03-12(14), 03-13 Fri(15)
    pytest.param("2026-02-14", "2026-03-13", id="art10-received-2026-02-14-adjusted-Sat"),
    # nothing counts until 02-24, so the same as from 02-14
    pytest.param("2026-02-15", "2026-03-13", id="art10-received-2026-02-15-holiday-Sun"),
    # 09-20 Sun adj(1), 21(2), 22(3), 23(4), 24 Thu(5), [09-25..27 中秋], 28(6), 29(7), 30(8),
    # [10-01..07 国庆], 10-08(9), 09(10), 10-10 Sat adj(11), 12(12), 13(13), 14(14), 10-15 Thu(15)
    pytest.param("2026-09-18", "2026-10-15", id="art10-received-2026-09-18-Fri"),
    # 10-08 Thu(1), 09(2), 10-10 Sat adj(3), 12(4), 13(5), 14(6), 15(7), 16(8), 19(9), 20(10),
    # 21(11), 22(12), 23(13), 26 Mon(14), 10-27 Tue(15)
    pytest.param("2026-09-30", "2026-10-27", id="art10-received-2026-09-30-Wed"),
    # [05-01..05 off], 05-06 Wed(1), 07(2), 08(3), 05-09 Sat adj(4), 11(5), 12(6), 13(7), 14(8),
    # 15(9), 18(10), 19(11), 20(12), 21(13), 22(14), 05-25 Mon(15)
    pytest.param("2026-04-30", "2026-05-25", id="art10-received-2026-04-30-Thu"),
])
@pytest.mark.article("第十条")
def test_art10_fifteen_working_day_deadline(received, due):
    """第十条: 15个工作日, counted from the day after the notice is received."""
    assert CAL.add_working_days(D(received), 15) == Deadline(due_on=D(due), provisional=False)


@pytest.mark.article("第十条")


def test_holidays_matter_for_art10():
    # Weekends only, 02-13 + 15 would be 02-16..20(5), 02-23..27(10), 03-02..06(15) = 03-06.
    assert WEEKENDS_ONLY.add_working_days(D("2026-02-13"), 15) == Deadline(D("2026-03-06"), provisional=True)
    assert CAL.add_working_days(D("2026-02-13"), 15).due_on == D("2026-03-12")


def test_find_workday_pitfall_is_avoided():
    # chinese_calendar.find_workday treats a non-working start as day 0 and so is one day late here.
    assert chinese_calendar.find_workday(1, D("2026-02-15")) == D("2026-02-25")
    assert CAL.add_working_days(D("2026-02-15"), 1).due_on == D("2026-02-24")


@pytest.mark.parametrize("n", [0, -1])
def test_n_must_be_positive(n):
    with pytest.raises(ValueError, match="n must be >= 1"):
        CAL.add_working_days(D("2026-02-13"), n)


@pytest.mark.parametrize("n", [1.0, True, "15"])
def test_n_must_be_an_int(n):
    with pytest.raises(TypeError):
        CAL.add_working_days(D("2026-02-13"), n)


def test_datetime_is_rejected():
    # A datetime never equals a date, so it would silently miss every holiday.
    with pytest.raises(TypeError):
        CAL.add_working_days(datetime(2026, 2, 15, 9, 0), 1)
    with pytest.raises(TypeError):
        CAL.is_working_day(datetime(2026, 2, 15))


# --------------------------------------------------------------------------------------------
# working_days_between: start < d <= end
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "end", "count"), [
    pytest.param("2026-02-13", "2026-02-13", 0, id="same-day"),
    pytest.param("2026-02-14", "2026-02-13", 0, id="end-before-start"),
    pytest.param("2026-02-13", "2026-02-14", 1, id="adjusted-Sat-counts"),
    pytest.param("2026-02-14", "2026-02-23", 0, id="whole-spring-festival"),
    pytest.param("2026-02-13", "2026-03-12", 15, id="art10-2026-02-13"),
    # 2026: 261 weekdays (52 weeks + Thu 01-01) - 19 weekday holidays (01-01, 01-02, 02-16..20,
    # 02-23, 04-06, 05-01, 05-04, 05-05, 06-19, 09-25, 10-01, 10-02, 10-05..07) + 6 adjusted = 248
    pytest.param("2025-12-31", "2026-12-31", 248, id="all-of-2026"),
    # 2026-12-21..25, 28..31 (9) + 2027 by weekends only: 01-01, 04..08 (6)
    pytest.param("2026-12-20", "2027-01-08", 15, id="into-unknown-2027"),
])
def test_working_days_between(start, end, count):
    assert CAL.working_days_between(D(start), D(end)) == count


# --------------------------------------------------------------------------------------------
# Into an unknown year: provisional, until the operator publishes the year
# --------------------------------------------------------------------------------------------

def test_deadline_into_unpublished_2027_is_provisional():
    # 12-21 Mon(1) .. 12-25(5), 12-28(6) .. 12-31 Thu(9), then weekends only:
    # 2027-01-01 Fri(10), 01-04 Mon(11) .. 01-08 Fri(15)
    assert CAL.add_working_days(D("2026-12-20"), 15) == Deadline(due_on=D("2027-01-08"), provisional=True)
    assert CAL.unknown_years(D("2026-12-20"), D("2027-01-08")) == {2027}


def test_deadline_moves_when_2027_is_published(tmp_path):
    write(tmp_path, "2027.toml", TOML_2027)
    calendar = build_calendar(tmp_path)
    # 12-21(1) .. 12-31 Thu(9), [2027-01-01..03 元旦], 01-04 Mon(10) .. 01-08 Fri(14), 01-11 Mon(15)
    assert calendar.add_working_days(D("2026-12-20"), 15) == Deadline(due_on=D("2027-01-11"), provisional=False)
    assert calendar.unknown_years(D("2026-12-20"), D("2027-01-11")) == set()
    # the package still supplies 2026
    assert calendar.is_working_day(D("2026-02-14")) and not calendar.is_working_day(D("2026-02-16"))
    # 2027 春节 from the file: 02-04 Thu(1), [02-05..13 off], 02-15 Mon(2); 02-20 Sat works
    assert calendar.add_working_days(D("2027-02-03"), 2) == Deadline(due_on=D("2027-02-15"), provisional=False)
    assert calendar.is_working_day(D("2027-02-20"))
    # and 2028 is unknown again
    assert calendar.add_working_days(D("2027-12-30"), 2) == Deadline(due_on=D("2028-01-03"), provisional=True)


@pytest.mark.parametrize(("start", "n", "deadline"), [
    pytest.param("2026-12-30", 1, Deadline(D("2026-12-31"), False), id="ends-in-known-year"),
    pytest.param("2026-12-31", 1, Deadline(D("2027-01-01"), True), id="first-counted-day-unknown"),
    # the start day is not counted, so starting in unknown 2003 is not provisional;
    # 2004-01-01 Thu is 元旦, 01-02 Fri works
    pytest.param("2003-12-31", 1, Deadline(D("2004-01-02"), False), id="start-in-unknown-year-not-counted"),
    pytest.param("2003-12-30", 1, Deadline(D("2003-12-31"), True), id="counted-day-in-unknown-2003"),
])
def test_provisional_depends_on_counted_days_only(start, n, deadline):
    assert CAL.add_working_days(D(start), n) == deadline


# --------------------------------------------------------------------------------------------
# Overrides win over the package for the whole year
# --------------------------------------------------------------------------------------------

def test_override_removing_a_holiday_changes_the_count():
    calendar = WorkingCalendar({2026: package_2026_without("2026-02-23")})
    assert calendar.is_working_day(D("2026-02-23"))
    assert calendar.add_working_days(D("2026-02-14"), 1) == Deadline(D("2026-02-23"), provisional=False)
    # one more working day than the package count (03-12), so the 15th day is one earlier
    assert calendar.add_working_days(D("2026-02-13"), 15) == Deadline(D("2026-03-11"), provisional=False)
    assert calendar.schedule_for(2026).source == "operator override"


def test_override_replaces_the_whole_year_not_merged():
    spring_only = YearSchedule(year=2026, holidays=days("2026-02-15", "2026-02-23"),
                               adjusted_working_days=frozenset({D("2026-02-14"), D("2026-02-28")}),
                               source="spring festival only")
    calendar = WorkingCalendar({2026: spring_only})
    assert calendar.is_working_day(D("2026-10-05"))  # 国庆 is no longer a holiday
    assert not calendar.is_working_day(D("2026-10-10"))  # nor is its 调休 Saturday a working day
    assert not calendar.is_working_day(D("2026-02-16"))
    assert calendar.is_working_day(D("2025-10-01")) is False  # other years still from the package


def test_override_for_an_unknown_year_without_package():
    calendar = WorkingCalendar({2026: package_2026_without()}, use_package=False)
    assert calendar.knows_year(2026) and not calendar.knows_year(2025)
    assert calendar.add_working_days(D("2026-02-13"), 15) == Deadline(D("2026-03-12"), provisional=False)
    # 2025-12-31 Wed is working by the weekends-only fallback and makes the result provisional
    assert calendar.add_working_days(D("2025-12-30"), 2) == Deadline(D("2026-01-04"), provisional=True)


def test_override_key_must_match_its_year():
    with pytest.raises(ValueError, match="keyed 2027"):
        WorkingCalendar({2027: package_2026_without()})


@pytest.mark.parametrize(("kwargs", "error"), [
    pytest.param(dict(holidays={D("2027-01-01")}, adjusted_working_days=set()), ValueError, id="date-outside-year"),
    pytest.param(dict(holidays={D("2026-02-14")}, adjusted_working_days={D("2026-02-14")}), ValueError,
                 id="holiday-and-adjusted"),
    pytest.param(dict(holidays={datetime(2026, 2, 16)}, adjusted_working_days=set()), TypeError, id="datetime"),
])
def test_year_schedule_rejects_inconsistent_data(kwargs, error):
    with pytest.raises(error):
        YearSchedule(year=2026, source="test", **kwargs)


# --------------------------------------------------------------------------------------------
# Loader
# --------------------------------------------------------------------------------------------

def test_loader_reads_both_holiday_forms(tmp_path):
    write(tmp_path, "2027.toml", TOML_2027)
    schedules = load_year_schedules(tmp_path)
    assert list(schedules) == [2027]
    schedule = schedules[2027]
    assert schedule.holidays == days("2027-01-01", "2027-01-03") | days("2027-02-05", "2027-02-13")
    assert schedule.adjusted_working_days == {D("2027-02-20")}
    assert schedule.source == "测试用虚构安排（非国务院办公厅通知）"


def test_loader_ignores_drafts_hidden_and_non_toml_files(tmp_path):
    write(tmp_path, "2027.toml", TOML_2027)
    write(tmp_path, "_draft-2028.toml", "year = 2028\nthis is not toml")
    write(tmp_path, ".2028.toml", "year = 'broken")
    write(tmp_path, "notes.txt", "year = 2029")
    assert list(load_year_schedules(tmp_path)) == [2027]


def test_shipped_calendar_directory_loads():
    directory = Path(__file__).resolve().parents[2] / "config" / "calendar"
    schedules = load_year_schedules(directory)
    assert all(s.year == y for y, s in schedules.items())
    build_calendar(directory)


def test_missing_directory_is_an_error(tmp_path):
    with pytest.raises(CalendarConfigError, match="does not exist"):
        load_year_schedules(tmp_path / "nope")


def test_empty_directory_gives_package_calendar(tmp_path):
    calendar = build_calendar(tmp_path)
    assert calendar.add_working_days(D("2026-02-13"), 15) == Deadline(D("2026-03-12"), provisional=False)
    assert not calendar.knows_year(2027)


BAD_FILES = [
    # (id, old text, new text, key, problem)
    ("missing-year", "year = 2027\n", "", "year", "missing"),
    ("year-not-int", "year = 2027\n", 'year = "2027"\n', "year", "integer year"),
    ("missing-source", 'source = "测试用虚构安排（非国务院办公厅通知）"\n', "", "source", "missing"),
    ("unknown-top-level-key", "adjusted_working_days =", "adjusted_workdays =", "adjusted_workdays", "unknown key"),
    ("adjusted-outside-year", "[2027-02-20]", "[2026-02-20]", "adjusted_working_days[0]", "outside"),
    ("adjusted-not-weekend", "[2027-02-20]", "[2027-02-19]", "adjusted_working_days[0]", "Saturday or Sunday"),
    ("adjusted-quoted-string", "[2027-02-20]", '["2027-02-20"]', "adjusted_working_days[0]", "without quotes"),
    ("adjusted-datetime", "[2027-02-20]", "[2027-02-20T00:00:00]", "adjusted_working_days[0]", "not a date"),
    ("adjusted-listed-twice", "[2027-02-20]", "[2027-02-20, 2027-02-20]", "adjusted_working_days[1]",
     "listed twice"),
    ("holiday-is-adjusted", "[2027-02-20]", "[2027-01-02]", "holiday[0].from..to", "adjusted working day"),
    ("holiday-date-outside-year", "dates = [2027-02-05,", "dates = [2028-02-05,", "holiday[1].dates[0]",
     "outside"),
    ("holiday-from-outside-year", "from = 2027-01-01", "from = 2026-12-31", "holiday[0].from", "outside"),
    ("holiday-to-outside-year", "to = 2027-01-03", "to = 2026-12-31", "holiday[0].to", "outside"),
    ("holiday-to-before-from", "from = 2027-01-01\nto = 2027-01-03",
     "from = 2027-01-03\nto = 2027-01-01", "holiday[0].to", "before"),
    ("holiday-from-without-to", "to = 2027-01-03\n", "", "holiday[0].to", "missing"),
    ("holiday-dates-and-range", 'name = "元旦"\n', 'name = "元旦"\ndates = [2027-01-01]\n', "holiday[0].dates",
     "not both"),
    ("holiday-no-dates", "from = 2027-01-01\nto = 2027-01-03\n", "", "holiday[0].dates", "missing"),
    ("holiday-empty-dates", "from = 2027-01-01\nto = 2027-01-03\n", "dates = []\n", "holiday[0].dates",
     "non-empty"),
    ("holiday-missing-name", 'name = "元旦"\n', "", "holiday[0].name", "missing"),
    ("holiday-unknown-key", "from = 2027-01-01\nto = 2027-01-03\n", "date = [2027-01-01]\n",
     "holiday[0].date", "unknown key"),
    ("holiday-date-twice", "dates = [2027-02-05,", "dates = [2027-01-03,", "holiday[1].dates[0]", "listed twice"),
    ("no-holiday-tables", TOML_2027[TOML_2027.index("[[holiday]]"):], "", "holiday", "missing"),
    ("invalid-toml", "year = 2027", "year = = 2027", None, "not valid TOML"),
]


@pytest.mark.parametrize(("old", "new", "key", "problem"),
                         [pytest.param(*case[1:], id=case[0]) for case in BAD_FILES])
def test_loader_error_names_file_key_and_problem(tmp_path, old, new, key, problem):
    assert old in TOML_2027
    path = write(tmp_path, "2027.toml", TOML_2027.replace(old, new, 1))
    with pytest.raises(CalendarConfigError) as info:
        load_year_schedules(tmp_path)
    error = info.value
    assert isinstance(error, ValueError)
    assert (error.path, error.key) == (path, key)
    assert str(path) in str(error) and problem in str(error)
    if key is not None:
        assert f"'{key}'" in str(error)


def test_duplicate_year_across_files(tmp_path):
    later = write(tmp_path, "2027.toml", TOML_2027)
    earlier = write(tmp_path, "2027-corrected.toml", TOML_2027)
    with pytest.raises(CalendarConfigError) as info:
        load_year_schedules(tmp_path)
    # files are read in name order ("-" sorts before "."), so the error is on the second one read
    assert (info.value.path, info.value.key) == (later, "year")
    assert "already defined" in str(info.value)
    assert str(later) in str(info.value) and str(earlier) in str(info.value)


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

ANY_DAY = st.dates(min_value=D("2002-01-01"), max_value=D("2028-12-31"))
KNOWN_START = st.dates(min_value=D("2004-01-01"), max_value=D("2026-06-30"))


def reference_is_working_day(d: date) -> bool:
    if d.year in PACKAGE_YEARS:
        return chinese_calendar.is_workday(d)
    return d.weekday() < 5


def reference_add_working_days(start: date, n: int) -> date:
    d = start
    while n:
        d += timedelta(days=1)
        n -= reference_is_working_day(d)
    return d


@PROPERTY
@given(ANY_DAY)
def test_is_working_day_matches_package_or_weekends(d):
    assert CAL.is_working_day(d) is reference_is_working_day(d)


@settings(database=None, deadline=None, max_examples=100)
@given(ANY_DAY, st.integers(1, 60))
def test_add_working_days_matches_day_by_day_reference(start, n):
    assert CAL.add_working_days(start, n).due_on == reference_add_working_days(start, n)


@PROPERTY
@given(ANY_DAY, st.integers(1, 300))
def test_add_working_days_properties(start, n):
    deadline = CAL.add_working_days(start, n)
    due = deadline.due_on
    assert due > start
    assert CAL.is_working_day(due)
    assert CAL.working_days_between(start, due) == n
    assert CAL.working_days_between(start, due - timedelta(days=1)) == n - 1  # the n-th, not later
    assert CAL.add_working_days(start, n + 1).due_on > due  # strictly increasing in n
    counted_years = range((start + timedelta(days=1)).year, due.year + 1)
    assert deadline.provisional == any(y not in PACKAGE_YEARS for y in counted_years)


@PROPERTY
@given(KNOWN_START, st.integers(1, 100))
def test_deadlines_within_known_years_are_not_provisional(start, n):
    # 100 working days after 2026-06-30 end before December 2026
    assert CAL.add_working_days(start, n).provisional is False


@PROPERTY
@given(ANY_DAY, st.integers(1, 40), st.integers(1, 40))
def test_add_working_days_composes(start, a, b):
    middle = CAL.add_working_days(start, a).due_on
    assert CAL.add_working_days(middle, b).due_on == CAL.add_working_days(start, a + b).due_on


@PROPERTY
@given(ANY_DAY, ANY_DAY, ANY_DAY)
def test_working_days_between_is_additive(x, y, z):
    a, b, c = sorted((x, y, z))
    assert CAL.working_days_between(a, c) == CAL.working_days_between(a, b) + CAL.working_days_between(b, c)


WEEKENDS_2026 = [d for d in days("2026-01-01", "2026-12-31") if d.weekday() >= 5]


@settings(database=None, deadline=None, max_examples=50)
@given(st.frozensets(st.sampled_from(sorted(days("2026-01-01", "2026-12-31"))), max_size=60),
       st.frozensets(st.sampled_from(WEEKENDS_2026), max_size=10),
       st.booleans())
def test_any_override_schedule_defines_working_days(holidays, adjusted, use_package):
    adjusted = adjusted - holidays
    calendar = WorkingCalendar({2026: YearSchedule(2026, holidays, adjusted, "random")}, use_package=use_package)
    for d in days("2026-01-01", "2026-12-31"):
        assert calendar.is_working_day(d) is (d in adjusted or (d.weekday() < 5 and d not in holidays))


# --------------------------------------------------------------------------------------------
# Speed: deadlines are computed in request handlers and batch jobs
# --------------------------------------------------------------------------------------------

def test_fifteen_working_days_take_microseconds():
    calendar = WorkingCalendar()
    start = D("2026-02-13")
    calendar.add_working_days(start, 15)  # builds the 2026 table once
    per_call = min(timeit.repeat(lambda: calendar.add_working_days(start, 15), number=1000, repeat=5)) / 1000
    # ~5 µs expected; calling chinese_calendar.is_workday per day costs ~30 µs a day (~600 µs here).
    assert per_call < 50e-6
