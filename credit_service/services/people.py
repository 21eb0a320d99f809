"""A person signed in to the self-service pages (real-name login over OpenID Connect)."""
from __future__ import annotations

from ..adapters.pii import KeyRing
from ..clock import Clock
from .audit import SYSTEM, Actor, Change
from .unit_of_work import UnitOfWork


def person_signed_in(uow: UnitOfWork, clock: Clock, keys: KeyRing, subject_type: str, id_number: str, *,
                     actor: Actor = SYSTEM) -> str:
    """Keeps the number sealed in `subjects` (so staff pages and use cases given only the lookup key can
    reveal it) and audits the sign-in; returns the lookup key the session is bound to."""
    with uow:
        key = uow.subjects.remember([(subject_type, id_number)])[(subject_type, id_number)]
        uow.audit.stage([Change(action="person_signed_in", entity="subject", entity_id=key,
                                subject_type=subject_type, id_number=key)], clock.now(), actor)
        uow.commit()
    return key
