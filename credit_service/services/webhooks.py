"""Webhooks: registration, turning the change feed into deliveries, and recording attempts.

The outbox is the subject_changes feed: every change appends to it in the same transaction as the
change itself, so a committed change is never without its entry, whatever dies afterwards. The
delivery job (jobs/webhooks.py) reads the feed after each webhook's cursor and makes one delivery row
per (webhook, feed entry) — unique, so running it twice or in two runners makes no duplicates — then
POSTs the due ones. At least once: a receiver de-duplicates by event id.

Feed entries can commit out of sequence order (a transaction takes its number before it commits), so
each pass re-reads a window below the cursor and skips what already has a delivery (as the status
index does with its own window).

A webhook gets only what its scope entitles it to (domain/webhooks.Scope; issue 9, finding 3): an
entry of a subject without a record in the scope's regions makes no delivery. Events carry no identity
number, not even masked; `subject_key` is a per-webhook pseudonym the receiver cannot compute itself.
"""
from __future__ import annotations

import base64
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from ..adapters import egress, pii
from ..adapters.orm import WebhookRow
from ..clock import Clock
from ..domain.identity import SUBJECT_TYPES
from ..domain.status import CLEAN
from ..domain.webhooks import (EVENT_TYPES, STATUS_CHANGED, Scope, event_id, next_attempt, scope_problems,
                               subject_pseudonym)
from ..metrics import gauge_hook
from .errors import Invalid, NotFound
from .status_query import event_status
from .unit_of_work import UnitOfWork

GAP_WINDOW = 1000
ENQUEUE_BATCH = 2000


def secret_context(webhook_id: str) -> str:
    return f"webhook-secret:{webhook_id}"


def pseudonym_context(webhook_id: str) -> str:
    return f"webhook-pseudonym:{webhook_id}"


def seal_webhook_keys(keyring: pii.KeyRing, webhook_id: str, secret: str, pseudonym_key: bytes) -> dict:
    """The stored columns of a webhook's secret and pseudonym key (migration 0008 seals them alike)."""
    return {"secret_sealed": keyring.seal_secret(secret_context(webhook_id), secret),
            "pseudonym_key_sealed": keyring.seal_secret(pseudonym_context(webhook_id),
                                                        base64.b64encode(pseudonym_key).decode())}


def _open_secret(keyring: pii.KeyRing, row) -> str:
    return keyring.open_secret(secret_context(row.id), row.secret_sealed)


def _open_pseudonym_key(keyring: pii.KeyRing, row) -> bytes:
    return base64.b64decode(keyring.open_secret(pseudonym_context(row.id), row.pseudonym_key_sealed))


def register_webhook(uow: UnitOfWork, clock: Clock, actor: str, url: str, secret: str, events: list[str],
                     scope: dict | None, allow: egress.AllowList) -> dict:
    errors: dict[str, list[str]] = {}
    if problem := egress.check_url(url or "", allow):
        errors["url"] = [problem]
    if not isinstance(secret, str) or len(secret) < 16:
        errors["secret"] = ["签名密钥至少16个字符。"]
    if not events or any(e not in EVENT_TYPES for e in events):
        errors["events"] = [f"事件类型须为以下之一：{'、'.join(EVENT_TYPES)}。"]
    errors.update(scope_problems(scope))
    if errors:
        # A target refused by the address guard alone has its own code: the request was well formed.
        code = "webhook_target_not_allowed" if set(errors) == {"url"} else "validation_failed"
        raise Invalid("Webhook登记信息无效：" + "；".join(f"{k}: {v[0]}" for k, v in errors.items()), code=code,
                      errors=errors)
    webhook_id = uuid.uuid4().hex
    with uow:
        head = uow.webhooks.latest_seq()
        row = WebhookRow(id=webhook_id, url=url, events=json.dumps(sorted(set(events))),
                         scope=json.dumps(Scope.from_json(scope).to_json()), start_seq=head, cursor=head,
                         active=True, created_by=actor, created_at=clock.now(),
                         **seal_webhook_keys(uow.keys, webhook_id, secret, secrets.token_bytes(32)))
        uow.webhooks.add(row)
        uow.commit()
        return webhook_json(row)


