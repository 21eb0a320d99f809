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


class Conflict(ServiceError):
    status, code, title = 409, "conflict", "与已有记录冲突"


class NotFound(ServiceError):
    status, code, title = 404, "not_found", "未找到"


class Forbidden(ServiceError):
    status, code, title = 403, "forbidden", "无权执行此操作"
