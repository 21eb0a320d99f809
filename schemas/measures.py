from __future__ import annotations

from marshmallow import Schema, fields


class MeasureSchema(Schema):
    id = fields.String()
    kind = fields.String(metadata={"enum": ["settlement_suspension", "joint_punishment_listing",
                                            "service_suspension", "qualification_suspension",
                                            "qualification_termination", "qualification_revoked"]})
    subject_type = fields.String()
    region = fields.String()
    starts_on = fields.Date()
    restores_on = fields.Date(allow_none=True, metadata={"description": "首个恢复结算之日；名单类措施为 null"})
    months = fields.Integer(allow_none=True)
    state = fields.String(metadata={"enum": ["pending", "active", "ended", "revoked"]})
    rule_set = fields.String()
    article = fields.String()
    explanation = fields.String()
    past_expiry = fields.Boolean(metadata={"description": "规则集期满后按配置继续适用"})
    reregistration_from = fields.Date(allow_none=True, metadata={
        "description": "终止医保支付资格：首个可重新登记备案之日；其他措施及取消资格为 null"})


class MeasureBriefSchema(Schema):
    """A measure as listed in bulk-import results (no explanation)."""

    id = fields.String()
    kind = fields.String()
    starts_on = fields.Date()
    restores_on = fields.Date(allow_none=True)
    months = fields.Integer(allow_none=True)
    rule_set = fields.String()
    article = fields.String()
    past_expiry = fields.Boolean()
    reregistration_from = fields.Date(allow_none=True)
