"""The Chinese wording of validation errors, shared by the marshmallow schemas and the fast parser."""

MISSING = "缺少必填字段。"
NOT_NULL = "不能为空。"
NOT_STRING = "应为字符串。"
NOT_INTEGER = "应为整数。"
NOT_BOOLEAN = "应为布尔值 true/false。"
NOT_MAPPING = "应为对象。"
UNKNOWN_FIELD = "未知字段。"
NUL_CHARACTER = "不能包含空字符（U+0000）。"
BAD_DATE = "日期格式应为YYYY-MM-DD且为有效日期。"
BAD_SUBJECT_TYPE = "主体类型须为 insured、physician 或 pharmacist。"
BAD_HANDLING = "处理方式须为 agreement、administrative 或 criminal。"
DATES_OUT_OF_ORDER = "认定日期不能早于发生日期。"
# Bounds of the integers in a violation, far outside any rule's band (the rules judge within them).
POINTS_RANGE = (0, 1000)
MONTHS_RANGE = (0, 1000)


def too_short(n: int) -> str:
    return f"长度不能少于{n}个字符。"


def too_long(n: int) -> str:
    return f"长度不能超过{n}个字符。"


def out_of_range(low: int, high: int) -> str:
    return f"应为{low}至{high}之间的整数。"
