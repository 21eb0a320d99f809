"""A subject's record as deciding a violation needs it (第九条: the year's totals, what is in force),
kept up to date in memory while a batch is decided or a year is recomputed."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Iterable

from .decisions import JOINT_PUNISHMENT_LISTING, SETTLEMENT_SUSPENSION, YearPosition
from .practitioners import ENDING_KINDS, QUALIFICATION_SUSPENSION, SUSPENDING_KINDS


@dataclass
class SubjectLedger:
    """A subject's record as intake needs it; updated in memory as a batch is decided."""

    year_loss: dict[int, Decimal] = field(default_factory=lambda: defaultdict(lambda: Decimal("0.00")))
    year_months: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    suspended_until: date | None = None
    listed: bool = False
    # Practitioners: points per record year, and their payment qualification
    year_points: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    year_qualification_months: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    qualification_suspended_until: date | None = None
    qualification_barred_until: date | None = None
    qualification_reregistered_on: date | None = None

    def position(self, year: int) -> YearPosition:
        return YearPosition(total_loss=self.year_loss[year], months_imposed=self.year_months[year],
                            suspended_until=self.suspended_until, listed=self.listed,
                            points=self.year_points[year],
                            qualification_months=self.year_qualification_months[year],
                            qualification_suspended_until=self.qualification_suspended_until,
                            qualification_barred_until=self.qualification_barred_until,
                            qualification_reregistered_on=self.qualification_reregistered_on)

    def add(self, year: int, fund_loss: Decimal, measures: Iterable, points: int | None = None) -> None:
        """Record a decided violation: its loss, its points (practitioners) and the measures it caused."""
        self.year_loss[year] += fund_loss
        self.year_points[year] += points or 0
        for m in measures:
            self.note_measure(year, m.kind, m.months, m.restores_on, getattr(m, "reregistration_from", None))

    def note_measure(self, year: int, kind: str, months: int | None, restores_on: date | None,
                     reregistration_from: date | None = None) -> None:
        if kind in SUSPENDING_KINDS:
            if kind == QUALIFICATION_SUSPENSION:
                self.year_qualification_months[year] += months or 0
            if self.qualification_suspended_until is None or (
                    restores_on and restores_on > self.qualification_suspended_until):
                self.qualification_suspended_until = restores_on
        elif kind in ENDING_KINDS and restores_on is not None:
            # re-registered on restores_on (a termination ends only so): decided afresh from that day
            if self.qualification_reregistered_on is None or restores_on > self.qualification_reregistered_on:
                self.qualification_reregistered_on = restores_on
        elif kind in ENDING_KINDS:
            if self.qualification_barred_until is None or (
                    reregistration_from and reregistration_from > self.qualification_barred_until):
                self.qualification_barred_until = reregistration_from
        elif kind == SETTLEMENT_SUSPENSION:
            self.year_months[year] += months or 0
            if self.suspended_until is None or (restores_on and restores_on > self.suspended_until):
                self.suspended_until = restores_on
        elif kind == JOINT_PUNISHMENT_LISTING:
            self.listed = True
