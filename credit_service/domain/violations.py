"""A violation record (违约违法信息) as it arrives from a settlement, audit or inspection system."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from .decisions import ViolationFacts
from .money import format_yuan

HANDLINGS = ("agreement", "administrative", "criminal")


@dataclass(frozen=True)
class ViolationInput:
    source: str
    source_ref: str
    subject_type: str
    id_number: str
    name: str | None
    region: str
    occurred_on: date
    determined_on: date
    fund_loss: Decimal
    handling: str
    fraud: bool
    points: int | None
    description: str
    months_override: int | None = None
    category: str | None = None  # practitioners: the agreement's category of violation

    @property
    def subject_key(self) -> tuple[str, str]:
        return self.subject_type, self.id_number

    @property
    def record_year(self) -> int:
        """第七条：以一个自然年度为一个记录周期 — the year the violation was determined."""
        return self.determined_on.year

    def facts(self) -> ViolationFacts:
        return ViolationFacts(
            subject_type=self.subject_type, region=self.region, occurred_on=self.occurred_on,
            determined_on=self.determined_on, fund_loss=self.fund_loss, handling=self.handling,
            fraud=self.fraud, months_override=self.months_override, points=self.points, category=self.category)

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
