from __future__ import annotations

from marshmallow import Schema, fields

from .fields import IdNumber, Nested, StrictBool, StrictDate, StrictSchema, SubjectType


class RestrictionSchema(Schema):
    measure_id = fields.String()
    kind = fields.String()
    region = fields.String()
    starts_on = fields.Date()
    restores_on = fields.Date(allow_none=True)


class QualificationSchema(Schema):
    status = fields.String(metadata={"enum": ["normal", "suspended", "terminated"],
                                     "description": "医保支付资格：正常、暂停、终止（含取消资格）"})
    since = fields.Date(allow_none=True)
    until = fields.Date(allow_none=True, metadata={"description": "暂停：首个恢复之日"})
    reregistration_from = fields.Date(allow_none=True, metadata={
        "description": "终止：首个可重新登记备案之日；取消资格为 null"})


class StatusResultSchema(Schema):
    subject_type = fields.String()
    id_number = fields.String(metadata={"description": "非经办人员角色为脱敏号码"})
    on = fields.Date()
    settlement_allowed = fields.Boolean()
    restrictions = fields.List(fields.Nested(RestrictionSchema))
    listed = fields.Boolean(metadata={"description": "是否纳入失信联合惩戒对象名单"})
    incentives = fields.List(fields.String(), metadata={
        "description": "lenient_acceptance（参保人，第九条第一项）、expert_recommendation（医（药）师，第八条第一项）"})
    qualification = fields.Nested(QualificationSchema, metadata={"description": "仅医保医（药）师"})
    emergency = fields.Boolean(metadata={"description": "仅当请求 emergency 时：是否急救、抢救"})
    emergency_exempted = fields.Boolean(metadata={"description": "医（药）师的限制因急救、抢救而不适用"})
    score = fields.Integer(allow_none=True, metadata={
        "description": "信用评价积分（当日；评价模型见 /evaluation 的 contributions）；未配置评价模型时为 null"})
    grade = fields.String(allow_none=True, metadata={"description": "信用等级，如 A/B/C/D；未配置评价模型时为 null"})


class StatusQuerySchema(StrictSchema):
    """POST /api/v1/status/query: the subject in the body, so that no identity number travels in a URL."""

    subject_type = SubjectType(required=True)
    id_number = IdNumber(required=True)
    on = StrictDate(load_default=None, allow_none=False, metadata={
        "description": "查询日期，缺省为今天（Asia/Shanghai）；不早于最早受理日期，最多为今天之后若干天（docs/operations.md）"})
    emergency = StrictBool(load_default=None, allow_none=False, metadata={
        "description": "急救、抢救：医（药）师的暂停、终止不影响结算，答复中注明"})


class BatchSubjectSchema(StrictSchema):
    subject_type = SubjectType(required=True)
    id_number = IdNumber(required=True)


class ArrayOf(fields.List):
    default_error_messages = {"invalid": "应为数组。", "required": "缺少或不是数组。", "null": "不能为空。"}


class BatchRequestSchema(StrictSchema):
    """POST /api/v1/status/batch. How many subjects and claims one request may hold is a setting
    (CREDIT_SERVICE_BATCH_MAX_SUBJECTS, default 1000: 422 too_many_subjects), checked after this."""

    on = StrictDate(load_default=None, metadata={"description": "查询日期，缺省为今天"})
    subjects = ArrayOf(Nested(BatchSubjectSchema), required=True, metadata={
        "maxItems": 1000, "description": "≤1000 个主体；任一项无效则整批 422，errors 以 subjects.序号.字段 指明"})
    emergency = StrictBool(load_default=None, allow_none=False, metadata={"description": "可选：急救、抢救（对所有 subjects）"})
    claims = ArrayOf(Nested("ClaimSchema"), load_default=None, allow_none=False, metadata={"description": "可选：逐笔核验的费用，每项同 /claims/check 的请求体（缺省 on 取本批 on）；与 subjects 合计 ≤1000"})


class BatchResultSchema(Schema):
    results = fields.List(fields.Nested(StatusResultSchema), metadata={"description": "与请求同序"})
    claims = fields.List(fields.Dict(), metadata={"description": "请求含 claims 时：逐笔核验结果（同 /claims/check 的答复），与请求同序"})
