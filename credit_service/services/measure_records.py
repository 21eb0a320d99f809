"""Loading measures for the procedure, and writing what every workflow transition writes: an event
(once per transition) and a change-feed entry (so every process's status index reloads the subject)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Iterable

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from ..domain.procedure import MeasureView, Procedure
from ..domain.rules import RuleBook
from ..adapters.orm import MeasureEventRow, MeasureRow, NoticeRow, SubjectChangeRow
from . import audit
from .errors import NotFound

SubjectKey = tuple[str, str]


def load_for_procedure(session: Session, row_class, row_id: str, for_update: bool, missing: str, code: str):
    """One measure, notice, objection or repair by id; locked for this transaction on PostgreSQL
    (SQLite: the transaction already holds the only write lock). 404 problem if it does not exist."""
    query = select(row_class).where(row_class.id == row_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.scalar(query)
    if row is None:
        raise NotFound(f"未找到编号为{row_id}的{missing}。", code=code)
    return row


def subject_header(session_factory, getter, row_id: str) -> tuple[str, str, str]:
    """(subject_type, id_number lookup key, region) of a row, for the access checks before a write."""
    with session_factory() as session:
        row = getter(session, row_id)
        return row.subject_type, row.id_number, row.region


def get_measure(session: Session, measure_id: str, for_update: bool = False) -> MeasureRow:
    return load_for_procedure(session, MeasureRow, measure_id, for_update, "信用管理措施", "measure_not_found")


def measure_header(session_factory, measure_id: str) -> tuple[str, str, str]:
    return subject_header(session_factory, get_measure, measure_id)


def view_of(m: MeasureRow) -> MeasureView:
    return MeasureView(id=m.id, starts_on=m.starts_on, restores_on=m.restores_on, revoked_on=m.revoked_on,
                       credit_state=m.credit_state)


def procedure_for(rules: RuleBook, rule_set_id: str, region: str | None = None, on: date | None = None) -> Procedure:
    """The deadlines of the rule set that produced the measure (defaults if it is no longer configured).
    A practitioner's agreement measure follows the credit rules of its region (第十至十二条 apply to all)."""
    rule_set = rules.get(rule_set_id)
    if rule_set is not None and rule_set.agreement is not None and region is not None and on is not None:
        credit = rules.select(region, on)
        rule_set = credit.rule_set if credit is not None else None
    return rule_set.procedure if rule_set is not None else Procedure()


def notice_of(session: Session, measure_id: str) -> NoticeRow | None:
    return session.scalar(select(NoticeRow).where(NoticeRow.measure_id == measure_id))


def add_event(session: Session, m: MeasureRow, event: str, on: date, now: datetime, ref: str = "",
              detail: str = "", entity: str = "measure", after: dict | None = None,
              before: dict | None = None) -> None:
    """The transition, once (measure_events), and its audit-trail entry, in this transaction."""
    session.add(MeasureEventRow(measure_id=m.id, subject_type=m.subject_type, id_number=m.id_number,
                                event=event, ref=ref, on=on, detail=detail, recorded_at=now))
    audit.stage(session, [measure_change(m.id, m.subject_type, m.id_number, m.region, event, on, ref, detail,
                                         after, before)], now)


_EVENT_ENTITY = {
    "notice_served": "notice", "objection_window_closed": "notice", "objection_deadline_final": "notice",
    "objection_filed": "objection", "objection_evidence_complete": "objection", "objection_upheld": "objection",
    "objection_rejected": "objection", "objection_modified": "objection", "review_overdue": "objection",
    "review_due_on_final": "objection",
    "repair_filed": "repair", "repair_approved": "repair", "repair_rejected": "repair",
    "repair_reply_overdue": "repair", "reply_due_on_final": "repair",
}


def measure_change(measure_id: str, subject_type: str, id_number: str, region: str, event: str, on: date,
                   ref: str = "", detail: str = "", after: dict | None = None,
                   before: dict | None = None) -> audit.Change:
    """The audit entry of a measure event: about the notice/objection/repair it concerns, if any."""
    entity = _EVENT_ENTITY.get(event, "measure")
    action = event if entity != "measure" else f"measure_{event}"
    return audit.Change(action=action, entity=entity, entity_id=measure_id if entity == "measure" else ref,
                        subject_type=subject_type, id_number=id_number, region=region, before=before,
                        after={"measure_id": measure_id, "on": on, **({"cause": ref} if ref and entity == "measure"
                                                                       else {}),
                               **({"detail": detail} if detail else {}), **(after or {})})


def append_changes(session: Session, keys: Iterable[SubjectKey], now: datetime) -> None:
    """No origin: every process, this one included, reloads these subjects from the database."""
    rows = [{"subject_type": t, "id_number": n, "changed_at": now, "origin": None} for t, n in sorted(set(keys))]
    if rows:
        session.execute(insert(SubjectChangeRow), rows)
