from __future__ import annotations

from marshmallow import Schema, fields


PROBLEM = "application/problem+json"


class ProblemSchema(Schema):
    """application/problem+json (RFC 9457), as every error of this service."""

    type = fields.String(metadata={"example": "urn:credit-service:problem:invalid_id_number"})
    title = fields.String(metadata={"example": "请求内容不符合要求"})
    status = fields.Integer(metadata={"example": 422})
    detail = fields.String(metadata={"description": "给人看的中文说明", "example": "身份证号码校验码不正确（GB 11643）。"})
    code = fields.String(metadata={"description": "给程序用的稳定代码", "example": "invalid_id_number"})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "422 时按字段列出的错误"})
