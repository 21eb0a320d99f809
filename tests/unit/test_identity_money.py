"""Spec for identity numbers (GB 11643-1999), money as decimal strings, and calendar months.

The check digit is recomputed here from the standard's own definition (ISO 7064 MOD 11-2: weight
2^(17-i) mod 11, check value (12 - sum mod 11) mod 11, 10 written X) rather than from the weight
table in the code under test.
"""
from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_service.domain.identity import (check_digit, id_number_problem, mask_id_number,
                                            normalise_id_number, region_problem)
from credit_service.domain.money import MAX_YUAN, MoneyError, format_yuan, parse_yuan
from credit_service.domain.months import add_months

PROPERTY = settings(database=None, deadline=None, max_examples=200)
D = date.fromisoformat


def mod11_2(first17: str) -> str:
    total = sum(int(ch) * pow(2, 17 - i, 11) for i, ch in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


def make_id(region: str, birth: str, seq: str) -> str:
    first17 = region + birth + seq
    return first17 + mod11_2(first17)


# Numbers published as GB 11643 examples, and numbers built here for every check value.
PUBLISHED = ["11010519491231002X", "440524188001010014"]
BUILT = {mod11_2(f"37010219900101{n:03d}"): make_id("370102", "19900101", f"{n:03d}") for n in range(200)}


# --- GB 11643 ---------------------------------------------------------------------------------------

def test_gb11643_built_numbers_cover_every_check_value():
    assert sorted(BUILT) == sorted("0123456789X")


@pytest.mark.parametrize("number", PUBLISHED + sorted(BUILT.values()))
def test_gb11643_valid_numbers_pass(number):
    assert check_digit(number[:17]) == number[17] == mod11_2(number[:17])
    assert id_number_problem(number) is None


@given(region=st.integers(110000, 999999).map(str),
       birth=st.dates(date(1900, 1, 1), date(2099, 12, 31)).map(lambda d: d.strftime("%Y%m%d")),
       seq=st.integers(0, 999).map(lambda n: f"{n:03d}"))
@PROPERTY
def test_gb11643_check_digit_agrees_with_mod11_2(region, birth, seq):
    number = make_id(region, birth, seq)
    assert check_digit(number[:17]) == number[17]
    assert id_number_problem(number) is None


@given(position=st.integers(0, 17), digit=st.sampled_from("0123456789X"),
       number=st.sampled_from(PUBLISHED + sorted(BUILT.values())))
@PROPERTY
def test_gb11643_any_single_substitution_is_refused(position, digit, number):
    changed = number[:position] + digit + number[position + 1:]
    if changed == number:
        return
    assert id_number_problem(changed) is not None


def test_gb11643_lower_case_x_is_normalised():
    lower = " 11010519491231002x "
    assert id_number_problem(lower) is not None  # as typed: refused
    assert normalise_id_number(lower) == "11010519491231002X"
    assert id_number_problem(normalise_id_number(lower)) is None


@pytest.mark.parametrize(("value", "problem"), [
    pytest.param(make_id("370102", "19900230", "123"), "出生日期", id="出生日期-2月30日"),
    pytest.param(make_id("370102", "19901301", "123"), "出生日期", id="出生日期-13月"),
    pytest.param(make_id("370102", "19000229", "123"), "出生日期", id="出生日期-1900非闰年"),
    pytest.param("11010519491231002", "18位", id="17位"),
    pytest.param("11010519491231002X0", "18位", id="19位"),
    pytest.param("01010519491231002X", "18位", id="首位为0"),
    pytest.param("1101051949123100X2", "18位", id="X不在末位"),
    pytest.param("110105194912310029", "校验码", id="校验码错误"),
    pytest.param("11010519491231003X", "校验码", id="顺序码错一位"),
    pytest.param("", "18位", id="空串"),
    pytest.param(None, "18位", id="None"),
    pytest.param(110105194912310020, "18位", id="整数"),
])
def test_gb11643_invalid_numbers_name_the_problem(value, problem):
    message = id_number_problem(value)
    assert message is not None and problem in message


@pytest.mark.parametrize(("check", "value"), [
    pytest.param(id_number_problem, "11010519491231002X\n", id="身份证号-末尾换行"),
    pytest.param(id_number_problem, "1１０１０５１９４９１２３１００２X", id="身份证号-全角数字"),
    pytest.param(region_problem, "370100\n", id="统筹区-末尾换行"),
    pytest.param(region_problem, "3７0100", id="统筹区-全角数字"),
])
def test_gb11643_only_ascii_digits_and_no_trailing_newline(check, value):
    assert check(value) is not None


def test_mask_id_number_hides_the_birth_date():
    assert mask_id_number("370102199001011237") == "370102********1237"
    assert mask_id_number("11010519491231002X") == "110105********002X"


@given(number=st.sampled_from(PUBLISHED + sorted(BUILT.values())))
@PROPERTY
def test_mask_id_number_keeps_length_region_and_tail(number):
    masked = mask_id_number(number)
    assert len(masked) == 18 and masked[:6] == number[:6] and masked[14:] == number[14:]
    assert masked[6:14] == "*" * 8


@pytest.mark.parametrize(("value", "ok"), [
    pytest.param("370100", True, id="济南市"),
    pytest.param("370102", True, id="历下区"),
    pytest.param("37010", False, id="5位"),
    pytest.param("3701000", False, id="7位"),
    pytest.param("070100", False, id="首位为0"),
    pytest.param("37010a", False, id="含字母"),
    pytest.param(" 370100", False, id="前导空格"),
    pytest.param(370100, False, id="整数"),
    pytest.param(None, False, id="None"),
])
def test_region_problem(value, ok):
    assert (region_problem(value) is None) is ok


# --- money ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("0", "0.00", id="0"),
    pytest.param("1.5", "1.50", id="1.5"),
    pytest.param("0.01", "0.01", id="0.01"),
    pytest.param("150000.00", "150000.00", id="150000.00"),
    pytest.param(" 12.30 ", "12.30", id="前后空格"),
    pytest.param("999999999999.99", "999999999999.99", id="上限"),
])
def test_parse_yuan_accepts_decimal_strings(text, expected):
    value = parse_yuan(text)
    assert isinstance(value, Decimal) and value.as_tuple().exponent == -2
    assert str(value) == expected


