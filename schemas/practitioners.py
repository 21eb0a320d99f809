"""Practitioners' marks and qualification (第八条): listing and withdrawing expert recommendations,
recording a re-registration (重新登记备案) after a terminated qualification."""
from __future__ import annotations

from marshmallow import Schema, fields

from .fields import IdNumber, OneOfStr, Str, StrictDate, StrictSchema
from .measures import MeasureSchema


class ExpertMarkSchema(Schema):
    """One mark, withdrawn or not."""

    id = fields.String()
    subject_type = fields.String()
    id_number = fields.String()
    year = fields.Integer()
    region = fields.String()
    reason = fields.String()
    marked_by = fields.String()
    marked_at = fields.DateTime()
    state = fields.String(metadata={"enum": ["active", "withdrawn"],
                                    "description": "withdrawn：已撤回，不再享受该年度的激励"})
    withdrawn_on = fields.Date(allow_none=True)
    withdrawn_by = fields.String(allow_none=True)
    withdrawal_reason = fields.String(allow_none=True)


class ExpertRecommendationListSchema(Schema):
    recommendations = fields.List(fields.Nested(ExpertMarkSchema),
                                  metadata={"description": "按年度由近及远；经办人员只见本统筹区作出的标记"})


class ExpertRecommendationQuerySchema(StrictSchema):
    """POST /api/v1/expert-recommendations/query: the practitioner in the body, not in a URL."""

    subject_type = OneOfStr(("physician", "pharmacist"), "须为 physician 或 pharmacist。", required=True)
    id_number = IdNumber(required=True)


class WithdrawalRequestSchema(StrictSchema):
    reason = Str(min_len=1, max_len=2000, required=True, metadata={"description": "撤回理由"})


class ReregistrationRequestSchema(StrictSchema):
    registered_on = StrictDate(required=True, metadata={
        "description": "重新登记备案之日：不早于措施的 reregistration_from，不晚于今天；医保支付资格自该日起恢复正常"})
    note = Str(max_len=2000, load_default="", metadata={"description": "备注（如登记备案文书编号）"})


class ReregistrationSchema(Schema):
    measure = fields.Nested(MeasureSchema, metadata={
        "description": "终止医保支付资格的措施：restores_on 为重新登记备案之日，state 自该日起为 ended"})
    article = fields.String(metadata={"description": "所依据的协议约定"})
