"""The read side of the procedure: a subject's natural-year record and the staff worklist."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from ..adapters.orm import MeasureRow, NoticeRow, ObjectionRow, RepairRow, ViolationRow


@dataclass
class YearRecord:
    violations: list[ViolationRow]
    measures: list[MeasureRow]
    notices: list[NoticeRow]
    objections: list[ObjectionRow]
    repairs: list[RepairRow]
    partial: bool = False  # limited to one region, and other regions' entries exist

    @property
    def total_fund_loss(self) -> Decimal:
        return sum((v.fund_loss for v in self.violations if v.voided_on is None), Decimal("0.00"))


def year_record(session_factory, subject_type: str, id_number: str, year: int,
                region: str | None = None) -> YearRecord:
    """第七条：以一个自然年度为一个记录周期 — the violations determined in `year` and what followed.

    `region`: only the case files decided in that pooling region (a staff member's view); the notices,
    objections and repairs follow their measures. Whether other regions' entries were left out is
    said (`partial`), never what they are."""
    with session_factory() as s:
        violation_query = select(ViolationRow).where(
            ViolationRow.subject_type == subject_type, ViolationRow.id_number == id_number,
            ViolationRow.record_year == year)
        measure_query = select(MeasureRow).where(
            MeasureRow.subject_type == subject_type, MeasureRow.id_number == id_number,
            MeasureRow.record_year == year)
        partial = False
        if region is not None:
            partial = s.scalar(violation_query.with_only_columns(ViolationRow.id)
                               .where(ViolationRow.region != region).limit(1)) is not None
            violation_query = violation_query.where(ViolationRow.region == region)
            measure_query = measure_query.where(MeasureRow.region == region)
        violations = s.scalars(violation_query.order_by(ViolationRow.recorded_at, ViolationRow.intake_order)).all()
        measures = s.scalars(measure_query.order_by(MeasureRow.starts_on, MeasureRow.created_at)).all()
        ids = [m.id for m in measures]
        if not ids:
            return YearRecord(list(violations), [], [], [], [], partial)
        notices = s.scalars(select(NoticeRow).where(NoticeRow.measure_id.in_(ids))
                            .order_by(NoticeRow.received_on)).all()
        objections = s.scalars(select(ObjectionRow).where(ObjectionRow.measure_id.in_(ids))
                               .order_by(ObjectionRow.filed_on, ObjectionRow.created_at)).all()
        repairs = s.scalars(select(RepairRow).where(RepairRow.measure_id.in_(ids))
                            .order_by(RepairRow.filed_on, RepairRow.created_at)).all()
        return YearRecord(list(violations), list(measures), list(notices), list(objections), list(repairs),
                          partial)


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


def worklist(session_factory, today: date, region: str | None, due_before: date | None,
             limit: int = 500) -> list[WorkItem]:
    """Open reviews, unanswered repairs and still-open objection windows, soonest due first."""
    items: list[WorkItem] = []
    with session_factory() as s:
        sources = (
            ("objection_review", ObjectionRow, ObjectionRow.review_due_on, ObjectionRow.review_due_provisional,
             ObjectionRow.state == "open"),
            ("repair_reply", RepairRow, RepairRow.reply_due_on, RepairRow.reply_due_provisional,
             RepairRow.state == "open"),
            ("objection_window", NoticeRow, NoticeRow.objection_deadline, NoticeRow.deadline_provisional,
             NoticeRow.window_closed_on.is_(None)),
        )
        for kind, table, due, provisional, still_open in sources:
            query = select(table.id, table.measure_id, table.subject_type, table.id_number, table.region, due,
                           provisional).where(still_open)
            if kind == "objection_window":  # only windows a subject can still use
                query = query.where(due >= today)
            if region:
                query = query.where(table.region == region)
            if due_before:
                query = query.where(due < due_before)
            for row_id, measure_id, subject_type, id_number, row_region, due_on, is_provisional in s.execute(
                    query.order_by(due).limit(limit)):
                items.append(WorkItem(kind, row_id, measure_id, subject_type, id_number, row_region, due_on,
                                      is_provisional, due_on < today))
    items.sort(key=lambda i: (i.due_on, i.kind, i.id))
    return items[:limit]
