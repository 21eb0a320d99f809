"""The monthly statistics report (月度统计报表) as JSON."""
from __future__ import annotations

from marshmallow import Schema, fields


class ReportLineSchema(Schema):
    key = fields.String(metadata={"description": "稳定的项目标识，如 violations.insured、measures.settlement_suspension.第九条第三项"})
    section = fields.String()
    label = fields.String()
    unit = fields.String(metadata={"description": "条、人次、件、份、分，或 万元（金额为六位小数的十进制字符串，精确到分）"})
    kind = fields.String(metadata={"enum": ["flow", "stock"], "description": "flow 本月发生数；stock 月末时点数"})
    month = fields.Raw(metadata={"description": "本月（stock：月末时点数）"})
    adjustment = fields.Raw(allow_none=True, metadata={"description": "冻结后的更正：本年累计 = 上月报表本年累计 + 更正调整 + 本月"})
    year_to_date = fields.Raw(allow_none=True, metadata={"description": "本年累计（1月1日至月末）"})
    prior_year_total = fields.Raw(allow_none=True, metadata={"description": "上年全年（按现有数据）"})
    prior_year_adjustment = fields.Raw(allow_none=True, metadata={"description": "上年数据自上份报表以来的更正"})


class MonthlyReportSchema(Schema):
    title = fields.String()
    region = fields.String(metadata={"description": "统筹区，或 all（全省合计）"})
    month = fields.String(metadata={"description": "YYYY-MM"})
    year = fields.Integer()
    period = fields.Dict()
    frozen = fields.Boolean(metadata={"description": "已于次月1日冻结：此后原样返回（逐字节相同）"})
    frozen_at = fields.String(allow_none=True)
    columns = fields.Dict()
    lines = fields.List(fields.Nested(ReportLineSchema))
    notes = fields.List(fields.String())