@pytest.mark.parametrize("value", [
    pytest.param(1.5, id="float"),
    pytest.param(150000, id="int"),
    pytest.param(Decimal("1.50"), id="Decimal"),
    pytest.param(True, id="bool"),
    pytest.param(None, id="None"),
    pytest.param("-1", id="负数"),
    pytest.param("-0.00", id="负零"),
    pytest.param("1.234", id="三位小数"),
    pytest.param("1e5", id="科学计数"),
    pytest.param(" ", id="空白"),
    pytest.param("", id="空串"),
    pytest.param("+1", id="正号"),
    pytest.param(".5", id="无整数部分"),
    pytest.param("1.", id="无小数部分"),
    pytest.param("1,000", id="千分位"),
    pytest.param("1 000", id="中间空格"),
    pytest.param("NaN", id="NaN"),
    pytest.param("Infinity", id="Infinity"),
    pytest.param("0x10", id="十六进制"),
    pytest.param("1000000000000", id="13位超上限"),
    pytest.param("¥100", id="货币符号"),
])
def test_parse_yuan_refuses(value):
    with pytest.raises(MoneyError):
        parse_yuan(value)


@pytest.mark.parametrize(("value", "words"), [
    pytest.param("-1", "负数", id="负数"),
    pytest.param(" -100.00", "负数", id="负数-前导空格"),
    pytest.param("1.234", "两位小数", id="三位小数"),
    pytest.param(150000, "字符串", id="数字类型"),
])
def test_parse_yuan_says_why(value, words):
    with pytest.raises(MoneyError, match=words):
        parse_yuan(value)


