"""Change push: event shape, scopes, signatures and the retry schedule — pure."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable

from .identity import SUBJECT_TYPES, region_problem

STATUS_CHANGED = "status.changed"
EVENT_TYPES = (STATUS_CHANGED,)
SIGNATURE_HEADER = "X-Credit-Signature"
TIMESTAMP_HEADER = "X-Credit-Timestamp"
# What a receiver should accept between its clock and the timestamp (docs/webhooks.md): older events
# are replays. Retries are signed afresh, so a late retry still carries a current timestamp.
MAX_SIGNATURE_AGE_SECONDS = 300
MAX_BACKOFF = timedelta(hours=1)


def event_id(seq: int) -> str:
    """Stable per change (the change feed's sequence number): every retry, every runner, the same id."""
    return f"chg-{seq}"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 over "<timestamp>." + the exact body bytes, under the webhook's secret>`."""
    return "sha256=" + hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp_header: str | None, signature_header: str | None, body: bytes,
                     now: float, max_age: int = MAX_SIGNATURE_AGE_SECONDS) -> bool:
    """The receiver's check (docs/webhooks.md): the signature fits the timestamp and the body, and the
    timestamp is within `max_age` seconds of the receiver's clock `now` (Unix seconds)."""
    if not timestamp_header or not signature_header or not timestamp_header.isdigit():
        return False
    timestamp = int(timestamp_header)
    if abs(now - timestamp) > max_age:
        return False
    return hmac.compare_digest(signature(secret, timestamp, body), signature_header)


def subject_pseudonym(key: bytes, subject_type: str, id_number: str) -> str:
    """The event's `subject_key`: HMAC-SHA256 under the webhook's own pseudonym key, which the service
    keeps (sealed) and never gives out. A receiver cannot compute it from a number, so it cannot test
    guesses offline; it learns the keys of the people it knows by asking the service with their numbers
    (POST /api/v1/webhooks/{id}/subject-keys). Two webhooks see unrelated keys for the same person."""
    return hmac.new(key, f"{subject_type}:{id_number}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Scope:
    """What a webhook is entitled to: subjects with a record decided in one of `regions` (and, when
    given, only these subject types). See `entitles`."""

    regions: frozenset[str]
    subject_types: frozenset[str] | None = None

    def entitles(self, subject_type: str, record_regions: Iterable[str]) -> bool:
        """A status change of a subject is pushed when the subject's type is in the scope and the
        subject has at least one violation — hence its measures — decided in one of the scope's
        regions, in any state (voided or corrected violations, revoked or ended measures count: the
        receiver must hear that the restriction it was told of is gone), or an expert recommendation
        made there. Once entitled, every later change of that subject is pushed, also one decided in
        another region: the status itself is recognised province-wide (Art 5)."""
        if self.subject_types is not None and subject_type not in self.subject_types:
            return False
        return not self.regions.isdisjoint(record_regions)

    def to_json(self) -> dict:
        body: dict = {"regions": sorted(self.regions)}
        if self.subject_types is not None:
            body["subject_types"] = sorted(self.subject_types)
        return body

    @classmethod
    def from_json(cls, body: dict | None) -> "Scope | None":
        if not body:
            return None
        types = body.get("subject_types")
        return cls(frozenset(body.get("regions") or ()), None if types is None else frozenset(types))


def scope_problems(body) -> dict[str, list[str]]:
    """Field errors of a scope as given ({"regions": [...], "subject_types": [...]?}); {} when valid."""
    if not isinstance(body, dict):
        return {"scope": ["须给出推送范围：{\"regions\": [统筹区编码…], \"subject_types\": [...]（可选）}。"]}
    errors: dict[str, list[str]] = {}
    regions = body.get("regions")
    if not isinstance(regions, list) or not regions:
        errors["scope.regions"] = ["至少列出一个统筹区编码。"]
    else:
        for i, region in enumerate(regions):
            if problem := region_problem(region):
                errors[f"scope.regions.{i}"] = [problem]
    types = body.get("subject_types")
    if types is not None:
        if not isinstance(types, list) or not types:
            errors["scope.subject_types"] = ["如给出，至少列出一个主体类型。"]
        else:
            for i, subject_type in enumerate(types):
                if subject_type not in SUBJECT_TYPES:
                    errors[f"scope.subject_types.{i}"] = [f"主体类型须为 {'、'.join(SUBJECT_TYPES)} 之一。"]
    unknown = set(body) - {"regions", "subject_types"}
    if unknown:
        errors.update({f"scope.{name}": ["未知字段。"] for name in sorted(unknown)})
    return errors


def next_attempt(now: datetime, attempts_made: int, first_delay_seconds: float, max_attempts: int
                 ) -> datetime | None:
    """When to try again after `attempts_made` failed attempts: doubling from the first delay, capped at
    an hour; None once max_attempts have failed (dead letter)."""
    if attempts_made >= max_attempts:
        return None
    delay = timedelta(seconds=first_delay_seconds * 2 ** (attempts_made - 1))
    return now + min(delay, MAX_BACKOFF)
