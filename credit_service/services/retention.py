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

The rows are found and deleted through the unit of work's `retention` repository
(adapters/retention_store.py), a batch per unit of work, so a long prune never holds locks for long.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from . import webhooks as webhook_service
from .unit_of_work import UnitOfWork

BATCH = 5000  # rows per transaction: a long prune never holds locks for long


@dataclass
class Pruned:
    changes: int = 0
    deliveries: int = 0
    attempts: int = 0

    def __str__(self) -> str:
        return (f"pruned {self.changes} change-feed entries, {self.deliveries} webhook deliveries "
                f"({self.attempts} attempts)")


def prune(uow_factory: Callable[[], UnitOfWork], now: datetime, retention_days: float,
          batch: int = BATCH) -> Pruned:
    cutoff = now - timedelta(days=retention_days)
    pruned = Pruned()
    with uow_factory() as uow:
        head = uow.retention.feed_head()
        held = uow.retention.lowest_active_cursor()
        webhooks = uow.retention.webhook_cursors()
    limit = head if held is None else min(head, held - webhook_service.GAP_WINDOW)
    while True:  # the change feed, oldest first, a batch per transaction
        with uow_factory() as uow:
            seqs = uow.retention.old_changes(limit, cutoff, batch)
            if not seqs:
                break
            uow.retention.delete_changes(seqs)
            uow.commit()
            pruned.changes += len(seqs)
    for webhook_id, cursor in webhooks:
        while True:
            with uow_factory() as uow:
                ids = uow.retention.old_deliveries(webhook_id, cutoff, cursor - webhook_service.GAP_WINDOW, batch)
                if not ids:
                    break
                pruned.attempts += uow.retention.delete_deliveries(ids)
                uow.commit()
                pruned.deliveries += len(ids)
    return pruned
