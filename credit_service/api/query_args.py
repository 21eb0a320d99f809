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


def count_arg(args, name: str, default: int, maximum: int, minimum: int = 0) -> int:
    """A small non-negative integer (paging); absent: `default`; out of range or not a number: 422 naming it."""
    if name not in args:
        return default
    value = args[name]
    if not (value.isascii() and value.isdigit() and len(value) <= 12) or not minimum <= int(value) <= maximum:
        raise Invalid(f"{name} 应为{minimum}至{maximum}之间的整数。", errors={name: ["超出允许范围或不是整数。"]})
    return int(value)


def choice_arg(args, name: str, choices: tuple[str, ...]) -> tuple[str, ...] | None:
    """Values from `choices`, given once or repeated (?kind=a&kind=b); absent: None (all)."""
    if name not in args:
        return None
    values = tuple(args.getlist(name))
    if not values or set(values) - set(choices):
        raise Invalid(f"{name} 须为 {'、'.join(choices)} 之一。", errors={name: ["取值不在允许范围内。"]})
    return values
