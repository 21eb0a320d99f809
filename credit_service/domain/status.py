"""May a subject settle on a given day? A pure function of its recorded measures and violations."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Iterable, NamedTuple

from .decisions import JOINT_PUNISHMENT_LISTING, PRACTITIONER_TYPES
from .evaluation import score_and_grade
from .practitioners import ENDING_KINDS, PRACTITIONER_KINDS, SUSPENDING_KINDS

if TYPE_CHECKING:
    from .rules import RuleBook

BLOCKING_KINDS = frozenset({"settlement_suspension"}) | PRACTITIONER_KINDS
EXPERT_RECOMMENDATION = "expert_recommendation"
LENIENT_ACCEPTANCE = "lenient_acceptance"


@dataclass(frozen=True, slots=True)
class MeasureFact:
    measure_id: str
    kind: str
    region: str
    starts_on: date
    restores_on: date | None  # None: open-ended (a listing, a terminated qualification)
    unrepaired: bool = False  # ended without credit repair (第十二条): blocks incentives until repaired
    reregistration_from: date | None = None  # qualification ended: when re-registration is allowed
    article: str = ""  # the article it was imposed under (the evaluation deducts by it)

    def covers(self, day: date) -> bool:
        return self.starts_on <= day and (self.restores_on is None or day < self.restores_on)


@dataclass(frozen=True, slots=True)
class SubjectFacts:
    """Everything the status check needs about one subject; revoked measures are left out."""

    measures: tuple[MeasureFact, ...] = ()
    record_years: frozenset[int] = frozenset()
    recommended_years: frozenset[int] = frozenset()  # practitioners marked for 第八条第一项
    points: tuple[tuple[int, int], ...] = ()  # practitioners: (record year, points of that year), by year

    def with_new(self, measures: tuple[MeasureFact, ...], record_year: int, points: int = 0) -> "SubjectFacts":
        """These facts plus new ones; measures already present are not added twice."""
        known = {m.measure_id for m in self.measures}
        fresh = tuple(m for m in measures if m.measure_id not in known)
        if not fresh and record_year in self.record_years and not points:
            return self
        return SubjectFacts(measures=tuple(sorted(self.measures + fresh, key=lambda m: m.starts_on)),
                            record_years=self.record_years | {record_year},
                            recommended_years=self.recommended_years,
                            points=add_points(self.points, record_year, points))


CLEAN = SubjectFacts()


def add_points(points: tuple[tuple[int, int], ...], year: int, more: int) -> tuple[tuple[int, int], ...]:
    if not more:
        return points
    by_year = dict(points)
    by_year[year] = by_year.get(year, 0) + more
    return tuple(sorted(by_year.items()))


class Qualification(NamedTuple):
    """A practitioner's payment qualification (医保支付资格) on a day."""

    status: str  # normal | suspended | terminated
    since: date | None = None
    until: date | None = None  # suspended: the first day it is restored
    reregistration_from: date | None = None  # terminated: first day re-registration is allowed (date.max: never)


NORMAL = Qualification("normal")


@dataclass(frozen=True)
class Status:
    on: date
    settlement_allowed: bool
    restrictions: tuple[MeasureFact, ...]
    listed: bool
    incentives: tuple[str, ...]
    qualification: Qualification | None = None  # practitioners only
    emergency: bool | None = None  # None: not asked; else whether the claim is emergency/rescue care
    emergency_exempted: bool = False  # a practitioner's restriction was set aside for emergency care
    score: int | None = None  # credit evaluation (domain.evaluation); None when no model is configured
    grade: str | None = None


def status_on(subject_type: str, facts: SubjectFacts, day: date, clean_years: int = 2,
              emergency: bool | None = None, rules: "RuleBook | None" = None) -> Status:
    """Measures from every pooling region apply everywhere (第五条：各统筹区信用管理结果互认).

    Emergency and rescue care (急救、抢救) by a suspended or terminated practitioner is settled all
    the same; an insured person's suspension of networked settlement has no such exception.
    With `rules`, the answer carries the credit evaluation's score and grade, and an incentive the grade
    does not unlock is withheld (the evaluation can only narrow what the articles grant)."""
    if facts is CLEAN and rules is not None:
        # Most subjects asked about were never recorded: their answer depends on the day alone.
        key = (subject_type, day, clean_years, emergency)
        answer = rules.memo.get(key)
        if answer is None:
            if len(rules.memo) > 10_000:
                rules.memo.clear()
            answer = rules.memo[key] = _status_on(subject_type, facts, day, clean_years, emergency, rules)
        return answer
    return _status_on(subject_type, facts, day, clean_years, emergency, rules)


