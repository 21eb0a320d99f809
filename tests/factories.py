"""Valid identity numbers and violation bodies for tests."""
from __future__ import annotations

import itertools

from credit_service.domain.identity import check_digit

_serial = itertools.count(1)


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
