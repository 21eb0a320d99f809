"""The joint-punishment list (失信联合惩戒对象名单) export."""
from __future__ import annotations

from marshmallow import Schema, fields


class ListEntrySchema(Schema):
    measure_id = fields.String()
    subject_type = fields.String()
    id_number = fields.String(metadata={"description": "管理员为完整号码，经办人员为脱敏号码"})
    name = fields.String(allow_none=True, metadata={"description": "管理员为完整姓名，经办人员为脱敏姓名"})
    region = fields.String()
    listed_on = fields.Date(metadata={"description": "纳入名单之日"})
    article = fields.String(metadata={"description": "第八条第四项 或 第九条第五项"})
    basis = fields.String(metadata={"description": "依据（文件与条款）"})
    rule_set = fields.String()
    recorded_on = fields.Date(metadata={"description": "记入本服务之日"})
    removed_on = fields.Date(allow_none=True, metadata={"description": "移出（异议成立撤销）之日"})


class JointListSchema(Schema):
    as_of = fields.Date()
    since = fields.Date(allow_none=True)
    region = fields.String(allow_none=True)
    full_numbers = fields.Boolean()
    listed = fields.List(fields.Nested(ListEntrySchema), metadata={"description": "未给 since：今日在册名单"})
    additions = fields.List(fields.Nested(ListEntrySchema), metadata={"description": "给出 since：该日以来新增"})
    removals = fields.List(fields.Nested(ListEntrySchema), metadata={"description": "给出 since：该日以来移出"})
