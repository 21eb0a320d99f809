from __future__ import annotations

from marshmallow import ValidationError, fields

from credit_service.domain.identity import (SUBJECT_TYPES, id_number_problem, normalise_id_number,
                                            region_problem)
from credit_service.domain.money import MoneyError, parse_yuan


class IdNumber(fields.String):
    """18-character PRC resident identity number, GB 11643 check digit verified."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"description": "18位公民身份号码（GB 11643校验）", "example": "370102199001011231"},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = normalise_id_number(super()._deserialize(value, attr, data, **kwargs))
        if problem := id_number_problem(value):
            raise ValidationError(problem)
        return value


class Region(fields.String):
    def __init__(self, **kwargs):
        super().__init__(metadata={"description": "6位统筹区编码", "example": "370100"}, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        value = super()._deserialize(value, attr, data, **kwargs)
        if problem := region_problem(value):
            raise ValidationError(problem)
        return value


class Yuan(fields.Field):
    """Money as a decimal string in yuan, at most 2 places; numbers are refused (they are floats)."""

    def __init__(self, **kwargs):
        super().__init__(metadata={"type": "string", "pattern": r"^\d{1,12}(\.\d{1,2})?$",
                                   "example": "150000.00", "description": "金额（元），字符串，最多两位小数"},
                         **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_yuan(value)
        except MoneyError as exc:
            raise ValidationError(str(exc)) from None

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else f"{value:.2f}"


class SubjectType(fields.String):
    def __init__(self, **kwargs):
        from marshmallow import validate
        super().__init__(validate=validate.OneOf(SUBJECT_TYPES, error="主体类型须为 insured、physician 或 pharmacist。"),
                         metadata={"enum": list(SUBJECT_TYPES)}, **kwargs)


class StrictDate(fields.Date):
    default_error_messages = {"invalid": "日期格式应为YYYY-MM-DD且为有效日期。"}
