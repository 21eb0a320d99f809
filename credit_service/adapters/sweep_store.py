"""The scheduled sweeps' repository: what is due as of a day, claimed so that two runners never act
on the same row twice (locked rows of due measures, conditional UPDATEs elsewhere)."""
from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from .orm import MeasureEventRow, MeasureRow, NoticeRow, ObjectionRow, RepairRow

CHUNK = 1000
_TABLES = {"notice": NoticeRow, "objection": ObjectionRow, "repair": RepairRow}


def _not_revoked_by(day_column):
    """A measure revoked later than a transition still went through it (on that day it was in force),
    whether the sweep ran before the revocation or catches up after it."""
    return or_(MeasureRow.revoked_on.is_(None), day_column <= MeasureRow.revoked_on)


class Sweeps:
    def __init__(self, session: Session):
        self._session = session

    def _claim_due(self, where, order_by) -> list:
        """The next chunk of due measures, locked for this transaction. PostgreSQL: FOR UPDATE SKIP LOCKED,
        so a second runner takes other rows (or none), and re-checks `where` on rows that a concurrent
        transaction just changed; SQLite: the transaction began with BEGIN IMMEDIATE (one writer)."""
        m = MeasureRow.__table__.c
        query = select(m.id, m.subject_type, m.lookup_key, m.region, m.starts_on, m.restores_on).where(*where) \
            .order_by(*order_by).limit(CHUNK)
        if self._session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        return self._session.execute(query).all()

    def measures_to_activate(self, as_of: date) -> list:
        m = MeasureRow.__table__.c
        return self._claim_due((m.activated_on.is_(None), m.starts_on <= as_of, _not_revoked_by(m.starts_on)),
                               (m.starts_on, m.id))

    def measures_to_end(self, as_of: date) -> list:
        m = MeasureRow.__table__.c
        return self._claim_due((m.ended_on.is_(None), m.restores_on <= as_of, _not_revoked_by(m.restores_on)),
                               (m.restores_on, m.id))

    def mark_activated(self, due: list) -> None:
        m = MeasureRow.__table__.c
        self._session.execute(update(MeasureRow.__table__).where(m.id == bindparam("b_id"))
                              .values(activated_on=bindparam("b_on")),
                              [{"b_id": r.id, "b_on": r.starts_on} for r in due])

    def mark_ended(self, ends: list[dict]) -> None:
        """`ends`: per measure id, its end day and its credit state after (restored or unrepaired)."""
        m = MeasureRow.__table__.c
        self._session.execute(update(MeasureRow.__table__).where(m.id == bindparam("b_id")).values(
            ended_on=bindparam("b_end"), credit_state=bindparam("b_state"),
            credit_restored_on=bindparam("b_restored"), credit_restored_how=bindparam("b_how"),
            credit_note=bindparam("b_note")),
            [{"b_id": e["id"], "b_end": e["ended_on"], "b_state": e["credit_state"], "b_restored": e["restored_on"],
              "b_how": e["how"], "b_note": e["note"]} for e in ends])

    def add_events(self, events: list[dict]) -> None:
        self._session.execute(insert(MeasureEventRow.__table__), events)

    def repairs_of(self, measure_ids: list[str]) -> list[RepairRow]:
        return list(self._session.scalars(select(RepairRow).where(RepairRow.measure_id.in_(measure_ids))))

    def windows_to_close(self, as_of: date) -> list[NoticeRow]:
        return list(self._session.scalars(select(NoticeRow).where(
            NoticeRow.window_closed_on.is_(None), NoticeRow.deadline_provisional.is_(False),
            NoticeRow.objection_deadline < as_of)))

    def overdue(self, what: str, as_of: date) -> list:
        """Open objections (reviews) or repairs (replies) past their final due date, not yet flagged."""
        table = _TABLES[what]
        due, provisional = ((table.review_due_on, table.review_due_provisional) if what == "objection"
                            else (table.reply_due_on, table.reply_due_provisional))
        return list(self._session.scalars(select(table).where(table.state == "open", table.overdue_on.is_(None),
                                                              provisional.is_(False), due < as_of)))

    def provisional(self, what: str) -> list:
        """Notices, open objections or open repairs whose deadline is still provisional."""
        table = _TABLES[what]
        flag = {"notice": NoticeRow.deadline_provisional, "objection": ObjectionRow.review_due_provisional,
                "repair": RepairRow.reply_due_provisional}[what]
        query = select(table).where(flag.is_(True))
        if what != "notice":
            query = query.where(table.state == "open")
        return list(self._session.scalars(query))

    def claim(self, what: str, row_id: str, column: str, value) -> bool:
        """Set `column` on the row if it is still NULL; True if this transaction did it."""
        table = _TABLES[what]
        result = self._session.execute(update(table).where(table.id == row_id, getattr(table, column).is_(None))
                                       .values(**{column: value}).execution_options(synchronize_session=False))
        return result.rowcount == 1

    def measure(self, measure_id: str) -> MeasureRow | None:
        return self._session.get(MeasureRow, measure_id)
