"""Errors a use case reports; the web layer turns them into problem+json."""
from __future__ import annotations


class ServiceError(Exception):
    status = 400
    code = "bad_request"
    title = "请求无法处理"

    def __init__(self, detail: str, *, code: str | None = None, errors: dict | None = None, **extra):
        super().__init__(detail)
        self.detail = detail
        if code:
            self.code = code
        self.errors = errors
        self.extra = extra


class Invalid(ServiceError):
    status, code, title = 422, "validation_failed", "请求内容不符合要求"


def invalid_fields(errors: dict[str, list[str]], lead: str = "请求内容未通过校验") -> Invalid:
    """422 for per-field errors; a bad identity number gets its own code (API.md: invalid_id_number)."""
    id_messages = [m for k, v in errors.items() if k.endswith("id_number") for m in v]
    if id_messages:
        return Invalid(id_messages[0], code="invalid_id_number", errors=errors)
    return Invalid(f"{lead}：" + "；".join(f"{k}: {v[0]}" for k, v in errors.items()), errors=errors)


def date_out_of_range(errors: dict[str, list[str]]) -> Invalid:
    """422 for days outside the lawful range (domain/dates.py), naming each field."""
    return Invalid("；".join(f"{k}：{v[0]}" for k, v in errors.items()), code="date_out_of_range", errors=errors)


def problem_body(error: ServiceError) -> dict:
    """The RFC 9457 body of an error (also embedded in import rows)."""
    body = {"type": f"urn:credit-service:problem:{error.code}", "title": error.title, "status": error.status,
            "detail": error.detail, "code": error.code}
    if error.errors:
        body["errors"] = error.errors
    body.update(error.extra)
    return body


class Conflict(ServiceError):
    status, code, title = 409, "conflict", "与已有记录冲突"


class NotFound(ServiceError):
    status, code, title = 404, "not_found", "未找到"


class Forbidden(ServiceError):
    status, code, title = 403, "forbidden", "无权访问"