def _status_on(subject_type: str, facts: SubjectFacts, day: date, clean_years: int, emergency: bool | None,
               rules: "RuleBook | None") -> Status:
    if facts.measures:
        covering = [m for m in facts.measures if m.covers(day)]
        restrictions = tuple(m for m in covering if m.kind in BLOCKING_KINDS)
        listed = JOINT_PUNISHMENT_LISTING in {m.kind for m in covering}
    else:
        covering, restrictions, listed = (), (), False
    evaluated = score_and_grade(rules, facts, day, listed) if rules is not None else None
    blocking = restrictions
    if emergency:
        blocking = tuple(m for m in restrictions if m.kind not in PRACTITIONER_KINDS)
    incentives: tuple[str, ...] = ()
    qualification = None
    # A measure that ended without credit repair withholds every incentive until repaired (第十二条).
    # Only measures that had ended by `day` count, so an answer about an earlier day does not change
    # when a later measure ends.
    unrepaired = facts.measures and any(m.unrepaired and m.restores_on is not None and m.restores_on <= day
                                        for m in facts.measures)
    if subject_type == "insured":
        # 第九条第一项：连续2年无违法违规 — and, read with the measures, not while a measure is in force
        # nor after a violation determined in the year asked about.
        if (lenient_acceptance(facts.record_years, day, clean_years) and day.year not in facts.record_years
                and not covering and not unrepaired
                and (evaluated is None or LENIENT_ACCEPTANCE in evaluated[1].unlocks)):
            incentives = (LENIENT_ACCEPTANCE,)
    elif subject_type in PRACTITIONER_TYPES:
        qualification = qualification_on(facts.measures, day) if facts.measures else NORMAL
        if day.year in facts.recommended_years and day.year not in facts.record_years and not unrepaired:
            incentives = (EXPERT_RECOMMENDATION,)
    return Status(on=day, settlement_allowed=not blocking, restrictions=restrictions,
                  listed=listed, incentives=incentives, qualification=qualification, emergency=emergency,
                  emergency_exempted=len(blocking) < len(restrictions),
                  score=evaluated[0] if evaluated else None, grade=evaluated[1].grade if evaluated else None)


def qualification_on(measures: Iterable[MeasureFact], day: date) -> Qualification:
    """normal, suspended (with the day it is restored, following back-to-back suspensions) or
    terminated (with the day re-registration is allowed). A terminated qualification stays so until
    staff record its re-registration (重新登记备案), which is the termination's `restores_on`."""
    measures = list(measures)
    ended = [m for m in measures if m.kind in ENDING_KINDS and m.covers(day)]
    if ended:
        return Qualification("terminated", min(m.starts_on for m in ended), None,
                             max((m.reregistration_from or date.max) for m in ended))
    suspensions = [m for m in measures if m.kind in SUSPENDING_KINDS and m.restores_on is not None]
    covering = [m for m in suspensions if m.covers(day)]
    if not covering:
        return NORMAL
    until = max(m.restores_on for m in covering)
    extended = True
    while extended:
        extended = False
        for m in suspensions:
            if m.starts_on <= until < m.restores_on:
                until, extended = m.restores_on, True
    return Qualification("suspended", min(m.starts_on for m in covering), until)


def lenient_acceptance(record_years: frozenset[int], day: date, clean_years: int = 2) -> bool:
    """第九条第一项：连续2年无违法违规使用医保基金行为 — the complete natural years before `day`
    (status_on adds the year of `day` itself and the measures in force)."""
    return record_years.isdisjoint(range(day.year - clean_years, day.year))


def measure_state(starts_on: date, restores_on: date | None, revoked: bool, today: date) -> str:
    if revoked:
        return "revoked"
    if today < starts_on:
        return "pending"
    if restores_on is None or today < restores_on:
        return "active"
    return "ended"
