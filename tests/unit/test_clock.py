"""The system clock's today() is read on every status request: it caches the Asia/Shanghai day and must
turn at Shanghai midnight, not at UTC midnight."""
from __future__ import annotations

from datetime import date, datetime

from credit_service import clock as clock_module
from credit_service.clock import SHANGHAI, SystemClock


def test_today_turns_at_shanghai_midnight(monkeypatch):
    now = {"t": datetime(2026, 11, 26, 23, 59, 59, 500000, tzinfo=SHANGHAI).timestamp()}
    monkeypatch.setattr(clock_module.time, "time", lambda: now["t"])
    clock = SystemClock()
    assert clock.today() == date(2026, 11, 26)
    now["t"] += 0.4
    assert clock.today() == date(2026, 11, 26)
    now["t"] += 0.2  # 00:00:00.1 in Shanghai, 16:00 UTC the day before
    assert clock.today() == date(2026, 11, 27)
    now["t"] -= 3600  # the wall clock set back an hour
    assert clock.today() == date(2026, 11, 26)
    now["t"] = datetime(2027, 1, 1, 8, tzinfo=SHANGHAI).timestamp()
    assert clock.today() == date(2027, 1, 1)
