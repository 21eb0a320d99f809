"""The one clock: today's date in Asia/Shanghai, injected everywhere time is needed."""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def today(self) -> date: ...

    def now(self) -> datetime: ...


class SystemClock:
    def __init__(self) -> None:
        self._day = (0.0, 0.0, date.min)  # [from, until) in epoch seconds, and the day; one tuple: atomic

    def today(self) -> date:
        # The settlement hot path asks on every request: a clock read and a comparison, not a time-zone
        # conversion, except once a day.
        now = time.time()
        start, until, day = self._day
        if not start <= now < until:
            moment = datetime.fromtimestamp(now, SHANGHAI)
            midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
            day = moment.date()
            self._day = (midnight.timestamp(), (midnight + timedelta(days=1)).timestamp(), day)
        return day

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
