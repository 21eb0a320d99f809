from __future__ import annotations

from marshmallow import Schema, fields, validate

from credit_service.domain.decisions import PRACTITIONER_TYPES

from .fields import IdNumber, Nested, Region, Str, StrictBool, StrictDate, StrictInt, StrictSchema, SubjectType
from .status import StatusResultSchema

PRACTITIONERS_MAX = 20


class ClaimInsuredSchema(StrictSchema):
    subject_type = SubjectType(("insured",), "参保人的主体类型须为 insured。", required=True)
    id_number = IdNumber(required=True)


class ClaimPractitionerSchema(StrictSchema):
    subject_type = SubjectType(PRACTITIONER_TYPES, "须为 physician 或 pharmacist。", required=True)
    id_number = IdNumber(required=True)


class ClaimSchema(StrictSchema):
    """A claim to check before settlement (API.md `POST /api/v1/claims/check`)."""

    on = StrictDate(load_default=None, metadata={"description": "服务日期，缺省为今天"})
    insured = Nested(ClaimInsuredSchema, required=True)
    practitioners = fields.List(Nested(ClaimPractitionerSchema), load_default=list,
                                validate=validate.Length(max=PRACTITIONERS_MAX),
                                metadata={"description": f"开具处方（医嘱）、调剂的医保医（药）师，最多{PRACTITIONERS_MAX}人"})
    emergency = StrictBool(load_default=False, metadata={"description": "急救、抢救：医（药）师的暂停、终止不影响结算"})


class ClaimReasonSchema(Schema):
    code = fields.String(metadata={"enum": [
        "insured_settlement_suspended", "practitioner_service_suspended", "practitioner_qualification_suspended",
        "practitioner_qualification_terminated", "practitioner_qualification_revoked"]})
    subject_type = fields.String()
    id_number = fields.String(metadata={"description": "非经办人员角色为脱敏号码"})
    measure_id = fields.String()
    kind = fields.String()
    region = fields.String()
    starts_on = fields.Date()
    restores_on = fields.Date(allow_none=True)
    blocking = fields.Boolean(metadata={"description": "false：急救、抢救不受此限"})
    detail = fields.String(metadata={"description": "中文说明"})


class ClaimResultSchema(Schema):
    on = fields.Date()
    emergency = fields.Boolean()
    settleable = fields.Boolean()
    reasons = fields.List(fields.Nested(ClaimReasonSchema), metadata={"description": "每一项限制，含急救豁免的"})
    parties = fields.List(fields.Nested(StatusResultSchema), metadata={"description": "参保人在前，医（药）师按请求顺序"})


class ExpertRecommendationSchema(StrictSchema):
    year = StrictInt(2000, 9999, required=True, metadata={"description": "推荐年度：2000年起，至多明年（更晚 422 year_in_future）"})
    region = Region(required=True)
    reason = Str(min_len=1, max_len=2000, required=True)


class ExpertRecommendationResultSchema(Schema):
    id = fields.String()
    subject_type = fields.String()
    id_number = fields.String()
    year = fields.Integer()
    region = fields.String()
    reason = fields.String()
    marked_by = fields.String()
