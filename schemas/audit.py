from __future__ import annotations

from marshmallow import Schema, fields


class AuditEventSchema(Schema):
    seq = fields.Integer()
    at = fields.String(metadata={"description": "ISO 8601, Asia/Shanghai"})
    actor = fields.String()
    role = fields.String()
    actor_region = fields.String(allow_none=True)
    request_id = fields.String(allow_none=True)
    action = fields.String(metadata={"example": "objection_upheld"})
    entity = fields.String(metadata={"enum": ["violation", "measure", "notice", "objection", "repair",
                                              "expert_recommendation", "api_client", "staff_user", "subject"]})
    entity_id = fields.String()
    subject_type = fields.String(allow_none=True)
    id_number = fields.String(allow_none=True)
    region = fields.String(allow_none=True)
    before = fields.Dict(allow_none=True)
    after = fields.Dict(allow_none=True)
    prev_hash = fields.String()
    hash = fields.String(metadata={"description": "sha256(prev_hash + 规范化JSON)"})


class AuditPageSchema(Schema):
    events = fields.List(fields.Nested(AuditEventSchema))
    next_after = fields.Integer(allow_none=True, metadata={"description": "下一页：?after=该值"})
