"""The procedure's repository (Arts 7, 10–12): measures, their notices, objections and repairs, the
violations behind them, and the events every transition writes — with the year record and the staff
worklist that read them."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import String, func, literal_column, select, union_all
from sqlalchemy.orm import Session, defer

from .orm import (EvidenceFileRow, ExpertRecommendationRow, MeasureEventRow, MeasureRow, NoticeRow, ObjectionRow, RepairRow,
                  ViolationRow)


class CaseFiles:
    def __init__(self, session: Session):
        self._session = session

    def _one(self, row_class, row_id: str, for_update: bool):
        """One row by id, or None; locked for this transaction on PostgreSQL (SQLite: the transaction
        already holds the only write lock)."""
        query = select(row_class).where(row_class.id == row_id)
        if for_update and self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        return self._session.scalar(query)

    def measure(self, measure_id: str, for_update: bool = False) -> MeasureRow | None:
        return self._one(MeasureRow, measure_id, for_update)

    def objection(self, objection_id: str, for_update: bool = False) -> ObjectionRow | None:
        return self._one(ObjectionRow, objection_id, for_update)

    def repair(self, repair_id: str, for_update: bool = False) -> RepairRow | None:
        return self._one(RepairRow, repair_id, for_update)

    def violation(self, violation_id: str) -> ViolationRow | None:
        return self._session.get(ViolationRow, violation_id)

    def notice_of(self, measure_id: str) -> NoticeRow | None:
        return self._session.scalar(select(NoticeRow).where(NoticeRow.measure_id == measure_id))

    def open_objection(self, measure_id: str) -> str | None:
        return self._session.scalar(select(ObjectionRow.id).where(ObjectionRow.measure_id == measure_id,
                                                                  ObjectionRow.state == "open"))

    def open_repair(self, measure_id: str) -> str | None:
        return self._session.scalar(select(RepairRow.id).where(RepairRow.measure_id == measure_id,
                                                               RepairRow.state == "open"))

    def open_objections_of(self, measure_id: str) -> list[ObjectionRow]:
        return list(self._session.scalars(select(ObjectionRow).where(ObjectionRow.measure_id == measure_id,
                                                                     ObjectionRow.state == "open")))

    def open_repairs_of(self, measure_id: str) -> list[RepairRow]:
        return list(self._session.scalars(select(RepairRow).where(RepairRow.measure_id == measure_id,
                                                                  RepairRow.state == "open")))

    def repairs_of(self, measure_id: str) -> list[RepairRow]:
        self._session.flush()
        return list(self._session.scalars(select(RepairRow).where(RepairRow.measure_id == measure_id)))

    def add(self, row) -> None:
        """A new measure, notice, objection, repair or event row."""
        self._session.add(row)

    def event(self, m: MeasureRow, event: str, on: date, now: datetime, ref: str = "", detail: str = "") -> None:
        """The transition, once (measure_events; unique per measure, event and reference)."""
        self._session.add(MeasureEventRow(measure_id=m.id, subject_type=m.subject_type, lookup_key=m.lookup_key,
                                          event=event, ref=ref, on=on, detail=detail, recorded_at=now))

    def recommendation_by_id(self, recommendation_id: str, for_update: bool = False) -> ExpertRecommendationRow | None:
        return self._one(ExpertRecommendationRow, recommendation_id, for_update)

    def recommendations_of(self, subject_type: str, key: str) -> list[ExpertRecommendationRow]:
        return list(self._session.scalars(select(ExpertRecommendationRow).where(
            ExpertRecommendationRow.subject_type == subject_type, ExpertRecommendationRow.lookup_key == key)))

    def measures_created_by(self, cause: str) -> list[MeasureRow]:
        """The measures a recomputation caused by `cause` (an objection's decision) created."""
        return list(self._session.scalars(
            select(MeasureRow).join(MeasureEventRow, MeasureEventRow.measure_id == MeasureRow.id)
            .where(MeasureEventRow.event == "created", MeasureEventRow.ref == cause)
            .order_by(MeasureRow.starts_on, MeasureRow.created_at)))

    # -- evidence files (证明材料) --------------------------------------------------------------------
    def evidence_files(self, case_kind: str, case_id: str, with_content: bool = False) -> list[EvidenceFileRow]:
        """The files of one objection or repair, oldest first (without their bytes unless asked)."""
        query = select(EvidenceFileRow).where(EvidenceFileRow.case_kind == case_kind,
                                              EvidenceFileRow.case_id == case_id)
        if not with_content:
            query = query.options(defer(EvidenceFileRow.content))
        return list(self._session.scalars(query.order_by(EvidenceFileRow.created_at, EvidenceFileRow.filename,
                                                            EvidenceFileRow.id)))

    def evidence_count(self, case_kind: str, case_id: str) -> int:
        self._session.flush()
        return self._session.scalar(select(func.count()).select_from(EvidenceFileRow).where(
            EvidenceFileRow.case_kind == case_kind, EvidenceFileRow.case_id == case_id)) or 0

    def evidence_file(self, file_id: str) -> EvidenceFileRow | None:
        return self._session.get(EvidenceFileRow, file_id)

    # -- a subject's record ----------------------------------------------------------------------
    def record_years(self, subject_type: str, key: str) -> list[int]:
        """The natural years (第七条) in which the subject has violations recorded, newest first."""
        return list(self._session.scalars(
            select(ViolationRow.record_year).where(ViolationRow.subject_type == subject_type,
                                                   ViolationRow.lookup_key == key)
            .distinct().order_by(ViolationRow.record_year.desc())))

    def filings_of(self, subject_type: str, key: str) -> tuple[list[ObjectionRow], list[RepairRow]]:
        """Every objection and repair application of the subject, newest first."""
        objections = self._session.scalars(select(ObjectionRow).where(
            ObjectionRow.subject_type == subject_type, ObjectionRow.lookup_key == key)
            .order_by(ObjectionRow.filed_on.desc(), ObjectionRow.created_at.desc()))
        repairs = self._session.scalars(select(RepairRow).where(
            RepairRow.subject_type == subject_type, RepairRow.lookup_key == key)
            .order_by(RepairRow.filed_on.desc(), RepairRow.created_at.desc()))
        return list(objections), list(repairs)

    def violations_of(self, subject_type: str, key: str) -> list[ViolationRow]:
        """Every violation of the subject, in the order they were first decided."""
        return list(self._session.scalars(
            select(ViolationRow).where(ViolationRow.subject_type == subject_type, ViolationRow.lookup_key == key)
            .order_by(ViolationRow.recorded_at, ViolationRow.intake_order, ViolationRow.id)))

    def standing_measures_of(self, subject_type: str, key: str) -> list[MeasureRow]:
        return list(self._session.scalars(
            select(MeasureRow).where(MeasureRow.subject_type == subject_type, MeasureRow.lookup_key == key,
                                     MeasureRow.revoked_on.is_(None))))

    def recommendation(self, subject_type: str, key: str, year: int) -> ExpertRecommendationRow | None:
        return self._session.scalar(select(ExpertRecommendationRow).where(
            ExpertRecommendationRow.subject_type == subject_type, ExpertRecommendationRow.lookup_key == key,
            ExpertRecommendationRow.year == year))

    def year_record(self, subject_type: str, key: str, year: int, region: str | None):
        """The violations determined in `year` and the measures, notices, objections and repairs that
        followed; with `region`, only that region's case files, and whether others exist (`partial`)."""
        from ..services.record_queries import YearRecord
        s = self._session
        violation_query = select(ViolationRow).where(
            ViolationRow.subject_type == subject_type, ViolationRow.lookup_key == key, ViolationRow.record_year == year)
        measure_query = select(MeasureRow).where(
            MeasureRow.subject_type == subject_type, MeasureRow.lookup_key == key, MeasureRow.record_year == year)
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
        notices = s.scalars(select(NoticeRow).where(NoticeRow.measure_id.in_(ids)).order_by(NoticeRow.received_on)).all()
        objections = s.scalars(select(ObjectionRow).where(ObjectionRow.measure_id.in_(ids))
                               .order_by(ObjectionRow.filed_on, ObjectionRow.created_at)).all()
        repairs = s.scalars(select(RepairRow).where(RepairRow.measure_id.in_(ids))
                            .order_by(RepairRow.filed_on, RepairRow.created_at)).all()
        return YearRecord(list(violations), list(measures), list(notices), list(objections), list(repairs), partial)

    def worklist(self, today: date, region: str | None, due_before: date | None, kinds: tuple[str, ...] | None,
                 offset: int, limit: int) -> tuple[list, int]:
        """Open reviews, unanswered repairs and still-open objection windows, soonest due first (then by
        kind and id, so pages never overlap): one page of them and how many there are in all."""
        from ..services.record_queries import WorkItem
        parts = []
        sources = (
            ("objection_review", ObjectionRow, ObjectionRow.review_due_on, ObjectionRow.review_due_provisional,
             ObjectionRow.state == "open"),
            ("repair_reply", RepairRow, RepairRow.reply_due_on, RepairRow.reply_due_provisional,
             RepairRow.state == "open"),
            ("objection_window", NoticeRow, NoticeRow.objection_deadline, NoticeRow.deadline_provisional,
             NoticeRow.window_closed_on.is_(None)),
        )
        for kind, table, due, provisional, still_open in sources:
            if kinds and kind not in kinds:
                continue
            query = select(literal_column(f"'{kind}'", String).label("kind"), table.id.label("id"),
                           table.measure_id.label("measure_id"), table.subject_type.label("subject_type"),
                           table.lookup_key.label("lookup_key"), table.region.label("region"), due.label("due_on"),
                           provisional.label("provisional")).where(still_open)
            if kind == "objection_window":  # only windows a subject can still use
                query = query.where(due >= today)
            if region:
                query = query.where(table.region == region)
            if due_before:
                query = query.where(due < due_before)
            parts.append(query)
        if not parts:
            return [], 0
        work = (union_all(*parts) if len(parts) > 1 else parts[0]).subquery("work")
        total = self._session.scalar(select(func.count()).select_from(work))
        rows = self._session.execute(select(work).order_by(work.c.due_on, work.c.kind, work.c.id)
                                     .offset(offset).limit(limit))
        return [WorkItem(kind, row_id, measure_id, subject_type, "", row_region, due_on, bool(is_provisional),
                         due_on < today, lookup_key=key)
                for kind, row_id, measure_id, subject_type, key, row_region, due_on, is_provisional in rows], total