def set_scope(uow: UnitOfWork, webhook_id: str, scope: dict) -> dict:
    """Give a webhook (e.g. one registered before scopes, which migration 0008 deactivated) a scope and
    activate it: it carries on from its cursor, so the changes made meanwhile are delivered too."""
    if errors := scope_problems(scope):
        raise Invalid("推送范围无效：" + "；".join(f"{k}: {v[0]}" for k, v in errors.items()), errors=errors)
    with uow:
        row = uow.webhooks.get(webhook_id)
        if row is None:
            raise NotFound(f"Webhook {webhook_id} 不存在。", code="webhook_not_found")
        row.scope, row.active = json.dumps(Scope.from_json(scope).to_json()), True
        body = webhook_json(row)
        uow.commit()
        return body


def subject_keys(uow: UnitOfWork, webhook_id: str, people: list[tuple[str, str]]) -> list[str]:
    """The `subject_key` this webhook's events carry for each (subject_type, id_number), in order: how a
    receiver matches events to the people it knows. Asking needs the number (and a token)."""
    with uow:
        row = uow.webhooks.get(webhook_id)
        if row is None:
            raise NotFound(f"Webhook {webhook_id} 不存在。", code="webhook_not_found")
        key = _open_pseudonym_key(uow.keys, row)
    return [subject_pseudonym(key, subject_type, number) for subject_type, number in people]


def webhook_json(row: WebhookRow, counts: dict[str, int] | None = None) -> dict:
    body = {"id": row.id, "url": row.url, "events": json.loads(row.events),
            "scope": json.loads(row.scope) if row.scope else None, "active": row.active,
            "created_at": row.created_at.isoformat()}
    if counts is not None:
        body["deliveries"] = {state: counts.get(state, 0) for state in ("pending", "delivered", "dead")}
    return body


def list_webhooks(uow: UnitOfWork) -> list[dict]:
    with uow:
        rows = uow.webhooks.all()
        counts = uow.webhooks.delivery_counts()
        return [webhook_json(r, counts.get(r.id, {})) for r in rows]


def deactivate_webhook(uow: UnitOfWork, webhook_id: str) -> dict:
    """Stop pushing to it (its pending deliveries stay, unsent, for the record)."""
    with uow:
        row = uow.webhooks.get(webhook_id)
        if row is None:
            raise NotFound(f"Webhook {webhook_id} 不存在。", code="webhook_not_found")
        row.active = False
        body = webhook_json(row)
        uow.commit()
        return body


def redeliver_dead(uow: UnitOfWork, clock: Clock, webhook_id: str) -> int:
    """Dead letters back to pending with fresh attempts (after the receiver was fixed); returns how many."""
    with uow:
        if uow.webhooks.get(webhook_id) is None:
            raise NotFound(f"Webhook {webhook_id} 不存在。", code="webhook_not_found")
        dead = uow.webhooks.dead_deliveries(webhook_id)
        for delivery in dead:
            delivery.state, delivery.attempts, delivery.next_attempt_at = "pending", 0, clock.now()
        uow.commit()
        return len(dead)


def enqueue_changes(uow: UnitOfWork, clock: Clock) -> int:
    """Make deliveries for feed entries no delivery exists for yet; returns how many were made."""
    made = 0
    with uow:
        webhook_ids = uow.webhooks.active_ids()
    for webhook_id in webhook_ids:
        while True:
            count, more = _enqueue_one(uow, clock, webhook_id)
            made += count
            if not more:
                break
    return made


