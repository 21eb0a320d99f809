"""The read side of the procedure: a subject's natural-year record and the staff worklist."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from . import access
from .clients import Principal
from .unit_of_work import UnitOfWork


@dataclass
class YearRecord:
    violations: list
    measures: list
    notices: list
    objections: list
    repairs: list
    partial: bool = False  # limited to one region, and other regions' entries exist
    scope_region: str | None = None
    full_numbers: bool = False

    @property
    def total_fund_loss(self) -> Decimal:
        return sum((v.fund_loss for v in self.violations if v.voided_on is None), Decimal("0.00"))

    @property
    def total_points(self) -> int:
        """Practitioners' points (记分) of the year, as the ledger counts them (voided records do not count)."""
        return sum((v.points or 0 for v in self.violations if v.voided_on is None), 0)


def year_record(uow: UnitOfWork, principal: Principal, subject_type: str, id_number: str, year: int) -> YearRecord:
    """第七条：以一个自然年度为一个记录周期 — the violations determined in `year` and what followed.

    A staff member sees only the case files decided in their pooling region (the notices, objections
    and repairs follow their measures); whether other regions' entries were left out is said
    (`partial`), never what they are. A person sees only their own."""
    access.check_number(principal, access.RECORD_READ, subject_type, id_number, uow.keys.lookup_key)
    region = access.region_for(principal, access.RECORD_READ, None)
    with uow:
        record = uow.cases.year_record(subject_type, uow.keys.lookup_key(subject_type, id_number), year, region)
    record.scope_region, record.full_numbers = region, access.sees_full_numbers(principal, access.RECORD_READ)
    return record


@dataclass(frozen=True)
class WorkItem:
    kind: str  # "objection_review" | "repair_reply" | "objection_window"
    id: str
    measure_id: str
    subject_type: str
    id_number: str
    region: str
    due_on: date
    provisional: bool
    overdue: bool


def worklist(uow: UnitOfWork, principal: Principal, today: date, region: str | None, due_before: date | None,
             limit: int = 500) -> list[WorkItem]:
    """Open reviews, unanswered repairs and still-open objection windows, soonest due first; the
    subjects' numbers opened (staff and admin see them). Staff: their own region only."""
    region = access.region_for(principal, access.WORKLIST_READ, region)
    with uow:
        items = sorted(uow.cases.worklist(today, region, due_before, limit), key=lambda i: (i.due_on, i.kind, i.id))
        items = items[:limit]
        numbers = uow.subjects.reveal(i.id_number for i in items)
    return [WorkItem(i.kind, i.id, i.measure_id, i.subject_type, numbers[i.id_number], i.region, i.due_on,
                     i.provisional, i.overdue) for i in items]
