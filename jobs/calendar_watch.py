"""From 1 November, warn when next year's working-day calendar is not loaded (deadlines would be
provisional)."""
from __future__ import annotations

from datetime import date

from credit_service.domain.working_days import WorkingCalendar

WARN_FROM = (11, 1)


def missing_calendar_years(calendar: WorkingCalendar, as_of: date) -> list[int]:
    years = [as_of.year]
    if (as_of.month, as_of.day) >= WARN_FROM:
        years.append(as_of.year + 1)
    return [y for y in years if not calendar.knows_year(y)]


def run(container, as_of: date) -> str:
    missing = missing_calendar_years(container.calendar, as_of)
    if not missing:
        return "calendar complete"
    return ("缺少以下年度的法定节假日安排，期限将按仅周末计算并标记为暂定（provisional）：" +
            "、".join(str(y) for y in missing) + "。请在 config/calendar/ 中添加国务院办公厅公布的安排。")
