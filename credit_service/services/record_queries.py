"""The read side of the procedure: a subject's natural-year record and the staff worklist."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ..domain.working_days import WorkingCalendar
from . import access
from .errors import Invalid, NotFound
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
    uow = uow.reading()  # shows data only: a read replica may answer (adapters/read_replica.py)
    with uow:
        record = uow.cases.year_record(subject_type, uow.keys.lookup_key(subject_type, id_number), year, region)
    record.scope_region, record.full_numbers = region, access.sees_full_numbers(principal, access.RECORD_READ)
    return record


WORK_KINDS = ("objection_review", "repair_reply", "objection_window")
WORKLIST_PAGE_MAX = 500
WORKLIST_OFFSET_MAX = 10**9  # far beyond any worklist; keeps the number within every database's integer


@dataclass(frozen=True)
class WorkItem:
    kind: str  # "objection_review" | "repair_reply" | "objection_window"
    id: str
    measure_id: str
    subject_type: str
    id_number: str  # the subject's number, opened ("" as the repository reads the item)
    region: str
    due_on: date
    provisional: bool
    overdue: bool
    working_days_left: int | None = None  # negative: working days overdue
    lookup_key: str = ""  # the subject's lookup key: the console's opaque id of the subject


@dataclass
class WorkPage:
    items: list[WorkItem]
    total: int  # all the items the filters select, not only this page's
    offset: int
    limit: int


def worklist(uow: UnitOfWork, principal: Principal, today: date, region: str | None, due_before: date | None,
             limit: int = WORKLIST_PAGE_MAX, offset: int = 0, kinds: tuple[str, ...] | None = None,
             calendar: WorkingCalendar | None = None) -> WorkPage:
    """Open reviews, unanswered repairs and still-open objection windows, soonest due first, one page
    of them with the total; the subjects' numbers opened (staff and admin see them). Staff: their own
    region only. With the working-day calendar, each item says how many working days are left."""
    region = access.region_for(principal, access.WORKLIST_READ, region)
    if not 1 <= limit <= WORKLIST_PAGE_MAX or not 0 <= offset <= WORKLIST_OFFSET_MAX:
        raise Invalid(f"limit 须在1至{WORKLIST_PAGE_MAX}之间，offset 须在0至{WORKLIST_OFFSET_MAX}之间。",
                      errors={"limit" if not 1 <= limit <= WORKLIST_PAGE_MAX else "offset": ["超出允许范围。"]})
    if kinds is not None and (not kinds or set(kinds) - set(WORK_KINDS)):
        raise Invalid(f"kind 须为 {'、'.join(WORK_KINDS)} 之一。", errors={"kind": ["未知的事项类别。"]})
    uow = uow.reading()
    with uow:
        items, total = uow.cases.worklist(today, region, due_before, kinds, offset, limit)
        numbers = uow.subjects.reveal(i.lookup_key for i in items)
    return WorkPage([WorkItem(i.kind, i.id, i.measure_id, i.subject_type, numbers[i.lookup_key], i.region, i.due_on,
                              i.provisional, i.overdue, _working_days_left(calendar, today, i.due_on), i.lookup_key)
                     for i in items], total, offset, limit)


def _working_days_left(calendar: WorkingCalendar | None, today: date, due_on: date) -> int | None:
    if calendar is None:
        return None
    if due_on >= today:
        return calendar.working_days_between(today, due_on)
    return -calendar.working_days_between(due_on, today)


# -- the console's subject search: the subject named by an opaque id (its lookup key), never by its number --

def find_subject(uow: UnitOfWork, principal: Principal, subject_type: str, id_number: str) -> str | None:
    """The opaque id of a subject with a record (its current lookup key), or None if it has none."""
    access.check_number(principal, access.RECORD_READ, subject_type, id_number, uow.keys.lookup_key)
    key = uow.keys.lookup_key(subject_type, id_number)
    with uow:
        return key if uow.subjects.identify(key) is not None else None


def subject_of(uow: UnitOfWork, principal: Principal, lookup_key: str) -> tuple[str, str]:
    """(subject_type, identity number) behind an opaque id from find_subject (a lookup key); 404 if there is
    none."""
    with uow:
        found = uow.subjects.identify(lookup_key)
    if found is None:
        raise NotFound("未找到该信用主体。", code="subject_not_found")
    access.check_number(principal, access.RECORD_READ, found[0], found[1], uow.keys.lookup_key)
    return found
