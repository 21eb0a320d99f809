"""Loads operator-published holiday schedules (config/calendar/*.toml) into YearSchedules.

The file format is documented in config/calendar/README.md. Every problem is reported as a
CalendarConfigError naming the file, the key and what is wrong, so an operator can fix the file
without reading code. Files whose name starts with "_" or "." are ignored (drafts).
"""
from __future__ import annotations

import tomllib
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from credit_service.domain.working_days import WorkingCalendar, YearSchedule

_TOP_LEVEL_KEYS = {"year", "source", "adjusted_working_days", "holiday"}
_HOLIDAY_KEYS = {"name", "dates", "from", "to"}


class CalendarConfigError(ValueError):
    def __init__(self, path: Path, key: str | None, problem: str) -> None:
        self.path, self.key, self.problem = path, key, problem
        where = f"{path}: key '{key}'" if key else f"{path}"
        super().__init__(f"{where}: {problem}")


def load_year_schedules(directory: Path) -> dict[int, YearSchedule]:
    directory = Path(directory)
    if not directory.is_dir():
        raise CalendarConfigError(directory, None, "calendar config directory does not exist")
    schedules: dict[int, YearSchedule] = {}
    origin: dict[int, Path] = {}
    for path in sorted(directory.glob("*.toml"), key=lambda p: p.name):
        if path.name.startswith(("_", ".")) or not path.is_file():
            continue
        schedule = _load_file(path)
        if schedule.year in schedules:
            raise CalendarConfigError(path, "year", f"year {schedule.year} is already defined "
                                                    f"in {origin[schedule.year]}")
        schedules[schedule.year] = schedule
        origin[schedule.year] = path
    return schedules


def build_calendar(directory: Path) -> WorkingCalendar:
    return WorkingCalendar(load_year_schedules(directory))


def _load_file(path: Path) -> YearSchedule:
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise CalendarConfigError(path, None, f"not valid TOML: {exc}") from None
    except UnicodeDecodeError as exc:
        raise CalendarConfigError(path, None, f"not UTF-8: {exc}") from None

    _reject_unknown_keys(path, data, _TOP_LEVEL_KEYS, prefix="")

    if "year" not in data:
        raise CalendarConfigError(path, "year", "missing (e.g. year = 2027)")
    year = data["year"]
    if not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9998:
        raise CalendarConfigError(path, "year", f"must be an integer year like 2027, got {year!r}")

    source = data.get("source")
    if not isinstance(source, str) or not source.strip():
        raise CalendarConfigError(path, "source", "missing or empty: name the notice the dates come "
                                                  "from (e.g. 国务院办公厅关于…部分节假日安排的通知)")

    adjusted_raw = data.get("adjusted_working_days", [])
    if not isinstance(adjusted_raw, list):
        raise CalendarConfigError(path, "adjusted_working_days",
                                  "must be an array of dates, e.g. [2027-02-20]")
    adjusted: dict[date, str] = {}
    for index, value in enumerate(adjusted_raw):
        key = f"adjusted_working_days[{index}]"
        d = _date(path, key, value, year)
        if d.weekday() < 5:
            raise CalendarConfigError(path, key, f"{d} is a {d.strftime('%A')}; an adjusted working "
                                                 "day (调休上班日) must be a Saturday or Sunday")
        if d in adjusted:
            raise CalendarConfigError(path, key, f"{d} is listed twice (also {adjusted[d]})")
        adjusted[d] = key

    blocks = data.get("holiday")
    if blocks is None:
        raise CalendarConfigError(path, "holiday", "missing: a year needs at least one [[holiday]] "
                                                   "table (放假安排)")
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        raise CalendarConfigError(path, "holiday", "must be [[holiday]] tables")
    if not blocks:
        raise CalendarConfigError(path, "holiday", "needs at least one [[holiday]] table")
    holidays: dict[date, str] = {}
    for index, block in enumerate(blocks):
        prefix = f"holiday[{index}]"
        _reject_unknown_keys(path, block, _HOLIDAY_KEYS, prefix=prefix + ".")
        name = block.get("name")
        if not isinstance(name, str) or not name.strip():
            raise CalendarConfigError(path, f"{prefix}.name", "missing or empty (e.g. name = \"春节\")")
        label = f"{prefix} ({name})"
        for key, d in _holiday_dates(path, prefix, block, year):
            if d in adjusted:
                raise CalendarConfigError(path, key, f"{d} is both a holiday ({name}) and an adjusted "
                                                     f"working day ({adjusted[d]})")
            if d in holidays:
                raise CalendarConfigError(path, key, f"{d} is listed twice (also in {holidays[d]})")
            holidays[d] = label

    return YearSchedule(year=year, holidays=frozenset(holidays),
                        adjusted_working_days=frozenset(adjusted), source=source.strip())


def _holiday_dates(path: Path, prefix: str, block: dict[str, Any], year: int) -> list[tuple[str, date]]:
    has_dates = "dates" in block
    has_range = "from" in block or "to" in block
    if has_dates and has_range:
        raise CalendarConfigError(path, f"{prefix}.dates", "give either dates = [...] or "
                                                           "from = ... / to = ..., not both")
    if has_dates:
        values = block["dates"]
        if not isinstance(values, list) or not values:
            raise CalendarConfigError(path, f"{prefix}.dates", "must be a non-empty array of dates")
        return [(f"{prefix}.dates[{i}]", _date(path, f"{prefix}.dates[{i}]", v, year))
                for i, v in enumerate(values)]
    if not has_range:
        raise CalendarConfigError(path, f"{prefix}.dates", "missing: give dates = [...] or "
                                                           "from = ... and to = ... (inclusive)")
    for key in ("from", "to"):
        if key not in block:
            raise CalendarConfigError(path, f"{prefix}.{key}", "missing (from and to go together)")
    first = _date(path, f"{prefix}.from", block["from"], year)
    last = _date(path, f"{prefix}.to", block["to"], year)
    if last < first:
        raise CalendarConfigError(path, f"{prefix}.to", f"{last} is before from = {first}")
    return [(f"{prefix}.from..to", first + timedelta(days=i)) for i in range((last - first).days + 1)]


def _date(path: Path, key: str, value: object, year: int) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        hint = " (write a bare TOML date like 2027-02-20, without quotes)" if isinstance(value, str) else ""
        raise CalendarConfigError(path, key, f"{value!r} is not a date{hint}")
    if value.year != year:
        raise CalendarConfigError(path, key, f"{value} is outside the file's year = {year}")
    return value


def _reject_unknown_keys(path: Path, table: dict[str, Any], allowed: set[str], prefix: str) -> None:
    for key in table:
        if key not in allowed:
            raise CalendarConfigError(path, f"{prefix}{key}",
                                      f"unknown key; allowed: {', '.join(sorted(allowed))}")
