"""Every error is application/problem+json (RFC 9457) with a Chinese detail and a stable code."""
from __future__ import annotations

import json
import logging

from flask import Response
from werkzeug.exceptions import HTTPException

from ..adapters.database import database_gone
from ..domain.errors import RuleRefusal
from ..services.errors import Conflict, Invalid, ServiceError, invalid_fields, problem_body

log = logging.getLogger(__name__)

_HTTP_DEFAULTS = {
    400: ("bad_request", "请求格式错误", "请求无法解析，请检查JSON格式。"),
    401: ("unauthorized", "未认证", "缺少或无效的访问令牌（Authorization: Bearer <token>）。"),
    403: ("forbidden", "无权访问", "当前客户端角色无权执行此操作。"),
    404: ("not_found", "未找到", "请求的资源不存在。"),
    405: ("method_not_allowed", "方法不允许", "该资源不支持此HTTP方法。"),
    413: ("payload_too_large", "请求过大", "请求体超过允许的大小。"),
    415: ("unsupported_media_type", "不支持的内容类型", "请使用 application/json 或 text/csv。"),
    422: ("validation_failed", "请求内容不符合要求", "请求内容未通过校验，详见 errors。"),
    500: ("internal_error", "服务内部错误", "服务内部错误，请稍后重试；如持续出现请联系运维。"),
    503: ("database_unavailable", "服务暂不可用", "数据库暂时不可用，请稍后重试。"),
}


def problem(status: int, code: str | None = None, detail: str | None = None, title: str | None = None,
            errors: dict | None = None, **extra) -> Response:
    default_code, default_title, default_detail = _HTTP_DEFAULTS.get(
        status, ("error", "请求失败", "请求失败。"))
    code = code or default_code
    body = {"type": f"urn:credit-service:problem:{code}", "title": title or default_title,
            "status": status, "detail": detail or default_detail, "code": code}
    if errors:
        body["errors"] = errors
    body.update(extra)
    return _response(body, status)


def _response(body: dict, status: int) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status=status,
                    mimetype="application/problem+json")


def from_service_error(error: ServiceError) -> Response:
    return _response(problem_body(error), error.status)


# The one table from the codes the rules refuse with (domain/errors.py) to HTTP statuses: these clash
# with the record's state; every other refusal is an invalid request.
CONFLICT_CODES = frozenset({"measure_revoked", "notice_exists", "objection_open", "objection_closed",
                            "credit_restored", "repair_open", "repair_decided", "already_reregistered"})


def status_of(refusal: RuleRefusal) -> int:
    return 409 if refusal.code in CONFLICT_CODES else 422


def as_problem(error: ServiceError | RuleRefusal) -> ServiceError:
    """A service error as it is; a rule's refusal as the problem its code answers with."""
    if not isinstance(error, RuleRefusal):
        return error
    if status_of(error) == 409:
        return Conflict(error.detail, code=error.code)
    return Invalid(error.detail, code=error.code, errors={error.field: [error.detail]} if error.field else None)


def from_rule_refusal(error: RuleRefusal) -> Response:
    return from_service_error(as_problem(error))


def from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if status == 422 and messages:
        return from_service_error(invalid_fields(_flatten(messages)))
    if status == 400:
        return problem(400, "malformed_request", "请求体不是有效的JSON，或缺少必需的请求体。")
    response = problem(status)
    if status == 405 and getattr(error, "valid_methods", None):  # RFC 9110: a 405 names what is allowed
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


# Neither logs per request (a stale index would flood the log): the index logs once when it goes
# stale, and once per unreadable row when it loads.
def from_stale_index(error) -> Response:
    from ..adapters.status_index import CatchUpFailed
    if isinstance(error, CatchUpFailed):
        return problem(503, "status_index_stale",
                       "本实例刚获知一项变更，但未能从数据库读取该变更；为免答复过时的结果，暂停答复；请稍后重试或改由其他实例答复。",
                       title="结算状态暂不可查")
    return problem(503, "status_index_stale",
                   f"本实例的结算状态索引已{error.age:.0f}秒未能从数据库刷新（上限{error.max_age:.0f}秒），"
                   "为免答复过时的结果，暂停答复；请稍后重试或改由其他实例答复。", title="结算状态暂不可查")


def from_unreadable_record(error) -> Response:
    return problem(500, "status_record_unreadable",
                   "该主体的信用记录中有无法读取的数据，暂不能答复其结算状态；请联系运维人员修复。",
                   title="结算状态暂不可查")


def from_unexpected(error: Exception) -> Response:
    if database_gone(error):
        log.warning("database unavailable: %s", error.__class__.__name__)
        return problem(503)
    log.exception("unhandled error")
    return problem(500)


def _flatten(messages, prefix: str = "") -> dict[str, list[str]]:
    """webargs nests errors by location and field; API.md wants `errors` per field."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            if prefix == "" and key in ("json", "query", "form", "files", "view_args", "headers"):
                flat.update(_flatten(value, ""))
            elif key == "_schema":  # an error about a nested object as a whole belongs to its field
                flat.update(_flatten(value, prefix))
            else:
                flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        flat[prefix or "_schema"] = [_chinese(m) for m in messages]
    elif isinstance(messages, list):
        for i, item in enumerate(messages):
            flat.update(_flatten(item, f"{prefix}.{i}"))
    else:
        flat[prefix or "_schema"] = [_chinese(str(messages))]
    return flat


_MARSHMALLOW_MESSAGES = {
    "Missing data for required field.": "缺少必填字段。",
    "Unknown field.": "未知字段。",
    "Field may not be null.": "不能为空。",
    "Not a valid string.": "应为字符串。",
    "Not a valid integer.": "应为整数。",
    "Not a valid boolean.": "应为布尔值 true/false。",
    "Invalid input type.": "输入类型错误。",
    "Not a valid list.": "应为数组。",
    "Not a valid mapping type.": "应为对象。",
}


def _chinese(message: str) -> str:
    if message in _MARSHMALLOW_MESSAGES:
        return _MARSHMALLOW_MESSAGES[message]
    if message.startswith("Length must be"):
        return f"长度不符合要求（{message}）。"
    if message.startswith("Longer than maximum length"):
        return f"超过最大长度（{message}）。"
    return message
