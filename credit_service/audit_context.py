"""Who is acting: set once per request (from the token), per job run and per CLI command, and read
by the audit trail wherever a change is written — so use cases need no extra parameter for it."""
from __future__ import annotations

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    name: str
    role: str
    region: str | None = None
    request_id: str | None = None


SYSTEM = Actor("system", "system")
_current: ContextVar[Actor] = ContextVar("credit_service_actor", default=SYSTEM)


def current_actor() -> Actor:
    return _current.get()


@contextlib.contextmanager
def acting_as(actor: Actor):
    token = _current.set(actor)
    try:
        yield actor
    finally:
        _current.reset(token)
