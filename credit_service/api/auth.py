"""Bearer tokens → Principal, and the role/region/subject checks of API.md."""
from __future__ import annotations

import uuid
from functools import wraps

from flask import current_app, g, request

from ..audit_context import Actor, acting_as
from .operations import REQUEST_ID_KEY
from ..services.clients import Principal
from ..services.errors import ServiceError

STAFF_ROLES = ("staff", "admin")


class Unauthorized(ServiceError):
    status, code, title = 401, "unauthorized", "未认证"


class Forbidden(ServiceError):
    status, code, title = 403, "forbidden", "无权访问"


def authenticate() -> Principal:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or len(header) < 8:
        raise Unauthorized("缺少访问令牌，请在请求头中提供 Authorization: Bearer <token>。")
    tokens, token = current_app.extensions["credit_service"].tokens, header[7:].strip()
    principal = tokens.principal_for(token)
    if principal is None:
        if tokens.refusal(token) == "token_expired":
            raise Unauthorized("访问令牌已过期，请向管理员申请新的令牌。", code="token_expired")
        raise Unauthorized("访问令牌无效或已撤销。", code="invalid_token")
    return principal


def require(*roles: str):
    """Only these roles may call the view; `g.principal` is set for it."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            if principal.role not in roles:
                raise Forbidden(f"角色 {principal.role} 无权执行此操作（允许：{'、'.join(roles)}）。",
                                code="role_not_allowed")
            g.principal = principal
            # The operations middleware's id (checked, or made): the same one the logs and X-Request-Id carry.
            request_id = (request.environ.get(REQUEST_ID_KEY) or getattr(g, "request_id", None)
                          or uuid.uuid4().hex)
            with acting_as(Actor(principal.name, principal.role, principal.region, request_id[:64])):
                return view(*args, **kwargs)

        wrapper._roles = roles  # read by the OpenAPI security annotation
        return wrapper

    return decorate


def check_subject_access(principal: Principal, subject_type: str, subject_key: str) -> None:
    """A person only about themself. `subject_key`: the lookup key as the tables store it."""
    if principal.role == "person" and (principal.subject_type, principal.subject_id_number) != (
            subject_type, subject_key):
        raise Forbidden("个人客户端只能查询本人的信用信息。", code="not_own_subject")


def check_number_access(principal: Principal, subject_type: str, id_number: str) -> None:
    """check_subject_access for an identity number given in the request."""
    if principal.role == "person":
        keys = current_app.extensions["credit_service"].keys
        check_subject_access(principal, subject_type, keys.lookup_key(subject_type, id_number))


def check_case_file(principal: Principal, subject_type: str, subject_key: str, region: str) -> None:
    """A case file — a measure, its notice, objection or repair — belongs to the pooling region that
    decided the measure (`region`): staff read and act on their own region's only, a person on their
    own only, admin on all (docs/access.md). The status stays readable everywhere (第五条)."""
    check_subject_access(principal, subject_type, subject_key)
    if principal.role == "staff" and principal.region != region:
        raise Forbidden(f"经办人员仅可查阅、处理本统筹区（{principal.region}）的案卷，该案卷属统筹区{region}。",
                        code="region_not_allowed")


def record_scope(principal: Principal) -> str | None:
    """The region a natural-year record is limited to for this reader (None: the whole record)."""
    return principal.region if principal.role == "staff" else None


def check_region_write(principal: Principal, region: str) -> None:
    if principal.role == "staff" and principal.region != region:
        raise Forbidden(f"经办人员仅可处理本统筹区（{principal.region}）的信息，不能写入统筹区{region}。",
                        code="region_not_allowed")


def sees_full_id(principal: Principal) -> bool:
    return principal.role in STAFF_ROLES


def enters_paper_filings(principal: Principal) -> bool:
    """Staff may date a filing by the day its paper was received; a person's filing is dated by the
    service (API.md v1.1, domain.procedure.filing_date)."""
    return principal.role in STAFF_ROLES
