"""May a subject settle on a given day? A pure function of its recorded measures and violations."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from .decisions import JOINT_PUNISHMENT_LISTING

BLOCKING_KINDS = frozenset({"settlement_suspension", "service_suspension", "qualification_revoked"})


@dataclass(frozen=True, slots=True)
class MeasureFact:
    measure_id: str
    kind: str
    region: str
    starts_on: date
    restores_on: date | None  # None: open-ended (a listing)
    unrepaired: bool = False  # ended without credit repair (第十二条): blocks incentives until repaired

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.restores_on is None or day < self.restores_on)


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """Everything the status check needs about one subject; revoked measures are left out."""

    measures: tuple[MeasureFact, ...] = ()
    record_years: frozenset[int] = frozenset()


    def with_new(self, measures: tuple[MeasureFact, ...], record_year: int) -> "SubjectFacts":
        """These facts plus new ones; measures already present are not added twice."""
        known = {m.measure_id for m in self.measures}
        fresh = tuple(m for m in measures if m.measure_id not in known)
        if not fresh and record_year in self.record_years:
            return self
        return SubjectFacts(measures=tuple(sorted(self.measures + fresh, key=lambda m: m.starts_on)),
                            record_years=self.record_years | {record_year})


CLEAN = SubjectFacts()


@dataclass(frozen=True)
class Status:
    on: date
    settlement_allowed: bool
    restrictions: tuple[MeasureFact, ...]
    listed: bool
    incentives: tuple[str, ...]


def status_on(subject_type: str, facts: SubjectFacts, day: date, clean_years: int = 2) -> Status:
    """Measures from every pooling region apply everywhere (第五条：各统筹区信用管理结果互认)."""
    if facts.measures:
        covering = [m for m in facts.measures if m.covers(day)]
        restrictions = tuple(m for m in covering if m.kind in BLOCKING_KINDS)
        listed = JOINT_PUNISHMENT_LISTING in {m.kind for m in covering}
    else:
        restrictions, listed = (), False
    incentives: tuple[str, ...] = ()
    if (subject_type == "insured" and lenient_acceptance(facts.record_years, day, clean_years)
            and not any(m.unrepaired for m in facts.measures)):
        incentives = ("lenient_acceptance",)
    return Status(on=day, settlement_allowed=not restrictions, restrictions=restrictions,
                  listed=listed, incentives=incentives)


def lenient_acceptance(record_years: frozenset[int], day: date, clean_years: int = 2) -> bool:
    """第九条第一项：连续2年无违法违规使用医保基金行为 — the complete natural years before `day`."""
    return record_years.isdisjoint(range(day.year - clean_years, day.year))


def measure_state(starts_on: date, restores_on: date | None, revoked: bool, today: date) -> str:
    if revoked:
        return "revoked"
    if today < starts_on:
        return "pending"
    if restores_on is None or today < restores_on:
        return "active"
    return "ended"
