"""The scheduled sweeps: each asks the database what is due as of a day and acts once.

Every effect is dated by the rule (the day a measure started or ended, the day after a deadline),
never by the day the sweep ran: a runner that was down for a month and catches up in one run leaves
the database exactly as daily runs would have. Each row is claimed before it is acted on (locked
rows of due measures, conditional UPDATEs elsewhere) and each transition is a unique event row, so
two runners never act on it twice even without the runner lock.
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import bindparam, insert, or_, select, update

from ..adapters.orm import MeasureEventRow, MeasureRow, NoticeRow, ObjectionRow, RepairRow
from ..domain.procedure import restoration_at_end
from . import audit
from .measure_records import add_event, append_changes, measure_change, procedure_for
from .procedure import Workflow, repair_view

CHUNK = 1000


def _claim(session, table, row_id: str, unset_column, values: dict) -> bool:
    """Set `values` on the row if `unset_column` is still NULL; True if this transaction did it."""
    result = session.execute(update(table).where(table.id == row_id, unset_column.is_(None)).values(**values)
                             .execution_options(synchronize_session=False))
    return result.rowcount == 1


def _not_revoked_by(day_column):
    """A measure revoked later than a transition still went through it (on that day it was in force),
    whether the sweep ran before the revocation or catches up after it."""
    return or_(MeasureRow.revoked_on.is_(None), day_column <= MeasureRow.revoked_on)


def _claim_due(session, where, order_by) -> list:
    """The next chunk of due measures, locked for this transaction. PostgreSQL: FOR UPDATE SKIP LOCKED,
    so a second runner takes other rows (or none), and re-checks `where` on rows that a concurrent
    transaction just changed; SQLite: the transaction began with BEGIN IMMEDIATE (one writer)."""
    m = MeasureRow.__table__.c
    query = select(m.id, m.subject_type, m.id_number, m.region, m.starts_on, m.restores_on).where(*where) \
        .order_by(*order_by).limit(CHUNK)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).all()


def _events(rows, event: str, day_of, now, detail_of=None) -> list[dict]:
    return [{"measure_id": r.id, "subject_type": r.subject_type, "id_number": r.id_number, "event": event, "ref": "",
             "on": day_of(r), "detail": detail_of(r) if detail_of else "", "recorded_at": now} for r in rows]


def activate_measures(w: Workflow, as_of: date) -> str:
    m = MeasureRow.__table__.c
    done = 0
    while True:
        with w.uow_factory() as uow:
            s = uow.session
            due = _claim_due(s, (m.activated_on.is_(None), m.starts_on <= as_of, _not_revoked_by(m.starts_on)),
                             (m.starts_on, m.id))
            if not due:
                break
            now = w.clock.now()
            s.execute(update(MeasureRow.__table__).where(m.id == bindparam("b_id"))
                      .values(activated_on=bindparam("b_on")),
                      [{"b_id": r.id, "b_on": r.starts_on} for r in due])
            s.execute(insert(MeasureEventRow.__table__), _events(due, "activated", lambda r: r.starts_on, now))
            audit.stage(s, [measure_change(r.id, r.subject_type, r.id_number, r.region, "activated", r.starts_on)
                            for r in due], now)
            append_changes(s, [(r.subject_type, r.id_number) for r in due], now)
            uow.commit()
            done += len(due)
    return f"{done}项措施已生效"


def end_measures(w: Workflow, as_of: date) -> str:
    """Measures whose restores_on has come: settlement is allowed again in any case; credit is restored
    (第十二条) when a repair with all three conditions is approved, else it stays unrepaired."""
    m = MeasureRow.__table__.c
    ended = restored = 0
    while True:
        with w.uow_factory() as uow:
            s = uow.session
            due = _claim_due(s, (m.ended_on.is_(None), m.restores_on <= as_of, _not_revoked_by(m.restores_on)),
                             (m.restores_on, m.id))
            if not due:
                break
            now = w.clock.now()
            repairs: dict[str, list] = {}
            for r in s.scalars(select(RepairRow).where(RepairRow.measure_id.in_([d.id for d in due]))):
                repairs.setdefault(r.measure_id, []).append(repair_view(r))
            outcomes = {d.id: restoration_at_end(d.restores_on, repairs.get(d.id, [])) for d in due}
            s.execute(update(MeasureRow.__table__).where(m.id == bindparam("b_id")).values(
                ended_on=bindparam("b_end"), credit_state=bindparam("b_state"),
                credit_restored_on=bindparam("b_restored"), credit_restored_how=bindparam("b_how"),
                credit_note=bindparam("b_note")),
                [{"b_id": d.id, "b_end": d.restores_on, "b_state": outcomes[d.id].credit_state,
                  "b_restored": outcomes[d.id].on if outcomes[d.id].credit_state == "restored" else None,
                  "b_how": outcomes[d.id].how, "b_note": outcomes[d.id].explanation} for d in due])
            events = _events(due, "ended", lambda d: d.restores_on, now)
            for d in due:
                o = outcomes[d.id]
                events += _events([d], f"credit_{o.credit_state}", lambda _: o.on, now, lambda _: o.explanation)
            s.execute(insert(MeasureEventRow.__table__), events)
            audit.stage(s, [measure_change(d.id, d.subject_type, d.id_number, d.region, "ended", d.restores_on,
                                           after={"credit_state": outcomes[d.id].credit_state,
                                                  "credit_restored_on": outcomes[d.id].on
                                                  if outcomes[d.id].credit_state == "restored" else None,
                                                  "credit_restored_how": outcomes[d.id].how})
                            for d in due], now)
            append_changes(s, [(d.subject_type, d.id_number) for d in due], now)
            uow.commit()
            ended += len(due)
            restored += sum(o.credit_state == "restored" for o in outcomes.values())
    return f"{ended}项措施期满，其中{restored}项信用已修复，{ended - restored}项待修复"


def close_objection_windows(w: Workflow, as_of: date) -> str:
    """A window closes the day after its deadline; provisional deadlines wait until they are final."""
    closed = 0
    with w.uow_factory() as uow:
        s = uow.session
        now = w.clock.now()
        for n in s.scalars(select(NoticeRow).where(NoticeRow.window_closed_on.is_(None),
                                                   NoticeRow.deadline_provisional.is_(False),
                                                   NoticeRow.objection_deadline < as_of)):
            closed_on = n.objection_deadline + timedelta(days=1)
            if _claim(s, NoticeRow, n.id, NoticeRow.window_closed_on, {"window_closed_on": closed_on}):
                m = s.get(MeasureRow, n.measure_id)
                add_event(s, m, "objection_window_closed", closed_on, now, ref=n.id)
                closed += 1
        uow.commit()
    return f"{closed}件告知书的异议期限届满"


def flag_overdue(w: Workflow, as_of: date) -> str:
    """Reviews (第十条) and repair replies (第十一条) not answered by their final due date."""
    counts = {}
    with w.uow_factory() as uow:
        s = uow.session
        now = w.clock.now()
        for table, due, provisional, event in (
                (ObjectionRow, ObjectionRow.review_due_on, ObjectionRow.review_due_provisional, "review_overdue"),
                (RepairRow, RepairRow.reply_due_on, RepairRow.reply_due_provisional, "repair_reply_overdue")):
            counts[event] = 0
            for row in s.scalars(select(table).where(table.state == "open", table.overdue_on.is_(None),
                                                     provisional.is_(False), due < as_of)):
                overdue_on = getattr(row, due.key) + timedelta(days=1)
                if _claim(s, table, row.id, table.overdue_on, {"overdue_on": overdue_on}):
                    add_event(s, s.get(MeasureRow, row.measure_id), event, overdue_on, now, ref=row.id)
                    counts[event] += 1
        uow.commit()
    return f"逾期未复核{counts['review_overdue']}件，逾期未答复修复申请{counts['repair_reply_overdue']}件"


def recompute_provisional_deadlines(w: Workflow, as_of: date) -> str:
    """Deadlines computed while a year's holidays were unknown, computed again with today's calendar:
    they become final once the year is loaded (and may move)."""
    final = moved = 0
    with w.uow_factory() as uow:
        s = uow.session
        now = w.clock.now()
        jobs = (
            (NoticeRow, NoticeRow.deadline_provisional, "objection_deadline", "deadline_provisional",
             lambda p, r: p.objection_deadline(w.calendar, r.received_on), None),
            (ObjectionRow, ObjectionRow.review_due_provisional, "review_due_on", "review_due_provisional",
             lambda p, r: p.review_due(w.calendar, r.evidence_complete_on or r.filed_on), "open"),
            (RepairRow, RepairRow.reply_due_provisional, "reply_due_on", "reply_due_provisional",
             lambda p, r: p.repair_reply_due(w.calendar, r.filed_on), "open"),
        )
        for table, flag, due_attr, flag_attr, compute, state in jobs:
            query = select(table).where(flag.is_(True))
            if state is not None:
                query = query.where(table.state == state)
            for row in s.scalars(query):
                m = s.get(MeasureRow, row.measure_id)
                deadline = compute(procedure_for(w.rules, m.rule_set, m.region, m.starts_on), row)
                old = getattr(row, due_attr)
                if deadline.due_on == old and deadline.provisional:
                    continue
                setattr(row, due_attr, deadline.due_on)
                setattr(row, flag_attr, deadline.provisional)
                if not deadline.provisional:
                    final += 1
                    add_event(s, m, f"{due_attr}_final", deadline.due_on, now, ref=row.id,
                              detail=f"暂定期限{old}，确定为{deadline.due_on}")
                moved += deadline.due_on != old
        uow.commit()
    return f"{final}项暂定期限已确定，其中{moved}项日期变动"
