"""Change push: event shape, signatures and the retry schedule — pure."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta

STATUS_CHANGED = "status.changed"
EVENT_TYPES = (STATUS_CHANGED,)
SIGNATURE_HEADER = "X-Credit-Signature"
MAX_BACKOFF = timedelta(hours=1)


def event_id(seq: int) -> str:
    """Stable per change (the change feed's sequence number): every retry, every runner, the same id."""
    return f"chg-{seq}"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of the exact body bytes under the webhook's secret>`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def subject_key(secret: str, subject_type: str, id_number: str) -> str:
    """Lets a receiver match the event to a person it knows, without the event carrying the identity
    number: it computes the same HMAC over the numbers it holds (`insured:370102...`)."""
    return hmac.new(secret.encode(), f"{subject_type}:{id_number}".encode(), hashlib.sha256).hexdigest()


def next_attempt(now: datetime, attempts_made: int, first_delay_seconds: float, max_attempts: int
                 ) -> datetime | None:
    """When to try again after `attempts_made` failed attempts: doubling from the first delay, capped at
    an hour; None once max_attempts have failed (dead letter)."""
    if attempts_made >= max_attempts:
        return None
    delay = timedelta(seconds=first_delay_seconds * 2 ** (attempts_made - 1))
    return now + min(delay, MAX_BACKOFF)
