"""The one clock: today's date in Asia/Shanghai, injected everywhere time is needed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def today(self) -> date: ...

    def now(self) -> datetime: ...


class SystemClock:
    def today(self) -> date:
        return datetime.now(SHANGHAI).date()

    def now(self) -> datetime:
        return datetime.now(SHANGHAI)


@dataclass
class FixedClock:
    """For tests and operators' --as-of runs."""

    current: date

    def today(self) -> date:
        return self.current

    def now(self) -> datetime:
        return datetime(self.current.year, self.current.month, self.current.day, 12, tzinfo=SHANGHAI)
