"""Retention of the change feed and the webhook delivery rows (issue 13): both grew for ever.

- `subject_changes`: an entry older than the retention goes once every *active* webhook's cursor is past
  it by more than the re-check window (services/webhooks.py GAP_WINDOW): no receiver still needs it. The
  newest entry always stays, so the sequence keeps counting up (SQLite would otherwise reuse numbers)
  and every process's poller finds its place. A process that was away longer than the retention
  rebuilds its index on start anyway. An inactive webhook does not hold the feed back: re-activated
  after the retention, it gets the changes still in the feed.
- `webhook_deliveries` (and their `webhook_attempts`): a delivered row goes once it is older than the
  retention and below its webhook's re-check window (so the re-check never enqueues it twice). Pending
  rows are never pruned; dead ones stay for the operator (`redeliver`) until the webhook is deleted.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import sessionmaker

from ..adapters.orm import SubjectChangeRow, WebhookAttemptRow, WebhookDeliveryRow, WebhookRow
from . import webhooks as webhook_service

BATCH = 5000  # rows per transaction: a long prune never holds locks for long


@dataclass
class Pruned:
    changes: int = 0
    deliveries: int = 0
    attempts: int = 0

    def __str__(self) -> str:
        return (f"pruned {self.changes} change-feed entries, {self.deliveries} webhook deliveries "
                f"({self.attempts} attempts)")


def prune(session_factory: sessionmaker, now: datetime, retention_days: float, batch: int = BATCH) -> Pruned:
    cutoff = now - timedelta(days=retention_days)
    pruned = Pruned()
    ch = SubjectChangeRow.__table__.c
    with session_factory() as session:
        head = session.scalar(select(func.max(ch.seq))) or 0
        held = session.scalar(select(func.min(WebhookRow.cursor)).where(WebhookRow.active.is_(True)))
        webhooks = session.execute(select(WebhookRow.id, WebhookRow.cursor)).all()
    limit = head if held is None else min(head, held - webhook_service.GAP_WINDOW)
    while True:  # the change feed, oldest first, a batch per transaction
        with session_factory() as session, session.begin():
            seqs = session.scalars(select(ch.seq).where(ch.seq < limit, ch.changed_at < cutoff)
                                   .order_by(ch.seq).limit(batch)).all()
            if not seqs:
                break
            session.execute(delete(SubjectChangeRow).where(ch.seq.in_(seqs)))
            pruned.changes += len(seqs)
    d = WebhookDeliveryRow.__table__.c
    for webhook_id, cursor in webhooks:
        while True:
            with session_factory() as session, session.begin():
                ids = session.scalars(select(d.id).where(
                    d.webhook_id == webhook_id, d.state == "delivered", d.delivered_at < cutoff,
                    d.seq <= cursor - webhook_service.GAP_WINDOW).order_by(d.id).limit(batch)).all()
                if not ids:
                    break
                pruned.attempts += session.execute(
                    delete(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id.in_(ids))).rowcount
                session.execute(delete(WebhookDeliveryRow).where(d.id.in_(ids)))
                pruned.deliveries += len(ids)
    return pruned