@pytest.mark.parametrize("value", [
    pytest.param("１００", id="全角数字"),
    pytest.param("１.５", id="全角数字带小数点"),
    pytest.param("١٠٠", id="阿拉伯-印度数字"),
])
def test_parse_yuan_refuses_non_ascii_digits(value):
    with pytest.raises(MoneyError):
        parse_yuan(value)


@pytest.mark.parametrize(("amount", "text"), [
    pytest.param(Decimal("0"), "0.00", id="0"),
    pytest.param(Decimal("1.5"), "1.50", id="1.5"),
    pytest.param(Decimal("100"), "100.00", id="100"),
    pytest.param(Decimal("1E+5"), "100000.00", id="1E+5"),
    pytest.param(Decimal("150000.00"), "150000.00", id="150000.00"),
])
def test_format_yuan_always_two_places(amount, text):
    assert format_yuan(amount) == text


@given(cents=st.integers(0, int(MAX_YUAN * 100)))
@PROPERTY
def test_parse_yuan_format_yuan_round_trip(cents):
    amount = Decimal(cents).scaleb(-2)
    text = format_yuan(amount)
    assert text == f"{cents // 100}.{cents % 100:02d}"
    assert parse_yuan(text) == amount
    assert str(parse_yuan(text)) == text


# --- calendar months --------------------------------------------------------------------------------

@pytest.mark.parametrize(("start", "months", "expected"), [
    pytest.param("2025-01-31", 1, "2025-02-28", id="1月31日加1月-平年"),
    pytest.param("2024-01-31", 1, "2024-02-29", id="1月31日加1月-闰年"),
    pytest.param("2024-02-29", 12, "2025-02-28", id="2月29日加12月"),
    pytest.param("2024-02-29", 48, "2028-02-29", id="2月29日加48月"),
    pytest.param("2025-08-31", 1, "2025-09-30", id="8月31日加1月"),
    pytest.param("2025-12-31", 2, "2026-02-28", id="跨年"),
    pytest.param("2025-12-15", 1, "2026-01-15", id="12月加1月"),
    pytest.param("2025-03-15", 0, "2025-03-15", id="加0月"),
    pytest.param("2025-03-15", 12, "2026-03-15", id="加12月"),
])
def test_add_months_examples(start, months, expected):
    assert add_months(D(start), months) == D(expected)


def test_add_months_is_not_composable_at_month_end():
    # Chained measures each count from their own start, so 1+1 months need not equal 2 months.
    assert add_months(add_months(D("2025-01-31"), 1), 1) == D("2025-03-28")
    assert add_months(D("2025-01-31"), 2) == D("2025-03-31")


DATES = st.dates(date(1900, 1, 1), date(2199, 12, 31))
MONTHS = st.integers(0, 240)


@given(start=DATES, months=MONTHS)
@PROPERTY
def test_add_months_day_and_month_properties(start, months):
    result = add_months(start, months)
    assert (result.year * 12 + result.month) - (start.year * 12 + start.month) == months
    assert result.day <= start.day
    assert result.day == min(start.day, calendar.monthrange(result.year, result.month)[1])
    if months > 0:
        assert result > start


@given(start=DATES, a=MONTHS, b=MONTHS)
@PROPERTY
def test_add_months_is_monotone_in_months(start, a, b):
    low, high = sorted((a, b))
    assert add_months(start, low) <= add_months(start, high)
    if low < high:
        assert add_months(start, low) < add_months(start, high)


@given(a=DATES, b=DATES, months=MONTHS)
@PROPERTY
def test_add_months_is_monotone_in_start(a, b, months):
    low, high = sorted((a, b))
    assert add_months(low, months) <= add_months(high, months)
