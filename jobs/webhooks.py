"""The outbox sweep: turn new change-feed entries into deliveries, then POST every due delivery.

Runs every few seconds (runner.INTERVAL_JOBS) under its own lock, so that one runner delivers at a
time and the daily sweeps' lock is never taken from them.
"""
from __future__ import annotations

import logging
import time

from credit_service.adapters.webhook_sender import WebhookSender
from credit_service.metrics import WEBHOOK_ATTEMPTS
from credit_service.services import webhooks

log = logging.getLogger(__name__)
TIME_BUDGET_SECONDS = 30.0  # one pass stops taking new batches after this; the next pass goes on


def run(container, as_of=None, sender: WebhookSender | None = None) -> str:
    settings = container.settings
    made = webhooks.enqueue_changes(container.uow(), container.clock)
    own_sender = sender is None
    sender = sender or WebhookSender(settings.webhook_timeout_seconds)
    counts = {"delivered": 0, "pending": 0, "dead": 0}
    started = time.monotonic()
    tried: set[int] = set()  # one attempt per delivery per pass, however short the back-off
    try:
        while time.monotonic() - started < TIME_BUDGET_SECONDS:
            due = [d for d in webhooks.due_deliveries(container.uow(), container.clock.now()) if d.id not in tried]
            if not due:
                break
            for delivery in due:
                tried.add(delivery.id)
                result = sender.send(delivery.url, delivery.secret, delivery.event_id, delivery.event_type,
                                     delivery.payload, delivery.attempts + 1)
                state = webhooks.record_attempt(
                    container.uow(), delivery.id, container.clock.now(), result.status_code, result.error,
                    result.duration_ms, settings.webhook_backoff_seconds, settings.webhook_max_attempts)
                counts[state] = counts.get(state, 0) + 1
                WEBHOOK_ATTEMPTS.labels("ok" if state == "delivered" else "failed").inc()
                if state == "dead":
                    log.warning("webhook %s: event %s dead after %d attempts (%s)", delivery.webhook_id,
                                delivery.event_id, delivery.attempts + 1, result.error)
    finally:
        if own_sender:
            sender.close()
    summary = (f"{made} enqueued, {counts['delivered']} delivered, {counts['pending']} to retry, "
               f"{counts['dead']} dead")
    log.debug("webhook delivery: %s", summary)
    return summary
