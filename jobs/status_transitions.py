"""Status changes that no request makes: a measure starts or ends by the calendar (settlement is barred
from `starts_on`, allowed again from `restores_on`). Nothing is written on that day by itself, so this
daily sweep appends those subjects to the change feed — which every process's index and the webhook
outbox read — as any other change does. Days missed while no runner ran are caught up (up to 31).
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, insert, or_, select

from credit_service.adapters.orm import JobRunRow, MeasureRow, SubjectChangeRow
from credit_service.clock import SHANGHAI

NAME = "status_transitions"
MAX_CATCH_UP_DAYS = 31


def run(container, as_of: date) -> str:
    with container.uow() as uow:
        session = uow.session
        last = session.scalar(select(JobRunRow.as_of).where(
            JobRunRow.job == NAME, JobRunRow.outcome == "ok", JobRunRow.as_of < as_of)
            .order_by(JobRunRow.as_of.desc()).limit(1))
        since = max(last or as_of - timedelta(days=1), as_of - timedelta(days=MAX_CATCH_UP_DAYS))
        m = MeasureRow.__table__.c
        # A measure made on the day being swept was reported when it was made (its own feed entry).
        subjects = session.execute(
            select(m.subject_type, m.id_number).distinct().where(
                m.revoked_on.is_(None),
                or_(and_(m.starts_on > since, m.starts_on <= as_of),
                    and_(m.restores_on > since, m.restores_on <= as_of)),
                m.created_at < _start_of(as_of))).all()
        now = container.clock.now()
        if subjects:
            session.execute(insert(SubjectChangeRow.__table__), [
                {"subject_type": t, "id_number": n, "changed_at": now, "origin": None} for t, n in sorted(subjects)])
        uow.commit()
    return f"{len(subjects)} subjects whose status turned by the calendar after {since}, up to {as_of}"


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=SHANGHAI)
