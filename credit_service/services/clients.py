"""API clients: tokens are shown once and stored only as a SHA-256 hash."""
from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import select

from ..adapters import pii, subjects
from ..adapters.orm import ApiClientRow, SubjectChangeRow
from ..adapters.status_index import CLIENT_FEED
from ..clock import Clock
from ..domain.identity import SUBJECT_TYPES, id_number_problem, normalise_id_number, region_problem
from . import audit
from .errors import Conflict, Invalid, NotFound
from .unit_of_work import UnitOfWork

ROLES = ("settlement", "reporter", "staff", "person", "admin")


@dataclass(frozen=True)
class Principal:
    client_id: str
    name: str
    role: str
    region: str | None = None
    subject_type: str | None = None
    subject_id_number: str | None = None  # a person's lookup key (adapters/pii.py), not the number


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_client(uow: UnitOfWork, clock: Clock, name: str, role: str, region: str | None = None,
                  subject: str | None = None) -> tuple[Principal, str]:
    if role not in ROLES:
        raise Invalid(f"角色须为{'/'.join(ROLES)}之一。", errors={"role": ["unknown role"]})
    if role == "staff" and not region:
        raise Invalid("staff 角色须指定 --region（其写操作限于该统筹区）。", errors={"region": ["required"]})
    if region and (problem := region_problem(region)):
        raise Invalid(problem, errors={"region": [problem]})
    subject_type = id_number = None
    if role == "person":
        if not subject or ":" not in subject:
            raise Invalid("person 角色须指定 --subject TYPE:ID_NUMBER。", errors={"subject": ["required"]})
        subject_type, id_number = subject.split(":", 1)
        id_number = normalise_id_number(id_number)
        if subject_type not in SUBJECT_TYPES:
            raise Invalid(f"主体类型须为{'/'.join(SUBJECT_TYPES)}之一。", errors={"subject": ["bad type"]})
        if problem := id_number_problem(id_number):
            raise Invalid(problem, code="invalid_id_number", errors={"subject": [problem]})
    token = secrets.token_urlsafe(32)
    subject_key = None
    if id_number is not None:  # only the lookup key is stored, like everywhere else
        subject_key = pii.ring().lookup_key(subject_type, id_number)
    principal = Principal(uuid.uuid4().hex, name, role, region, subject_type, subject_key)
    with uow:
        if uow.session.scalar(select(ApiClientRow.id).where(ApiClientRow.name == name)):
            raise Conflict(f"客户端名称{name}已存在。", code="duplicate_client_name")
        uow.session.add(ApiClientRow(
            id=principal.client_id, name=name, role=role, region=region, subject_type=subject_type,
            subject_id_number=subject_key, token_hash=hash_token(token), created_at=clock.now()))
        if id_number is not None:
            subjects.remember(uow.session, pii.ring(), [(subject_type, id_number)])
        audit.stage(uow.session, [audit.Change(
            action="client_created", entity="api_client", entity_id=principal.client_id, region=region,
            after={"name": name, "role": role, "region": region, "subject_type": subject_type})], clock.now())
        uow.commit()
    return principal, token


def revoke_client(uow: UnitOfWork, clock: Clock, name: str) -> None:
    with uow:
        row = uow.session.scalar(select(ApiClientRow).where(ApiClientRow.name == name))
        if row is None:
            raise NotFound(f"客户端{name}不存在。", code="client_not_found")
        row.revoked_at = clock.now()
        uow.session.add(SubjectChangeRow(subject_type=CLIENT_FEED, id_number=row.token_hash,
                                         changed_at=clock.now()))
        audit.stage(uow.session, [audit.Change(action="client_revoked", entity="api_client", entity_id=row.id,
                                               region=row.region, after={"name": name})], clock.now())
        uow.commit()


class TokenCache:
    """token hash -> Principal, so that authenticating a request runs no SQL after the first time.

    Misses are remembered too, for MISS_SECONDS and at most MAX_MISSES of them, so that a caller
    repeating a bad token does not reach the database each time. A new client needs no invalidation:
    its token is drawn at random when it is created (create_client), so no process can have
    remembered it as a miss. Revocations arrive through the status index's change feed (see
    StatusIndex.add_listener) and drop the token from both maps.
    """

    MISS_SECONDS = 5.0
    MAX_MISSES = 10_000

    def __init__(self, session_factory, now=time.monotonic):
        self._session_factory = session_factory
        self._now = now
        self._known: dict[str, Principal] = {}
        self._missing: dict[str, float] = {}  # token hash -> until when it is known not to exist

    def cached(self, token: str) -> tuple[bool, Principal | None]:
        """(True, principal) or (True, None) if this process knows the answer, else (False, None)."""
        token_hash = hash_token(token)
        principal = self._known.get(token_hash)
        if principal is not None:
            return True, principal
        until = self._missing.get(token_hash)
        if until is not None and until > self._now():
            return True, None
        return False, None

    def principal_for(self, token: str) -> Principal | None:
        known, principal = self.cached(token)
        if known:
            return principal
        token_hash = hash_token(token)
        with self._session_factory() as session:
            row = session.scalar(select(ApiClientRow).where(ApiClientRow.token_hash == token_hash,
                                                            ApiClientRow.revoked_at.is_(None)))
            if row is None:
                self._remember_miss(token_hash)
                return None
            principal = Principal(row.id, row.name, row.role, row.region, row.subject_type,
                                  row.subject_id_number)
        self._known[token_hash] = principal
        return principal

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
