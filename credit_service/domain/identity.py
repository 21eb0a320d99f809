"""PRC resident identity numbers (GB 11643-1999) and masking."""
from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_SHAPE = re.compile(r"[1-9][0-9]{16}[0-9X]")  # [0-9], not \d: full-width digits are not digits here
_REGION = re.compile(r"[1-9][0-9]{5}")

SUBJECT_TYPES = ("insured", "physician", "pharmacist")
# A subject as the tables, the change feed and the status index name it: (subject_type, lookup key),
# the keyed hash of the number (adapters/pii.py). Never the number itself.
SubjectKey = tuple[str, str]


# Weighted sums of each two-digit slice, so the settlement hot path does 9 look-ups, not 17 int()s.
_PAIR_SUMS = [{f"{a}{b}": a * w1 + b * w2 for a in range(10) for b in range(10)}
              for w1, w2 in zip(_WEIGHTS[0:16:2], _WEIGHTS[1:16:2])]
_LAST_SUMS = {str(d): d * _WEIGHTS[16] for d in range(10)}


def check_digit(first17: str) -> str:
    p = _PAIR_SUMS
    total = (p[0][first17[0:2]] + p[1][first17[2:4]] + p[2][first17[4:6]] + p[3][first17[6:8]]
             + p[4][first17[8:10]] + p[5][first17[10:12]] + p[6][first17[12:14]] + p[7][first17[14:16]]
             + _LAST_SUMS[first17[16]])
    return _CHECK_CHARS[total % 11]


def id_number_problem(value: str) -> str | None:
    """Why `value` is not a valid 18-character identity number, in Chinese; None if it is."""
    if not isinstance(value, str) or not _SHAPE.fullmatch(value):
        return "身份证号码应为18位：前17位为数字，最后一位为数字或大写X。"
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return "身份证号码中的出生日期无效。"
    if check_digit(value[:17]) != value[17]:
        return "身份证号码校验码不正确（GB 11643）。"
    return None


def normalise_id_number(value: str) -> str:
    """Accept a lower-case x check character as people type it."""
    return value.strip().upper() if isinstance(value, str) else value


def mask_id_number(value: str) -> str:
    """370102199001011237 -> 370102********1237 (as API.md shows)."""
    return value[:6] + "*" * 8 + value[14:]


def region_problem(value: str) -> str | None:
    if not isinstance(value, str) or not _REGION.fullmatch(value):
        return "统筹区编码应为6位行政区划代码，如370100。"
    return None
