"""The lawful range of the dates callers give.

Facts that happened — a violation occurring or being determined, a notice served or received, an
objection or a repair filed or decided — lie between the earliest date the service accepts and today
(the "not after today" half is checked where each fact is decided). A day asked about (the `on` of a
status check, a batch, a claim) may lie ahead of today, up to a bound, so that a settlement system can
check a booked admission; never before the earliest date. The earliest date keeps mistyped and corrupt
years (1899, 0001) out of the record: one row determined 1899-12-31 once stopped the status index of
every other process (issue 9).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")

DEFAULT_EARLIEST = date(1990, 1, 1)


def parse_day(value) -> date | None:
    """A day written YYYY-MM-DD exactly, a real calendar date; None for anything else. (Python's
    fromisoformat also takes forms such as 20250101 and 2025-W01-1, which API.md does not.)"""
    if isinstance(value, str) and ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


@dataclass(frozen=True)
class LawfulDates:
    earliest: date = DEFAULT_EARLIEST
    days_ahead: int = 3653  # how far after today a day asked about may lie: ten years

    def too_early(self, **days: date | None) -> dict[str, list[str]]:
        """The given days (by field name) that fall before the earliest date, as per-field errors."""
        return {name: [f"日期{day}早于本服务受理的最早日期{self.earliest}。"]
                for name, day in days.items() if day is not None and day < self.earliest}

    def latest_query(self, today: date) -> date:
        return today + timedelta(days=self.days_ahead)

    def may_ask(self, day: date, today: date) -> bool:
        """query_problem(day, today) is None, cheaply (the status fast path asks it on every request)."""
        return self.earliest <= day and (day - today).days <= self.days_ahead

    def query_problem(self, day: date, today: date) -> str | None:
        """Why `day` cannot be asked about, in Chinese; None if it can."""
        if day < self.earliest:
            return f"查询日期{day}早于本服务受理的最早日期{self.earliest}。"
        if day > self.latest_query(today):
            return (f"查询日期{day}晚于{self.latest_query(today)}：最多可查询今天（{today}）之后"
                    f"{self.days_ahead}天内的日期。")
        return None

    def year_problem(self, year: int, today: date) -> str | None:
        """A natural year asked about (the record): from the earliest date's year to the year of the
        latest day that may be asked about (a year to come has an empty record, not an error)."""
        last = self.latest_query(today).year
        if not self.earliest.year <= year <= last:
            return f"自然年度须在{self.earliest.year}年至{last}年之间。"
        return None
