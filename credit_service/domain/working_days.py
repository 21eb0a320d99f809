"""China working days (工作日) for deadlines such as 第十条's "15个工作日".

Base data is the `chinese_calendar` package (法定节假日 and 调休上班日 for the years it ships,
2004-2026 in chinesecalendar 1.11). Operator-published schedules (config/calendar/*.toml, parsed
by credit_service.calendar_config) override the package for every year they cover. Any other year
falls back to "Monday-Friday are working days", and a deadline that counted a day in such a year is
marked provisional so callers can show it as an estimate.

Counting rule: the day the clock starts (e.g. the day a notice is received) never counts, whether
or not it is itself a working day; day 1 is the first working day after it. This differs from
`chinese_calendar.find_workday`, which treats a non-working start day as day 0.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from types import MappingProxyType

import chinese_calendar
from chinese_calendar import constants as _package_data


@dataclass(frozen=True)
class YearSchedule:
    """One calendar year's official schedule.

    holidays: 放假日期 (days off, weekend days inside a holiday block included).
    adjusted_working_days: 调休上班日 (weekend days that are working days).
    source: where the schedule comes from (e.g. the 国务院办公厅 notice).
    """

    year: int
    holidays: frozenset[date]
    adjusted_working_days: frozenset[date]
    source: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "holidays", frozenset(self.holidays))
        object.__setattr__(self, "adjusted_working_days", frozenset(self.adjusted_working_days))
        for field_name in ("holidays", "adjusted_working_days"):
            for d in getattr(self, field_name):
                if type(d) is not date:
                    raise TypeError(f"YearSchedule({self.year}).{field_name}: {d!r} is not a date")
                if d.year != self.year:
                    raise ValueError(f"YearSchedule({self.year}).{field_name}: {d} is outside {self.year}")
        both = self.holidays & self.adjusted_working_days
        if both:
            raise ValueError(f"YearSchedule({self.year}): {sorted(both)[0]} is both a holiday "
                             "and an adjusted working day")


@dataclass(frozen=True)
class Deadline:
    due_on: date
    provisional: bool  # some counted day fell in a year whose official schedule is unknown


def _package_schedules() -> dict[int, YearSchedule]:
    """The package's data, split per year; its supported range is [min year, max year] of its
    holiday table, exactly as chinese_calendar._validate_date decides it."""
    holidays, workdays = _package_data.holidays, _package_data.workdays
    first, last = min(holidays).year, max(holidays).year
    version = getattr(chinese_calendar, "__version__", "?")
    return {
        year: YearSchedule(
            year=year,
            holidays=frozenset(d for d in holidays if d.year == year),
            adjusted_working_days=frozenset(d for d in workdays if d.year == year),
            source=f"chinesecalendar {version}",
        )
        for year in range(first, last + 1)
    }


_PACKAGE_SCHEDULES: Mapping[int, YearSchedule] = MappingProxyType(_package_schedules())
_NO_OVERRIDES: Mapping[int, YearSchedule] = MappingProxyType({})


@dataclass(frozen=True)
class _YearTable:
    known: bool
    first_ordinal: int  # date(year, 1, 1).toordinal()
    working: bytes  # working[i] == 1 iff the i-th day of the year (0-based) is a working day


def _check_date(value: object, name: str) -> date:
    # datetime is a date subclass but never equals a date, so it would silently miss every set.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime.date, got {type(value).__name__}")
    return value


class WorkingCalendar:
    """Immutable after construction; per-year tables are built lazily and cached."""

    def __init__(self, overrides: Mapping[int, YearSchedule] = _NO_OVERRIDES,
                 use_package: bool = True) -> None:
        for year, schedule in overrides.items():
            if schedule.year != year:
                raise ValueError(f"override keyed {year} holds the schedule for {schedule.year}")
        schedules = dict(_PACKAGE_SCHEDULES) if use_package else {}
        schedules.update(overrides)
        self._schedules: Mapping[int, YearSchedule] = MappingProxyType(schedules)
        self._tables: dict[int, _YearTable] = {}

    # -- per-year data -------------------------------------------------------------------------

    def knows_year(self, year: int) -> bool:
        return year in self._schedules

    def schedule_for(self, year: int) -> YearSchedule | None:
        """The schedule in force for `year` (override or package), None if the year is unknown."""
        return self._schedules.get(year)

    def _table(self, year: int) -> _YearTable:
        table = self._tables.get(year)
        if table is None:
            table = self._tables[year] = self._build_table(year)
        return table

    def _build_table(self, year: int) -> _YearTable:
        first = date(year, 1, 1).toordinal()
        days = date(year + 1, 1, 1).toordinal() - first if year < 9999 else 365
        schedule = self._schedules.get(year)
        working = bytearray(days)
        weekday = date(year, 1, 1).weekday()
        for i in range(days):
            working[i] = (weekday + i) % 7 < 5
        if schedule is not None:
            for d in schedule.holidays:
                working[d.toordinal() - first] = 0
            for d in schedule.adjusted_working_days:
                working[d.toordinal() - first] = 1
        return _YearTable(known=schedule is not None, first_ordinal=first, working=bytes(working))

    # -- queries -------------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        _check_date(d, "d")
        table = self._table(d.year)
        return table.working[d.toordinal() - table.first_ordinal] == 1

    def add_working_days(self, start: date, n: int) -> Deadline:
        """The n-th working day after `start` (start itself never counts)."""
        _check_date(start, "start")
        if not isinstance(n, int) or isinstance(n, bool):
            raise TypeError(f"n must be an int, got {type(n).__name__}")
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        year = start.year
        table = self._table(year)
        working = table.working
        i = start.toordinal() - table.first_ordinal  # index of start; counting begins at i + 1
        remaining = n
        provisional = False
        while True:
            i += 1
            if i >= len(working):
                year += 1
                table = self._table(year)
                working = table.working
                i = 0
            if not table.known:
                provisional = True
            if working[i]:
                remaining -= 1
                if remaining == 0:
                    return Deadline(due_on=date.fromordinal(table.first_ordinal + i),
                                    provisional=provisional)

    def working_days_between(self, start: date, end: date) -> int:
        """Number of working days d with start < d <= end (0 when end <= start)."""
        _check_date(start, "start")
        _check_date(end, "end")
        if end <= start:
            return 0
        total = 0
        for year in range(start.year, end.year + 1):
            table = self._table(year)
            lo = start.toordinal() + 1 - table.first_ordinal if year == start.year else 0
            hi = end.toordinal() + 1 - table.first_ordinal if year == end.year else len(table.working)
            total += sum(table.working[lo:hi])
        return total

    def unknown_years(self, start: date, end: date) -> set[int]:
        """Years without a known schedule among the days d with start < d <= end."""
        _check_date(start, "start")
        _check_date(end, "end")
        if end <= start:
            return set()
        first_counted = date.fromordinal(start.toordinal() + 1)
        return {y for y in range(first_counted.year, end.year + 1) if not self.knows_year(y)}
