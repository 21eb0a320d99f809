from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from credit_service.domain.violations import HANDLINGS

from .fields import IdNumber, Region, StrictDate, SubjectType, Yuan
from .measures import MeasureSchema


class SubjectSchema(Schema):
    subject_type = SubjectType(required=True)
    id_number = IdNumber(required=True)
    name = fields.String(load_default=None, validate=validate.Length(max=64))


class ViolationSchema(Schema):
    """Violation body (API.md). `months` is an addition: the staff's choice within the tier's band."""

    source = fields.String(required=True, validate=validate.Length(min=1, max=64))
    source_ref = fields.String(required=True, validate=validate.Length(min=1, max=128))
    subject = fields.Nested(SubjectSchema, required=True)
    region = Region(required=True)
    occurred_on = StrictDate(required=True)
    determined_on = StrictDate(required=True)
    fund_loss = Yuan(required=True)
    handling = fields.String(required=True, validate=validate.OneOf(
        HANDLINGS, error="处理方式须为 agreement、administrative 或 criminal。"))
    fraud = fields.Boolean(load_default=False)
    points = fields.Integer(load_default=None, allow_none=True, strict=True)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    months = fields.Integer(load_default=None, allow_none=True, strict=True, metadata={
        "description": "经办人员在该档次范围内确定的本年度暂停月数（仅 staff/admin）；缺省取档次下限"})

    @validates_schema(skip_on_field_errors=True)
    def _dates_in_order(self, data, **kwargs):
        if data["determined_on"] < data["occurred_on"]:
            raise ValidationError("认定日期不能早于发生日期。", "determined_on")


class RecordedViolationSchema(Schema):
    id = fields.String()
    source = fields.String()
    source_ref = fields.String()
    subject = fields.Nested(SubjectSchema)
    region = fields.String()
    occurred_on = fields.Date()
    determined_on = fields.Date()
    record_year = fields.Integer(metadata={"description": "记录周期（自然年度）"})
    fund_loss = Yuan()
    handling = fields.String()
    fraud = fields.Boolean()
    points = fields.Integer(allow_none=True)
    description = fields.String()
    months = fields.Integer(allow_none=True)
    rule_set = fields.String(allow_none=True)
    notes = fields.String(metadata={"description": "未采取措施或不重复处罚等的中文说明"})


class ViolationResultSchema(Schema):
    violation = fields.Nested(RecordedViolationSchema)
    measures = fields.List(fields.Nested(MeasureSchema))


class ProblemFields(Schema):
    type = fields.String()
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    code = fields.String()
    errors = fields.Dict(keys=fields.String())


class ImportRowSchema(Schema):
    index = fields.Integer(metadata={"description": "0-based row number (CSV: data rows after the header)"})
    status = fields.String(metadata={"enum": ["created", "duplicate", "rejected"]})
    source_ref = fields.String(allow_none=True)
    violation_id = fields.String(allow_none=True)
    measures = fields.List(fields.Nested(MeasureSchema))
    error = fields.Nested(ProblemFields, allow_none=True)


class ImportSummarySchema(Schema):
    total = fields.Integer()
    created = fields.Integer()
    duplicate = fields.Integer()
    rejected = fields.Integer()


class ImportResultSchema(Schema):
    summary = fields.Nested(ImportSummarySchema)
    results = fields.List(fields.Nested(ImportRowSchema))
