"""Repositories of the monthly statistics: the figures counted in SQL (one grouped pass per table over
the years asked for, so a province's million violations are counted in one scan), the month-end open
items, and the frozen reports."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Iterable

from sqlalchemy import BigInteger, and_, case, extract, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from ..domain.reports import Month, OpenItem, measure_key
from ..services.access import STAFF
from .orm import (ApiClientRow, MeasureRow, MonthlyReportRow, NoticeRow, ObjectionRow, RepairRow, ViolationRow)

Counts = dict[tuple[str, Month], dict[str, int]]  # (region, month) → line key → count (money: fen)


class ReportFacts:
    def __init__(self, session: Session):
        self._session = session

    def monthly_counts(self, first: date, last: date, region: str | None = None) -> Counts:
        """Every flow of the report, per region and month, for facts dated first ≤ day ≤ last."""
        counts: Counts = defaultdict(dict)

        def put(rows, key_of):
            for row in rows:
                region_, year, month, *rest = row
                for key, value in key_of(*rest):
                    bucket = counts[(region_, Month(int(year), int(month)))]
                    bucket[key] = bucket.get(key, 0) + int(value or 0)

        v, m = ViolationRow.__table__.c, MeasureRow.__table__.c
        s = self._session
        put(s.execute(self._grouped(v.region, v.determined_on, first, last, region,
                                    [v.subject_type], [func.count(), func.sum(type_coerce(v.fund_loss_fen, BigInteger)), func.sum(v.points),
                                                       func.count(v.points)], v.voided_on.is_(None))),
            lambda t, n, fen, points, scored: ((f"violations.{t}", n), ("fund_loss", fen), ("points.total", points),
                                               ("points.violations", scored)))
        put(s.execute(self._grouped(m.region, v.determined_on, first, last, region, [m.kind, m.article],
                                    [func.count()], m.revoked_on.is_(None),
                                    joined=(MeasureRow.__table__.join(ViolationRow.__table__, v.id == m.violation_id)))),
            lambda kind, article, n: ((measure_key(kind, article), n),))
        n = NoticeRow.__table__.c
        put(s.execute(self._grouped(n.region, n.served_on, first, last, region, [], [func.count()])),
            lambda count: (("notices.served", count),))
        o = ObjectionRow.__table__.c
        put(s.execute(self._grouped(o.region, o.filed_on, first, last, region, [], [func.count()])),
            lambda count: (("objections.filed", count),))
        put(s.execute(self._grouped(o.region, o.decided_on, first, last, region, [o.outcome],
                                    [func.count(), func.sum(_as_int(o.decided_late))])),
            lambda outcome, count, late: ((f"objections.{outcome}", count), ("objections.decided_late", late)))
        r = RepairRow.__table__.c
        put(s.execute(self._grouped(r.region, r.filed_on, first, last, region, [], [func.count()])),
            lambda count: (("repairs.filed", count),))
        put(s.execute(self._grouped(r.region, r.decided_on, first, last, region, [r.state], [func.count()],
                                    r.state.in_(("approved", "rejected")))),
            lambda state, count: ((f"repairs.{state}", count),))
        return counts

    @staticmethod
    def _grouped(region_col, day_col, first: date, last: date, region: str | None, keys: list, values: list,
                 *where, joined=None):
        year, month = extract("year", day_col), extract("month", day_col)
        query = select(region_col, year, month, *keys, *values)
        if joined is not None:
            query = query.select_from(joined)
        query = query.where(day_col >= first, day_col <= last, *where)
        if region is not None:
            query = query.where(region_col == region)
        return query.group_by(region_col, year, month, *keys)

    def open_items(self, first: date, last: date, region: str | None = None) -> dict[str, list[OpenItem]]:
        """Objections and repairs that were open at some month end between `first` and `last`."""
        found: dict[str, list[OpenItem]] = defaultdict(list)
        for table, due, provisional, key in (
                (ObjectionRow, ObjectionRow.review_due_on, ObjectionRow.review_due_provisional, "overdue.review"),
                (RepairRow, RepairRow.reply_due_on, RepairRow.reply_due_provisional, "overdue.repair_reply")):
            query = select(table.region, table.filed_on, due, table.decided_on, provisional).where(
                due <= last, table.filed_on <= last, or_(table.decided_on.is_(None), table.decided_on >= first))
            if region is not None:
                query = query.where(table.region == region)
            for region_, filed_on, due_on, decided_on, is_provisional in self._session.execute(query):
                found[region_].append(OpenItem(key, filed_on, due_on, decided_on, bool(is_provisional)))
        return found

    def regions(self, first: date) -> set[str]:
        """The pooling regions with any fact since `first`, and those of staff clients."""
        s = self._session
        found = set(s.scalars(select(ApiClientRow.region).where(
            ApiClientRow.role == STAFF, ApiClientRow.region.is_not(None), ApiClientRow.revoked_at.is_(None))))
        for table, day in ((ViolationRow, ViolationRow.determined_on), (NoticeRow, NoticeRow.served_on),
                           (ObjectionRow, ObjectionRow.filed_on), (RepairRow, RepairRow.filed_on)):
            found.update(s.scalars(select(table.region).where(day >= first).distinct()))
        return found


def _as_int(column):
    """A boolean column summed as 0/1 on both databases."""
    return case((column.is_(True), 1), else_=0)


class FrozenReports:
    def __init__(self, session: Session):
        self._session = session

    def get(self, region: str, month: Month) -> MonthlyReportRow | None:
        return self._session.scalar(select(MonthlyReportRow).where(MonthlyReportRow.region == region,
                                                                   MonthlyReportRow.month == str(month)))

    def frozen_months(self, regions: Iterable[str], first: Month, last: Month) -> set[tuple[str, str]]:
        rows = self._session.execute(select(MonthlyReportRow.region, MonthlyReportRow.month).where(
            MonthlyReportRow.region.in_(list(regions)),
            and_(MonthlyReportRow.month >= str(first), MonthlyReportRow.month <= str(last))))
        return {(r, m) for r, m in rows}

    def add(self, region: str, month: Month, frozen_at: datetime, body_json: bytes, body_csv: bytes,
            body_xlsx: bytes, sha256: str) -> None:
        self._session.add(MonthlyReportRow(region=region, month=str(month), frozen_at=frozen_at, body_json=body_json,
                                           body_csv=body_csv, body_xlsx=body_xlsx, sha256=sha256))
