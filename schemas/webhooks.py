from __future__ import annotations

from marshmallow import Schema, fields, validate

from credit_service.domain.webhooks import EVENT_TYPES


class WebhookRequestSchema(Schema):
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                        metadata={"example": "https://settlement.example.cn/credit-events"})
    secret = fields.String(required=True, load_only=True, validate=validate.Length(min=16, max=256),
                           metadata={"description": "HMAC-SHA256 签名密钥（至少16个字符）"})
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_TYPES)), required=True,
                         validate=validate.Length(min=1), metadata={"example": ["status.changed"]})


class WebhookSchema(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    active = fields.Boolean()
    created_at = fields.String()
    deliveries = fields.Dict(keys=fields.String(), values=fields.Integer(),
                             metadata={"description": "pending / delivered / dead 各状态的投递数"})


class WebhookListSchema(Schema):
    webhooks = fields.List(fields.Nested(WebhookSchema))


class RedeliverSchema(Schema):
    requeued = fields.Integer(metadata={"description": "重新排队的死信投递数"})
