"""Fast validation of violation rows for bulk import.

marshmallow costs about 60 µs a row, which alone would hold a 10,000-row import to a third of the
database's insert speed. This parser applies the same rules as `ViolationSchema` (which documents the
body and validates the single-record endpoint) in plain Python; tests/unit/test_violation_rows.py
checks that the two agree on every case they generate.
"""
from __future__ import annotations

from datetime import date

from credit_service.domain.dates import parse_day
from credit_service.domain.identity import SUBJECT_TYPES, id_number_problem, normalise_id_number, region_problem
from credit_service.domain.money import MoneyError, parse_yuan
from credit_service.domain.violations import HANDLINGS, ViolationInput

from .messages import (BAD_DATE, BAD_HANDLING, BAD_SUBJECT_TYPE, DATES_OUT_OF_ORDER, MISSING, MONTHS_RANGE,
                       NOT_BOOLEAN, NOT_INTEGER, NOT_MAPPING, NOT_NULL, NOT_STRING, NUL_CHARACTER, POINTS_RANGE,
                       UNKNOWN_FIELD, out_of_range, too_long, too_short)

_TOP = {"source", "source_ref", "subject", "region", "occurred_on", "determined_on", "fund_loss", "handling",
        "fraud", "points", "category", "description", "months"}
_SUBJECT = {"subject_type", "id_number", "name"}


def parse_violation(raw: object) -> tuple[ViolationInput | None, dict[str, list[str]]]:
    """(the row, {}) when valid, else (None, errors per field in the form API.md gives)."""
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        return None, {"_schema": [NOT_MAPPING]}
    for key in raw.keys() - _TOP:
        errors[key] = [UNKNOWN_FIELD]

    source = _string(raw, "source", errors, 1, 64)
    source_ref = _string(raw, "source_ref", errors, 1, 128)
    subject = raw.get("subject")
    subject_type = id_number = name = None
    if "subject" not in raw:
        errors["subject"] = [MISSING]
    elif not isinstance(subject, dict):
        errors["subject"] = [NOT_NULL if subject is None else NOT_MAPPING]
    else:
        for key in subject.keys() - _SUBJECT:
            errors[f"subject.{key}"] = [UNKNOWN_FIELD]
        subject_type = _string(subject, "subject_type", errors, prefix="subject.")
        if subject_type is not None and subject_type not in SUBJECT_TYPES:
            errors["subject.subject_type"] = [BAD_SUBJECT_TYPE]
        id_number = _string(subject, "id_number", errors, prefix="subject.")
        if id_number is not None:
            id_number = normalise_id_number(id_number)
            if problem := id_number_problem(id_number):
                errors["subject.id_number"] = [problem]
        name = _string(subject, "name", errors, 0, 64, prefix="subject.", required=False)

    region = _string(raw, "region", errors)
    if region is not None and (problem := region_problem(region)):
        errors["region"] = [problem]
    occurred_on = _date(raw, "occurred_on", errors)
    determined_on = _date(raw, "determined_on", errors)
    fund_loss = None
    if "fund_loss" not in raw:
        errors["fund_loss"] = [MISSING]
    elif raw["fund_loss"] is None:
        errors["fund_loss"] = [NOT_NULL]
    else:
        try:
            fund_loss = parse_yuan(raw["fund_loss"])
        except MoneyError as exc:
            errors["fund_loss"] = [str(exc)]
    handling = _string(raw, "handling", errors)
    if handling is not None and handling not in HANDLINGS:
        errors["handling"] = [BAD_HANDLING]
    fraud = raw.get("fraud", False)
    if not isinstance(fraud, bool):
        errors["fraud"] = [NOT_NULL if fraud is None else NOT_BOOLEAN]
    points = _optional_int(raw, "points", errors, *POINTS_RANGE)
    category = _string(raw, "category", errors, 1, 32, required=False)
    months = _optional_int(raw, "months", errors, *MONTHS_RANGE)
    description = _string(raw, "description", errors, 0, 2000, required=False)

    if errors:
        return None, errors
    if determined_on < occurred_on:
        return None, {"determined_on": [DATES_OUT_OF_ORDER]}
    return ViolationInput(
        source=source, source_ref=source_ref, subject_type=subject_type, id_number=id_number, name=name,
        region=region, occurred_on=occurred_on, determined_on=determined_on, fund_loss=fund_loss,
        handling=handling, fraud=fraud, points=points, description=description or "",
        months_override=months, category=category), {}


def _string(data: dict, key: str, errors: dict, min_len: int = 0, max_len: int | None = None, prefix: str = "",
            required: bool = True) -> str | None:
    if key not in data:
        if required:
            errors[prefix + key] = [MISSING]
        return None
    value = data[key]
    if value is None:
        if required or key not in ("name", "category"):
            errors[prefix + key] = [NOT_NULL]
        return None
    if not isinstance(value, str):
        errors[prefix + key] = [NOT_STRING]
        return None
    if "\x00" in value:  # no text column can store it (PostgreSQL refuses U+0000)
        errors[prefix + key] = [NUL_CHARACTER]
        return None
    if len(value) < min_len:
        errors[prefix + key] = [too_short(min_len)]
    elif max_len is not None and len(value) > max_len:
        errors[prefix + key] = [too_long(max_len)]
    return value


def _date(data: dict, key: str, errors: dict) -> date | None:
    if key not in data:
        errors[key] = [MISSING]
        return None
    value = data[key]
    if value is None:
        errors[key] = [NOT_NULL]
        return None
    day = parse_day(value)
    if day is None:
        errors[key] = [BAD_DATE]
    return day


def _optional_int(data: dict, key: str, errors: dict, low: int, high: int) -> int | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        errors[key] = [NOT_INTEGER]
        return None
    if not low <= value <= high:
        errors[key] = [out_of_range(low, high)]
        return None
    return value
