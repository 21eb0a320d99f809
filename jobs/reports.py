"""Freezing the monthly statistics: every day, freeze whatever month is complete and not frozen yet
(on the 1st that is the month just ended — before the 3rd, as Jinan requires; after downtime, every
month missed)."""
from __future__ import annotations

from datetime import date

from credit_service.services.reports import freeze_due


def freeze_monthly_reports(container, as_of: date) -> str:
    return freeze_due(container.uow, container.rules, container.clock, as_of)
