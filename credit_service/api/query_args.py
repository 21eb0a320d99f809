"""Optional query parameters: absent is "not given"; present (even empty) must be valid, or 422 naming it.
Nothing unvalidated reaches a query (PostgreSQL refuses U+0000 and out-of-range integers with a 500)."""
from __future__ import annotations

from datetime import date

from ..domain.identity import region_problem
from ..services.errors import Invalid
from .status import _day


def region_arg(args, name: str = "region") -> str | None:
    if name not in args:
        return None
    value = args[name]
    if problem := region_problem(value):
        raise Invalid(f"{name}：{problem}", errors={name: [problem]})
    return value


def date_arg(args, name: str, container) -> date | None:
    if name not in args:
        return None
    try:
        return _day(args[name], container)
    except Invalid:
        raise Invalid(f"{name} 日期格式应为YYYY-MM-DD且为有效日期。", errors={name: ["日期格式应为YYYY-MM-DD。"]}) from None
