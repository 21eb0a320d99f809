from __future__ import annotations

from marshmallow import Schema, fields, validate

from credit_service.domain.identity import SUBJECT_TYPES
from credit_service.domain.webhooks import EVENT_TYPES

from .fields import IdNumber, Nested, Region, Str, StrictSchema, SubjectType

# ASCII host characters spelled out: `\s` means different things in Python and in JSON Schema's
# ECMAScript regexes (Python counts U+001C–U+001F as space), and the document must say what is enforced.
URL_PATTERN = r"^https?://[A-Za-z0-9._~%!$&'()*+,;=:\[\]-]+(?:[/?#][^\u0000]*)?$"


class ScopeSchema(StrictSchema):
    regions = fields.List(Region(), required=True, validate=validate.Length(min=1, max=200),
                          metadata={"example": ["370100"]})
    subject_types = fields.List(SubjectType(), validate=validate.Length(min=1, max=len(SUBJECT_TYPES)),
                                metadata={"description": "可选：只推送这些主体类型"})


class WebhookRequestSchema(Schema):
    url = Str(min_len=1, max_len=2000, required=True,
              validate=validate.Regexp(URL_PATTERN, error="须为 http:// 或 https:// 地址（主机名用 ASCII 字符，中文域名用 punycode）。"),
              metadata={"pattern": URL_PATTERN, "example": "https://settlement.example.cn/credit-events",
                        "description": "须为公网地址；私有、回环、链路本地等地址须列入 "
                                       "CREDIT_SERVICE_WEBHOOK_ALLOWED_HOSTS"})
    secret = Str(min_len=16, max_len=256, required=True, load_only=True,
                 metadata={"description": "HMAC-SHA256 签名密钥（至少16个字符），加密保存"})
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), required=True,
                         validate=validate.Length(min=1), metadata={"example": ["status.changed"]})
    scope = Nested(ScopeSchema, required=True, metadata={
        "description": "推送范围：只推送在这些统筹区有违约违法记录（及由此作出的措施，任何状态）或专家推荐的主体的变更"})


class WebhookSchema(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    scope = fields.Dict(allow_none=True, metadata={"description": "{regions, subject_types?}；迁移前登记的为 null（已停用）"})
    active = fields.Boolean()
    created_at = fields.String()
    deliveries = fields.Dict(keys=fields.String(), values=fields.Integer(),
                             metadata={"description": "pending / delivered / dead 各状态的投递数"})


class WebhookListSchema(Schema):
    webhooks = fields.List(fields.Nested(WebhookSchema))


class RedeliverSchema(Schema):
    requeued = fields.Integer(metadata={"description": "重新排队的死信投递数"})


class SubjectKeySubjectSchema(StrictSchema):
    subject_type = SubjectType(required=True)
    id_number = IdNumber(required=True)


class SubjectKeysRequestSchema(StrictSchema):
    subjects = fields.List(Nested(SubjectKeySubjectSchema), required=True, validate=validate.Length(min=1, max=1000),
                           metadata={"description": "≤1000 个主体"})


class SubjectKeysSchema(Schema):
    subject_keys = fields.List(fields.String(), metadata={
        "description": "与请求同序：此 Webhook 的事件中该主体的 subject_key（每个 Webhook 各不相同）"})
