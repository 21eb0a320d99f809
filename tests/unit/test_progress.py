"""Issue 13 item 6: long commands show progress (credit_service/progress.py)."""
from __future__ import annotations

import io

from credit_service import progress as progress_module
from credit_service.progress import Progress


def test_a_line_at_most_every_few_seconds_with_total_rate_and_time_left(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    out = io.StringIO()
    p = Progress("keys rotate", 1_000_000, "subjects", every_seconds=2, stream=out)
    p(1000)  # too soon: nothing
    now[0] = 102.0
    p(200_000)
    now[0] = 103.0
    p(300_000)  # within 2 s of the last line: nothing
    now[0] = 110.0
    p(1_000_000)
    p.finish()
    lines = out.getvalue().splitlines()
    assert lines == ["keys rotate: 200,000 / 1,000,000 subjects (20 %), 2 s, 100,000 subjects/s, about 8 s left",
                     "keys rotate: 1,000,000 / 1,000,000 subjects (100 %), 10 s, 100,000 subjects/s, about 0 s left",
                     "keys rotate: 1,000,000 / 1,000,000 subjects (100 %), 10 s, 100,000 subjects/s — done"]


def test_a_short_run_prints_nothing():
    out = io.StringIO()
    p = Progress("audit verify", 10, "events", stream=out)
    p(10)
    p.finish()
    assert out.getvalue() == ""
