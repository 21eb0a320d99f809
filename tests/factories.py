"""Valid identity numbers and violation bodies for tests."""
from __future__ import annotations

import itertools

from credit_service.adapters.pii import KeyRing
from credit_service.domain.identity import SUBJECT_TYPES, check_digit

_serial = itertools.count(1)

# Fixed identity-number keys (adapters/pii.py); conftest puts them in the environment too, for the
# servers the end-to-end tests start.
TEST_HMAC_KEYS = "t1:" + "dGVzdC1obWFjLWtleS0wMDAwMDAwMDAwMDAwMDAwMDA="
TEST_ENCRYPTION_KEYS = "t1:" + "dGVzdC1hZXMta2V5LTAwMDAwMDAwMDAwMDAwMDAwMDA="
TEST_KEYS = KeyRing.from_text(TEST_HMAC_KEYS, TEST_ENCRYPTION_KEYS)
# The audit trail's MAC key (adapters/audit_keys.py), likewise in the environment.
TEST_AUDIT_KEYS = "ta1:" + "dGVzdC1hdWRpdC1tYWMta2V5LTAwMDAwMDAwMDAwMDA="


def stored_key(number: str, subject_type: str = "insured") -> str:
    """What the tables store for this subject instead of its number: the lookup key."""
    return TEST_KEYS.lookup_key(subject_type, number)


def stored_keys(number: str) -> list[str]:
    """The lookup keys of this number under every subject type (for queries that do not know it)."""
    return [TEST_KEYS.lookup_key(t, number) for t in SUBJECT_TYPES]


def id_number(region: str = "370102", birth: str = "19900101", seq: int | None = None) -> str:
    seq = next(_serial) % 1000 if seq is None else seq
    first17 = f"{region}{birth}{seq:03d}"
    return first17 + check_digit(first17)


def with_wrong_check_digit(valid: str) -> str:
    wrong = "0" if valid[-1] != "0" else "1"
    return valid[:17] + wrong


def violation(**overrides) -> dict:
    body = {
        "source": "smart-audit",
        "source_ref": f"SA-{next(_serial):06d}",
        "subject": {"subject_type": "insured", "id_number": overrides.pop("id_number", None) or id_number(),
                    "name": "张三"},
        "region": "370100",
        "occurred_on": "2025-03-02",
        "determined_on": "2025-04-10",
        "fund_loss": "150000.00",
        "handling": "administrative",
        "fraud": False,
        "points": None,
        "description": "虚构医疗服务",
    }
    subject_type = overrides.pop("subject_type", None)
    if subject_type:
        body["subject"]["subject_type"] = subject_type
    body.update(overrides)
    return body
