"""The credit evaluation (信用评价积分, 信用等级): its query and its answer."""
from __future__ import annotations

from marshmallow import Schema, fields

from .fields import IdNumber, StrictDate, StrictSchema, SubjectType


class EvaluationQuerySchema(StrictSchema):
    subject_type = SubjectType(required=True)
    id_number = IdNumber(required=True)
    on = StrictDate(load_default=None, metadata={"description": "评价日期，缺省为今天（Asia/Shanghai）"})


class ContributionSchema(Schema):
    change = fields.Integer(metadata={"description": "对积分的影响（扣分为负数）"})
    reason = fields.String(metadata={"description": "哪一项事实、影响多少（中文）"})
    rule_set = fields.String(metadata={"description": "评价模型所在的规则集"})
    article = fields.String(metadata={"description": "该事实依据的条款"})


class InspectionSchema(Schema):
    level = fields.String(metadata={"enum": ["reduced", "routine", "increased", "intensive"]})
    words = fields.String()


class EvaluationSchema(Schema):
    subject_type = fields.String()
    id_number = fields.String(metadata={"description": "非经办人员角色为脱敏号码"})
    on = fields.Date()
    score = fields.Integer(metadata={"description": "信用评价积分"})
    grade = fields.String(metadata={"description": "信用等级"})
    grade_title = fields.String(metadata={"description": "等级名称，如 守信"})
    base = fields.Integer(metadata={"description": "满分（从未有记录的信用主体的积分）"})
    unlocks = fields.List(fields.String(), metadata={
        "description": "该等级可享受的措施：lenient_acceptance（容缺受理，另须符合第九条第一项）、credit_payment（医保信用支付）"})
    credit_payment = fields.Boolean(metadata={"description": "该等级可享受医保信用支付"})
    inspection = fields.Nested(InspectionSchema, allow_none=True, metadata={
        "description": "医保医（药）师：该等级对应的检查频次；参保人为 null"})
    contributions = fields.List(fields.Nested(ContributionSchema))
    clean_years = fields.Integer(metadata={"description": "评价日前连续无违约违法记录的完整自然年度数（最多10）"})
    notes = fields.List(fields.String())
    rule_set = fields.String()
    document = fields.String()
    past_expiry = fields.Boolean()


class RecordEvaluationSchema(Schema):
    on = fields.Date(metadata={"description": "评价日期：今年为今天，往年为该年12月31日"})
    score = fields.Integer(allow_none=True)
    grade = fields.String(allow_none=True)