def _enqueue_one(uow: UnitOfWork, clock: Clock, webhook_id: str) -> tuple[int, bool]:
    with uow:
        webhook = uow.webhooks.get(webhook_id)
        scope = Scope.from_json(json.loads(webhook.scope) if webhook.scope else None)
        if scope is None:  # registered before scopes: entitled to nothing until it is given one
            return 0, False
        floor = max(webhook.start_seq, webhook.cursor - GAP_WINDOW)
        entries = uow.webhooks.feed_after(floor, ENQUEUE_BATCH + GAP_WINDOW)
        done = uow.webhooks.delivered_seqs(webhook_id, floor)
        fresh = [e for e in entries if e.seq not in done and e.subject_type in SUBJECT_TYPES][:ENQUEUE_BATCH]
        more = len(fresh) == ENQUEUE_BATCH
        top = max([webhook.cursor] + ([fresh[-1].seq] if more else [e.seq for e in entries]))
        regions = uow.webhooks.record_regions({(e.subject_type, e.lookup_key) for e in fresh})
        new = [e for e in fresh if scope.entitles(e.subject_type, regions.get((e.subject_type, e.lookup_key), ()))]
        if new:
            keys = {(e.subject_type, e.lookup_key) for e in new}
            facts = uow.webhooks.subject_facts(keys)
            # The feed holds lookup keys; the pseudonym is of the number, so that it outlives key rotations.
            numbers = uow.subjects.reveal(e.lookup_key for e in new)
            pseudonym_key = _open_pseudonym_key(uow.keys, webhook)
            today, now = clock.today(), clock.now()
            rows = []
            for e in new:
                payload = {
                    "event_id": event_id(e.seq), "type": STATUS_CHANGED, "seq": e.seq,
                    "changed_at": _iso(e.changed_at),
                    "subject_key": subject_pseudonym(pseudonym_key, e.subject_type, numbers[e.lookup_key]),
                    "status": event_status(e.subject_type, facts.get((e.subject_type, e.lookup_key), CLEAN), today),
                }
                rows.append({"webhook_id": webhook_id, "seq": e.seq, "event_id": event_id(e.seq),
                             "event_type": STATUS_CHANGED, "state": "pending", "attempts": 0,
                             "payload": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
                             "next_attempt_at": now, "created_at": now})
            uow.webhooks.add_deliveries(rows)
        webhook.cursor = top
        uow.commit()
    return len(new), more


def _iso(moment) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else (str(moment) if moment else None)


@dataclass(frozen=True)
class DueDelivery:
    id: int
    webhook_id: str
    url: str
    secret: str
    event_id: str
    event_type: str
    payload: bytes
    attempts: int


def due_deliveries(uow: UnitOfWork, now: datetime, limit: int = 500) -> list[DueDelivery]:
    with uow:
        rows = uow.webhooks.due(now, limit)
        keyring, opened = uow.keys, {}
        for _, webhook in rows:
            if webhook.id not in opened:
                opened[webhook.id] = _open_secret(keyring, webhook)
        return [DueDelivery(d.id, d.webhook_id, webhook.url, opened[webhook.id], d.event_id, d.event_type,
                            d.payload.encode(), d.attempts) for d, webhook in rows]


@dataclass(frozen=True)
class Attempt:
    delivery_id: int
    at: datetime
    status_code: int | None
    error: str | None
    duration_ms: int


def record_attempts(uow: UnitOfWork, attempts: list[Attempt], first_delay_seconds: float, max_attempts: int
                    ) -> list[str]:
    """Store attempts in the delivery log and move their deliveries on, in one transaction; returns the
    new states. (Dying before this commits means those events are sent again: at least once.)"""
    states = []
    with uow:
        ids = [a.delivery_id for a in attempts]
        by_id = uow.webhooks.deliveries(ids)
        for attempt in attempts:
            delivery = by_id[attempt.delivery_id]
            if delivery.state != "pending":  # another runner finished it meanwhile (only if the lock was lost)
                states.append(delivery.state)
                continue
            delivery.attempts += 1
            delivery.last_status, delivery.last_error = attempt.status_code, attempt.error
            if attempt.error is None and attempt.status_code is not None and 200 <= attempt.status_code < 300:
                delivery.state, delivery.delivered_at = "delivered", attempt.at
            else:
                retry_at = next_attempt(attempt.at, delivery.attempts, first_delay_seconds, max_attempts)
                if retry_at is None:
                    delivery.state = "dead"
                else:
                    delivery.next_attempt_at = retry_at
            uow.webhooks.add_attempt(attempt.delivery_id, attempt.at, attempt.status_code, attempt.error,
                                     attempt.duration_ms)
            states.append(delivery.state)
        uow.commit()
    return states


def outbox_backlog(uow: UnitOfWork) -> dict[str, int]:
    """Pending and dead deliveries, and feed entries not yet turned into deliveries (per webhook)."""
    with uow:
        states = uow.webhooks.undelivered_counts()
        head = uow.webhooks.latest_seq()
        cursors = uow.webhooks.active_cursors()
    return {"pending": states.get("pending", 0), "dead": states.get("dead", 0),
            "not_enqueued": sum(max(0, head - cursor) for cursor in cursors)}


@gauge_hook("credit_service_outbox_backlog",
            "Webhook outbox: pending and dead deliveries, and feed entries not yet enqueued")
def _backlog_gauge(container) -> dict[str, int]:
    return outbox_backlog(container.uow())
