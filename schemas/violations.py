from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validates_schema

from credit_service.domain.violations import HANDLINGS

from .fields import (IdNumber, Nested, OneOfStr, Region, Str, StrictBool, StrictDate, StrictInt, StrictSchema,
                     SubjectType, Yuan)
from .messages import BAD_HANDLING, DATES_OUT_OF_ORDER, MONTHS_RANGE, POINTS_RANGE
from .measures import MeasureBriefSchema, MeasureSchema
from .problems import ProblemSchema


class SubjectSchema(StrictSchema):
    subject_type = SubjectType(required=True)
    id_number = IdNumber(required=True)
    name = Str(max_len=64, load_default=None, allow_none=True)


class ViolationSchema(StrictSchema):
    """Violation body (API.md). `months` is an addition: the staff's choice within the tier's band.

    Bulk import validates with schemas.violation_rows.parse_violation, which must agree with this.
    """

    source = Str(min_len=1, max_len=64, required=True)
    source_ref = Str(min_len=1, max_len=128, required=True)
    subject = Nested(SubjectSchema, required=True)
    region = Region(required=True)
    occurred_on = StrictDate(required=True)
    determined_on = StrictDate(required=True)
    fund_loss = Yuan(required=True)
    handling = OneOfStr(HANDLINGS, BAD_HANDLING, required=True)
    fraud = StrictBool(load_default=False)
    points = StrictInt(*POINTS_RANGE, load_default=None, allow_none=True, metadata={
        "description": "医保医（药）师：所属违规类别记分档次内的记分（医保发〔2024〕23号），档外 422 points_out_of_band"})
    category = Str(min_len=1, max_len=32, load_default=None, allow_none=True, metadata={
        "description": "医保医（药）师：本统筹区协议约定的违规类别（如 minor、moderate、serious、grave）"})
    description = Str(max_len=2000, load_default="")
    months = StrictInt(*MONTHS_RANGE, load_default=None, allow_none=True, metadata={
        "description": "经办人员在该档次范围内确定的本年度暂停月数（仅 staff/admin）；缺省取档次下限"})

    @validates_schema(skip_on_field_errors=True)
    def _dates_in_order(self, data, **kwargs):
        if data["determined_on"] < data["occurred_on"]:
            raise ValidationError(DATES_OUT_OF_ORDER, "determined_on")


class SubjectViewSchema(Schema):
    """A subject as answered: non-staff readers get the number and the name masked."""

    subject_type = fields.String(metadata={"enum": ["insured", "physician", "pharmacist"]})
    id_number = fields.String(metadata={"description": "非经办人员角色为脱敏号码（370102********1234）"})
    name = fields.String(allow_none=True, metadata={"description": "非经办人员角色为脱敏姓名"})


class RecordedViolationSchema(Schema):
    id = fields.String()
    source = fields.String()
    source_ref = fields.String()
    subject = fields.Nested(SubjectViewSchema)
    region = fields.String()
    occurred_on = fields.Date()
    determined_on = fields.Date()
    record_year = fields.Integer(metadata={"description": "记录周期（自然年度）"})
    fund_loss = Yuan()
    handling = fields.String()
    fraud = fields.Boolean()
    points = fields.Integer(allow_none=True)
    category = fields.String(allow_none=True)
    description = fields.String()
    months = fields.Integer(allow_none=True)
    rule_set = fields.String(allow_none=True)
    notes = fields.String(metadata={"description": "未采取措施或不重复处罚等的中文说明"})


class ViolationResultSchema(Schema):
    violation = fields.Nested(RecordedViolationSchema)
    measures = fields.List(fields.Nested(MeasureSchema))


class ImportRowSchema(Schema):
    index = fields.Integer(metadata={"description": "0-based row number (CSV: data rows after the header)"})
    status = fields.String(metadata={"enum": ["created", "duplicate", "rejected"]})
    source_ref = fields.String(allow_none=True)
    violation_id = fields.String(allow_none=True)
    measures = fields.List(fields.Nested(MeasureBriefSchema))
    error = fields.Nested(ProblemSchema, allow_none=True)


class ImportSummarySchema(Schema):
    total = fields.Integer()
    created = fields.Integer()
    duplicate = fields.Integer()
    rejected = fields.Integer()


class ImportResultSchema(Schema):
    summary = fields.Nested(ImportSummarySchema)
    results = fields.List(fields.Nested(ImportRowSchema))
