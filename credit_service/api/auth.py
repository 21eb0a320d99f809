"""Bearer tokens → Principal. Which principal may do what is services/access.py's alone."""
from __future__ import annotations

import uuid
from dataclasses import replace
from functools import wraps

from flask import current_app, g, request

from .operations import REQUEST_ID_KEY
from ..services import access
from ..services.clients import Principal
from ..services.errors import ServiceError


class Unauthorized(ServiceError):
    status, code, title = 401, "unauthorized", "未认证"


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


def require(action: str):
    """The view is one use case's door for `action`: the caller is authenticated (`g.principal`), and
    one who may not do the action at all is refused before the body is read (the use case checks the
    rest: region, subject)."""

    def decorate(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            principal = authenticate()
            access.scope_for(principal, action)
            # The operations middleware's id (checked, or made): the same one the logs and X-Request-Id carry.
            # The use cases audit their changes as this Principal's actor, request id included.
            request_id = (request.environ.get(REQUEST_ID_KEY) or getattr(g, "request_id", None)
                          or uuid.uuid4().hex)
            g.principal = replace(principal, request_id=request_id[:64])
            return view(*args, **kwargs)

        wrapper._roles = access.roles_for(action)
        return wrapper

    return decorate
