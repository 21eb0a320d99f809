"""The outbox sweep: turn new change-feed entries into deliveries, then POST every due delivery.

Runs every few seconds (runner.INTERVAL_JOBS) under its own lock, so that one runner delivers at a
time and the daily sweeps' lock is never taken from them.
"""
from __future__ import annotations

import logging
import time

from credit_service.adapters.egress import AllowList
from credit_service.adapters.webhook_sender import WebhookSender
from credit_service.metrics import WEBHOOK_ATTEMPTS
from credit_service.services import webhooks

log = logging.getLogger(__name__)
TIME_BUDGET_SECONDS = 30.0  # one pass stops taking new batches after this; the next pass goes on


RECORD_EVERY = 50  # attempts written down per transaction


def run(container, as_of=None, sender: WebhookSender | None = None) -> str:
    """One pass. A webhook whose receiver fails is not tried again in the same pass (its other
    deliveries wait for the next), so one dead receiver costs one timeout per pass, not one per event."""
    settings = container.settings
    made = webhooks.enqueue_changes(container.uow(), container.clock)
    own_sender = sender is None
    sender = sender or WebhookSender(settings.webhook_timeout_seconds, AllowList.parse(settings.webhook_allowed_hosts))
    counts = {"delivered": 0, "pending": 0, "dead": 0}
    started = time.monotonic()
    tried: set[int] = set()  # one attempt per delivery per pass, however short the back-off
    failing: set[str] = set()
    try:
        while time.monotonic() - started < TIME_BUDGET_SECONDS:
            due = [d for d in webhooks.due_deliveries(container.uow(), container.clock.now())
                   if d.id not in tried and d.webhook_id not in failing]
            if not due:
                break
            for chunk_start in range(0, len(due), RECORD_EVERY):
                attempts, sent = [], []
                for delivery in due[chunk_start:chunk_start + RECORD_EVERY]:
                    tried.add(delivery.id)
                    if delivery.webhook_id in failing:
                        continue
                    result = sender.send(delivery.url, delivery.secret, delivery.event_id, delivery.event_type,
                                         delivery.payload, delivery.attempts + 1)
                    if result.error is not None:
                        failing.add(delivery.webhook_id)
                    attempts.append(webhooks.Attempt(delivery.id, container.clock.now(), result.status_code,
                                                     result.error, result.duration_ms))
                    sent.append((delivery, result))
                states = webhooks.record_attempts(container.uow(), attempts, settings.webhook_backoff_seconds,
                                                  settings.webhook_max_attempts)
                for (delivery, result), state in zip(sent, states):
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
