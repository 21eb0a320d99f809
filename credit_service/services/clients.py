"""API clients: tokens are shown once and stored only as a SHA-256 hash."""
from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from ..adapters.orm import ApiClientRow
from ..adapters.status_index import CLIENT_FEED
from ..clock import Clock, SystemClock
from ..domain.identity import (SUBJECT_TYPES, id_number_problem, mask_id_number, normalise_id_number,
                               region_problem)
from ..domain.tokens import as_shanghai, expired
from . import access
from .audit import SYSTEM, Actor, Change
from .errors import Conflict, Invalid, NotFound
from .unit_of_work import UnitOfWork

ROLES = access.ROLES


@dataclass(frozen=True)
class Principal:
    client_id: str
    name: str
    role: str
    region: str | None = None
    subject_type: str | None = None
    subject_lookup_key: str | None = None  # a person's lookup key (adapters/pii.py), not the number
    expires_at: datetime | None = None  # refused from this instant (aware); None: does not expire
    # As the audit trail names the one acting (default: `name`), and the request it came in: set by the
    # door that names the Principal (API: the client; console: "console:<user>"; self-service: the person).
    audit_name: str | None = None
    request_id: str | None = None

    @property
    def actor(self) -> Actor:
        """Who the audit trail records for what this Principal's use cases change."""
        return Actor(self.audit_name or self.name, self.role, self.region, self.request_id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_client(uow: UnitOfWork, clock: Clock, name: str, role: str, region: str | None = None,
                  subject: str | None = None, expires_at: datetime | None = None, *,
                  actor: Actor = SYSTEM) -> tuple[Principal, str]:
    """`expires_at`: from then on the token is refused (domain.tokens.parse_expiry reads --expires);
    `actor`: who the audit trail records (the service itself at the command line)."""
    if role not in ROLES:
        raise Invalid(f"角色须为{'/'.join(ROLES)}之一。", errors={"role": ["unknown role"]})
    if access.bound_to_region(role) and not region:
        raise Invalid(f"{role} 角色须指定 --region（其写操作限于该统筹区）。", errors={"region": ["required"]})
    if region and (problem := region_problem(region)):
        raise Invalid(problem, errors={"region": [problem]})
    subject_type = id_number = None
    if access.bound_to_subject(role):
        if not subject or ":" not in subject:
            raise Invalid(f"{role} 角色须指定 --subject TYPE:ID_NUMBER。", errors={"subject": ["required"]})
        subject_type, id_number = subject.split(":", 1)
        id_number = normalise_id_number(id_number)
        if subject_type not in SUBJECT_TYPES:
            raise Invalid(f"主体类型须为{'/'.join(SUBJECT_TYPES)}之一。", errors={"subject": ["bad type"]})
        if problem := id_number_problem(id_number):
            raise Invalid(problem, code="invalid_id_number", errors={"subject": [problem]})
    token = secrets.token_urlsafe(32)
    lookup_key = None
    if id_number is not None:  # only the lookup key is stored, like everywhere else
        lookup_key = uow.keys.lookup_key(subject_type, id_number)
    now = clock.now()
    if expires_at is not None and expires_at <= now:
        raise Invalid("令牌的失效时间须晚于现在。", errors={"expires": ["not in the future"]})
    principal = Principal(uuid.uuid4().hex, name, role, region, subject_type, lookup_key, expires_at)
    with uow:
        if uow.clients.named(name) is not None:
            raise Conflict(f"客户端名称{name}已存在。", code="duplicate_client_name")
        uow.clients.add(ApiClientRow(
            id=principal.client_id, name=name, role=role, region=region, subject_type=subject_type,
            subject_lookup_key=lookup_key, token_hash=hash_token(token), created_at=now, expires_at=expires_at))
        if id_number is not None:
            uow.subjects.remember([(subject_type, id_number)])
        uow.audit.stage([Change(
            action="client_created", entity="api_client", entity_id=principal.client_id, region=region,
            after={"name": name, "role": role, "region": region, "subject_type": subject_type,
                   **({"expires_at": expires_at.isoformat()} if expires_at else {})})], now, actor)
        uow.commit()
    return principal, token


def revoke_client(uow: UnitOfWork, clock: Clock, name_or_id: str, *, actor: Actor = SYSTEM) -> str:
    """Revoke by client name, or by id; returns the name. Every process refuses the token once its
    change-feed poll sees the entry (CREDIT_SERVICE_INDEX_POLL_SECONDS)."""
    with uow:
        row = uow.clients.named(name_or_id) or uow.clients.get(name_or_id)
        if row is None:
            raise NotFound(f"客户端{name_or_id}不存在。", code="client_not_found")
        if row.revoked_at is not None:
            return row.name
        row.revoked_at = clock.now()
        uow.feed.append([(CLIENT_FEED, row.token_hash)], clock.now())  # every process drops the token
        uow.audit.stage([Change(action="client_revoked", entity="api_client", entity_id=row.id,
                                region=row.region, after={"name": row.name})], clock.now(), actor)
        uow.commit()
        return row.name


@dataclass(frozen=True)
class ClientListing:
    """What `clients list` shows: never the token (only its hash is stored) nor an identity number."""

    id: str
    name: str
    role: str
    region: str | None
    subject: str | None  # "insured:370102********1231"
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if expired(self.expires_at, now) else "active"


def list_clients(uow: UnitOfWork) -> list[ClientListing]:
    with uow:
        rows = uow.clients.all()
        numbers = uow.subjects.reveal(r.subject_lookup_key for r in rows if r.subject_lookup_key)

    def subject(r) -> str | None:
        if not r.subject_lookup_key:
            return None
        number = numbers.get(r.subject_lookup_key)
        return f"{r.subject_type}:{mask_id_number(number) if number else '?'}"

    return [ClientListing(r.id, r.name, r.role, r.region, subject(r), as_shanghai(r.created_at),
                          as_shanghai(r.expires_at), as_shanghai(r.revoked_at)) for r in rows]


class TokenCache:
    """token hash -> Principal, so that authenticating a request runs no SQL after the first time.

    Misses are remembered too, for MISS_SECONDS and at most MAX_MISSES of them, so that a caller
    repeating a bad token does not reach the database each time. A new client needs no invalidation:
    its token is drawn at random when it is created (create_client), so no process can have
    remembered it as a miss. Revocations arrive through the status index's change feed (see
    StatusIndex.add_listener) and drop the token from both maps; an expiry is checked against the
    clock on every request (`cached`, the one place both the fast path and Flask read), so it holds
    at once in every process.
    """

    MISS_SECONDS = 5.0
    MAX_MISSES = 10_000

    def __init__(self, uow_factory: Callable[[], UnitOfWork], clock: Clock | None = None, now=time.monotonic):
        """`uow_factory`: a new unit of work each call (the container's `uow`); a lookup is one read."""
        self._uow_factory = uow_factory
        self._clock = clock or SystemClock()
        self._now = now
        self._known: dict[str, Principal] = {}
        self._missing: dict[str, float] = {}  # token hash -> until when it is known not to exist

    def cached(self, token: str) -> tuple[bool, Principal | None]:
        """(True, principal) or (True, None) if this process knows the answer, else (False, None).
        An expired token's answer is (True, None): refused, fail closed."""
        token_hash = hash_token(token)
        principal = self._known.get(token_hash)
        if principal is not None:
            if principal.expires_at is not None and expired(principal.expires_at, self._clock.now()):
                return True, None
            return True, principal
        until = self._missing.get(token_hash)
        if until is not None and until > self._now():
            return True, None
        return False, None

    def principal_for(self, token: str) -> Principal | None:
        """The token's client, or None: unknown, revoked or expired (fail closed)."""
        known, principal = self.cached(token)
        if known:
            return principal
        token_hash = hash_token(token)
        principal = self._load(token_hash)
        if principal is None:
            self._remember_miss(token_hash)
            return None
        self._known[token_hash] = principal
        return self.cached(token)[1]

    def refusal(self, token: str) -> str:
        """Why principal_for refused this token: `token_expired` when it was a valid token that expired,
        else `invalid_token` (unknown or revoked). Memory only: never a query."""
        principal = self._known.get(hash_token(token))
        if principal is not None and expired(principal.expires_at, self._clock.now()):
            return "token_expired"
        return "invalid_token"

    def _load(self, token_hash: str) -> Principal | None:
        with self._uow_factory() as uow:
            row = uow.clients.active(token_hash)
            if row is None:
                return None
            return Principal(row.id, row.name, row.role, row.region, row.subject_type, row.subject_lookup_key,
                             as_shanghai(row.expires_at))

    def _remember_miss(self, token_hash: str) -> None:
        if len(self._missing) >= self.MAX_MISSES:
            now = self._now()
            self._missing = {h: until for h, until in self._missing.items() if until > now}
            if len(self._missing) >= self.MAX_MISSES:
                self._missing.clear()
        self._missing[token_hash] = self._now() + self.MISS_SECONDS

    def on_change(self, key: tuple[str, str]) -> None:
        if key[0] == CLIENT_FEED:
            self._known.pop(key[1], None)
            self._missing.pop(key[1], None)
