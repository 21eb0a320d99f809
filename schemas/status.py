from __future__ import annotations

from marshmallow import Schema, fields, validate

from .fields import IdNumber, StrictDate, SubjectType


class RestrictionSchema(Schema):
    measure_id = fields.String()
    kind = fields.String()
    region = fields.String()
    starts_on = fields.Date()
    restores_on = fields.Date(allow_none=True)


class StatusResultSchema(Schema):
    subject_type = fields.String()
    id_number = fields.String(metadata={"description": "非经办人员角色为脱敏号码"})
    on = fields.Date()
    settlement_allowed = fields.Boolean()
    restrictions = fields.List(fields.Nested(RestrictionSchema))
    listed = fields.Boolean(metadata={"description": "是否纳入失信联合惩戒对象名单"})
    incentives = fields.List(fields.String())


class BatchSubjectSchema(Schema):
    subject_type = SubjectType(required=True)
    id_number = IdNumber(required=True)


class BatchRequestSchema(Schema):
    on = StrictDate(load_default=None)
    subjects = fields.List(fields.Nested(BatchSubjectSchema), required=True, validate=validate.Length(max=1000),
                           metadata={"description": "≤1000 个主体；任一项无效则整批 422，errors 以 subjects.序号.字段 指明"})


class BatchResultSchema(Schema):
    results = fields.List(fields.Nested(StatusResultSchema), metadata={"description": "与请求同序"})
