"""The one clock: today's date in Asia/Shanghai, injected everywhere time is needed."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
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
    _ticks: int = 0

    def today(self) -> date:
        return self.current

    def now(self) -> datetime:
        """Noon of the current day, a microsecond later at each call: records keep their order."""
        self._ticks += 1
        return datetime(self.current.year, self.current.month, self.current.day, 12, tzinfo=SHANGHAI) + \
            timedelta(microseconds=self._ticks)
