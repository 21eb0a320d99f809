"""Fields with strict types and Chinese messages (the same words as schemas/violation_rows.py)."""
from __future__ import annotations

from datetime import date

from marshmallow import Schema, ValidationError, fields

from credit_service.domain.dates import parse_day
from credit_service.domain.identity import (SUBJECT_TYPES, id_number_problem, normalise_id_number,
                                            region_problem)
from credit_service.domain.money import MoneyError, parse_yuan

from .messages import (BAD_DATE, BAD_SUBJECT_TYPE, MISSING, NOT_BOOLEAN, NOT_INTEGER, NOT_MAPPING, NOT_NULL,
                       NOT_STRING, NUL_CHARACTER, UNKNOWN_FIELD, out_of_range, too_long, too_short)

_COMMON = {"required": MISSING, "null": NOT_NULL}
NO_NUL = "^[^\\u0000]*$"

# How the OpenAPI document describes the identifiers (also for path and query parameters). The shape
# is what the service accepts (surrounding spaces are trimmed, a lower-case x is read as X); the
# check digit and the birth date inside cannot be written as a pattern: the custom format names them
# (tests/fuzz/formats.py teaches it to schemathesis).
ID_NUMBER_SCHEMA = {"type": "string", "format": "gb11643-id-number",
                    "pattern": r"^\s*[1-9][0-9]{16}[0-9Xx]\s*$",
                    "description": "18位公民身份号码（GB 11643：出生日期有效、校验码正确，否则 422 invalid_id_number）",
                    "example": "370102199001011231"}
REGION_SCHEMA = {"type": "string", "format": "region-code", "pattern": "^[1-9][0-9]{5}$",
                 "description": "6位统筹区编码", "example": "370100"}


def subject_path_parameters(subject_types: tuple[str, ...] = SUBJECT_TYPES) -> list[dict]:
    """The `{subject_type}/{id_number}` of a path (flask-smorest would document both as any string)."""
    return [{"in": "path", "name": "subject_type", "required": True,
             "schema": {"type": "string", "enum": list(subject_types)}},
            {"in": "path", "name": "id_number", "required": True, "schema": dict(ID_NUMBER_SCHEMA)}]


class StrictSchema(Schema):
    error_messages = {"type": NOT_MAPPING, "unknown": UNKNOWN_FIELD}


class Str(fields.String):
    default_error_messages = {**_COMMON, "invalid": NOT_STRING, "invalid_utf8": NOT_STRING}

    def __init__(self, min_len: int = 0, max_len: int | None = None, **kwargs):
        self.min_len, self.max_len = min_len, max_len
        documented = {"minLength": min_len} if min_len else {}
        if max_len is not None:
            documented["maxLength"] = max_len
        metadata = kwargs.get("metadata", {})
        if "pattern" not in metadata and "enum" not in metadata:
            documented["pattern"] = NO_NUL  # request_body.parse_json refuses U+0000 anywhere
        kwargs["metadata"] = {**documented, **metadata}  # documented as enforced
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in value:  # request bodies are refused earlier (request_body.py); CSV and import rows here
            raise ValidationError(NUL_CHARACTER)
        if len(value) < self.min_len:
            raise ValidationError(too_short(self.min_len))
        if self.max_len is not None and len(value) > self.max_len:
            raise ValidationError(too_long(self.max_len))
        return value


class StrictInt(fields.Integer):
    """Integers only: no strings, no floats, no booleans; within [minimum, maximum] (every integer
    column has a range, and a value outside it would fail in the database instead of here)."""

    default_error_messages = {**_COMMON, "invalid": NOT_INTEGER}

    def __init__(self, minimum: int, maximum: int, **kwargs):
        self.minimum, self.maximum = minimum, maximum
        kwargs["metadata"] = {"minimum": minimum, "maximum": maximum, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        if not self.minimum <= value <= self.maximum:
            raise ValidationError(out_of_range(self.minimum, self.maximum))
        return value


class StrictBool(fields.Boolean):
    default_error_messages = {**_COMMON, "invalid": NOT_BOOLEAN}

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictDate(fields.Date):
    """YYYY-MM-DD exactly, a real calendar date."""

    default_error_messages = {**_COMMON, "invalid": BAD_DATE, "format": BAD_DATE}

    def _deserialize(self, value, attr, data, **kwargs):
        day = parse_day(value)
        if day is None:
            raise self.make_error("invalid")
        return day


class IdNumber(Str):
    """18-character PRC resident identity number, GB 11643 check digit verified."""

    def __init__(self, **kwargs):
        super().__init__(metadata=ID_NUMBER_SCHEMA, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = normalise_id_number(super()._deserialize(value, attr, data, **kwargs))
        if problem := id_number_problem(value):
            raise ValidationError(problem)
        return value


class Region(Str):
    def __init__(self, **kwargs):
        super().__init__(metadata=REGION_SCHEMA, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if problem := region_problem(value):
            raise ValidationError(problem)
        return value


class Yuan(fields.Field):
    """Money as a decimal string in yuan, at most 2 places; numbers are refused (they are floats)."""

    default_error_messages = _COMMON

    def __init__(self, metadata: dict | None = None, **kwargs):
        super().__init__(metadata={"type": "string", "pattern": r"^\s*[0-9]{1,12}(\.[0-9]{1,2})?\s*$",
                                   "example": "150000.00", "description": "金额（元），字符串，最多两位小数",
                                   **(metadata or {})}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_yuan(value)
        except MoneyError as exc:
            raise ValidationError(str(exc)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value:.2f}"


class SubjectType(Str):
    def __init__(self, choices: tuple[str, ...] = SUBJECT_TYPES, message: str = BAD_SUBJECT_TYPE, **kwargs):
        self.choices, self.message = choices, message
        super().__init__(metadata={"enum": list(choices)}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value not in self.choices:
            raise ValidationError(self.message)
        return value


class OneOfStr(Str):
    def __init__(self, choices, message: str, **kwargs):
        self.choices, self.message = tuple(choices), message
        super().__init__(metadata={"enum": list(choices)}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if value not in self.choices:
            raise ValidationError(self.message)
        return value


class Nested(fields.Nested):
    default_error_messages = {**_COMMON, "type": NOT_MAPPING}
