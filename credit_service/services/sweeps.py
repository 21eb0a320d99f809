"""The scheduled sweeps: each asks the database what is due as of a day and acts once.

Every effect is dated by the rule (the day a measure started or ended, the day after a deadline),
never by the day the sweep ran: a runner that was down for a month and catches up in one run leaves
the database exactly as daily runs would have. Each row is claimed before it is acted on (locked
rows of due measures, conditional UPDATEs elsewhere) and each transition is a unique event row, so
two runners never act on it twice even without the runner lock. `actor`: the job, as the audit trail
names it (jobs/workflow.py).
"""
from __future__ import annotations

from datetime import date, timedelta

from ..domain.procedure import restoration_at_end
from .audit import Actor
from .measure_records import add_event, measure_change, procedure_for
from .procedure import Workflow, repair_view


def _events(rows, event: str, day_of, now, detail_of=None) -> list[dict]:
    return [{"measure_id": r.id, "subject_type": r.subject_type, "lookup_key": r.lookup_key, "event": event, "ref": "",
             "on": day_of(r), "detail": detail_of(r) if detail_of else "", "recorded_at": now} for r in rows]


def activate_measures(w: Workflow, as_of: date, actor: Actor) -> str:
    done = 0
    while True:
        with w.uow_factory() as uow:
            due = uow.sweeps.measures_to_activate(as_of)
            if not due:
                break
            now = w.clock.now()
            uow.sweeps.mark_activated(due)
            uow.sweeps.add_events(_events(due, "activated", lambda r: r.starts_on, now))
            uow.audit.stage([measure_change(r.id, r.subject_type, r.lookup_key, r.region, "activated", r.starts_on)
                             for r in due], now, actor)
            uow.subjects_changed([(r.subject_type, r.lookup_key) for r in due], now)
            uow.commit()
            done += len(due)
    return f"{done}项措施已生效"


def end_measures(w: Workflow, as_of: date, actor: Actor) -> str:
    """Measures whose restores_on has come: settlement is allowed again in any case; credit is restored
    (第十二条) when a repair with all three conditions is approved, else it stays unrepaired."""
    ended = restored = 0
    while True:
        with w.uow_factory() as uow:
            due = uow.sweeps.measures_to_end(as_of)
            if not due:
                break
            now = w.clock.now()
            repairs: dict[str, list] = {}
            for r in uow.sweeps.repairs_of([d.id for d in due]):
                repairs.setdefault(r.measure_id, []).append(repair_view(r))
            outcomes = {d.id: restoration_at_end(d.restores_on, repairs.get(d.id, [])) for d in due}
            uow.sweeps.mark_ended([{"id": d.id, "ended_on": d.restores_on, "credit_state": outcomes[d.id].credit_state,
                                    "restored_on": outcomes[d.id].on if outcomes[d.id].credit_state == "restored"
                                    else None, "how": outcomes[d.id].how, "note": outcomes[d.id].explanation}
                                   for d in due])
            events = _events(due, "ended", lambda d: d.restores_on, now)
            for d in due:
                o = outcomes[d.id]
                events += _events([d], f"credit_{o.credit_state}", lambda _: o.on, now, lambda _: o.explanation)
            uow.sweeps.add_events(events)
            uow.audit.stage([measure_change(d.id, d.subject_type, d.lookup_key, d.region, "ended", d.restores_on,
                                           after={"credit_state": outcomes[d.id].credit_state,
                                                  "credit_restored_on": outcomes[d.id].on
                                                  if outcomes[d.id].credit_state == "restored" else None,
                                                  "credit_restored_how": outcomes[d.id].how})
                            for d in due], now, actor)
            uow.subjects_changed([(d.subject_type, d.lookup_key) for d in due], now)
            uow.commit()
            ended += len(due)
            restored += sum(o.credit_state == "restored" for o in outcomes.values())
    return f"{ended}项措施期满，其中{restored}项信用已修复，{ended - restored}项待修复"


def close_objection_windows(w: Workflow, as_of: date, actor: Actor) -> str:
    """A window closes the day after its deadline; provisional deadlines wait until they are final."""
    closed = 0
    with w.uow_factory() as uow:
        now = w.clock.now()
        for n in uow.sweeps.windows_to_close(as_of):
            closed_on = n.objection_deadline + timedelta(days=1)
            if uow.sweeps.claim("notice", n.id, "window_closed_on", closed_on):
                m = uow.sweeps.measure(n.measure_id)
                add_event(uow, m, "objection_window_closed", closed_on, now, actor, ref=n.id)
                closed += 1
        uow.commit()
    return f"{closed}件告知书的异议期限届满"


def flag_overdue(w: Workflow, as_of: date, actor: Actor) -> str:
    """Reviews (第十条) and repair replies (第十一条) not answered by their final due date."""
    counts = {}
    with w.uow_factory() as uow:
        now = w.clock.now()
        for what, due, event in (("objection", "review_due_on", "review_overdue"),
                                 ("repair", "reply_due_on", "repair_reply_overdue")):
            counts[event] = 0
            for row in uow.sweeps.overdue(what, as_of):
                overdue_on = getattr(row, due) + timedelta(days=1)
                if uow.sweeps.claim(what, row.id, "overdue_on", overdue_on):
                    add_event(uow, uow.sweeps.measure(row.measure_id), event, overdue_on, now, actor, ref=row.id)
                    counts[event] += 1
        uow.commit()
    return f"逾期未复核{counts['review_overdue']}件，逾期未答复修复申请{counts['repair_reply_overdue']}件"


def recompute_provisional_deadlines(w: Workflow, as_of: date, actor: Actor) -> str:
    """Deadlines computed while a year's holidays were unknown, computed again with today's calendar:
    they become final once the year is loaded (and may move)."""
    final = moved = 0
    with w.uow_factory() as uow:
        now = w.clock.now()
        jobs = (
            ("notice", "objection_deadline", "deadline_provisional",
             lambda p, r: p.objection_deadline(w.calendar, r.received_on)),
            ("objection", "review_due_on", "review_due_provisional",
             lambda p, r: p.review_due(w.calendar, r.evidence_complete_on or r.filed_on)),
            ("repair", "reply_due_on", "reply_due_provisional",
             lambda p, r: p.repair_reply_due(w.calendar, r.filed_on)),
        )
        for what, due_attr, flag_attr, compute in jobs:
            for row in uow.sweeps.provisional(what):
                m = uow.sweeps.measure(row.measure_id)
                deadline = compute(procedure_for(w.rules, m.rule_set, m.region, m.starts_on), row)
                old = getattr(row, due_attr)
                if deadline.due_on == old and deadline.provisional:
                    continue
                setattr(row, due_attr, deadline.due_on)
                setattr(row, flag_attr, deadline.provisional)
                if not deadline.provisional:
                    final += 1
                    add_event(uow, m, f"{due_attr}_final", deadline.due_on, now, actor, ref=row.id,
                              detail=f"暂定期限{old}，确定为{deadline.due_on}")
                moved += deadline.due_on != old
        uow.commit()
    return f"{final}项暂定期限已确定，其中{moved}项日期变动"
