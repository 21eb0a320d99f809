"""A violation record (违约违法信息) as it arrives from a settlement, audit or inspection system."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .decisions import ViolationFacts
from .money import format_yuan

HANDLINGS = ("agreement", "administrative", "criminal")


@dataclass(frozen=True, kw_only=True)
class ViolationInput(ViolationFacts):
    """The facts the rules judge (ViolationFacts), with where they came from and whom they concern."""

    source: str
    source_ref: str
    id_number: str
    name: str | None
    description: str

    @property
    def subject(self) -> tuple[str, str]:
        """(subject_type, identity number): the number, not its lookup key (domain.identity.SubjectKey)."""
        return self.subject_type, self.id_number

    def body_hash(self) -> str:
        """Fingerprint of everything but the idempotency key and the identity number: the same body
        again is a replay. The number is left out so that the stored fingerprint cannot be used to
        guess it back offline; intake compares the subject by its keyed lookup hash beside it."""
        canonical = "\x1f".join(str(x) for x in (
            self.subject_type, self.name or "", self.region, self.occurred_on.isoformat(),
            self.determined_on.isoformat(), format_yuan(self.fund_loss), self.handling, self.fraud,
            self.points, self.description, self.months_override))
        if self.category is not None:  # added later: bodies without it keep their fingerprint
            canonical += f"\x1fcategory={self.category}"
        return hashlib.sha256(canonical.encode()).hexdigest()
