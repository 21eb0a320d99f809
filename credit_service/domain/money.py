"""Money is Decimal yuan with at most 2 places, never float."""
from __future__ import annotations

import re
from decimal import Decimal

CENT = Decimal("0.01")
MAX_YUAN = Decimal("999999999999.99")
_MONEY = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")


class MoneyError(ValueError):
    pass


def parse_yuan(value: object) -> Decimal:
    """Parse an amount given as a decimal string ("150000.00").

    Numbers are refused: a JSON number arrives as a float and may already have lost cents.
    """
    if not isinstance(value, str):
        raise MoneyError("金额须为字符串形式的十进制数，如\"150000.00\"，不接受数字类型。")
    text = value.strip()
    if text.startswith("-"):
        raise MoneyError("金额不能为负数。")
    if not _MONEY.fullmatch(text):
        raise MoneyError("金额须为以元为单位、最多两位小数的十进制数，如\"150000.00\"。")
    return Decimal(text).quantize(CENT)


def format_yuan(amount: Decimal) -> str:
    return str(amount.quantize(CENT))
