"""Notices, objections, repairs (Arts 10–12), the natural-year record and the worklist."""
from __future__ import annotations

from marshmallow import Schema, fields

from credit_service.domain.procedure import OBJECTION_OUTCOMES, OBJECTION_STATES, REPAIR_OUTCOMES, REPAIR_STATES

from .fields import IdNumber, OneOfStr, Str, StrictBool, StrictDate, StrictInt, StrictSchema, SubjectType, Yuan
from .evaluation import RecordEvaluationSchema
from .measures import MeasureSchema
from .violations import RecordedViolationSchema

CLOSED = ("closed：所涉措施因另一件异议的复核决定重新计算而撤销，本申请随之终结（decided_on 为撤销之日，"
          "decision_reason 写明原因；第十条）")
EVIDENCE = {"description": "证明材料（文件编号、名称或地址）"}


class EvidenceList(fields.List):
    default_error_messages = {"invalid": "应为字符串数组。"}

    def __init__(self, **kwargs):
        super().__init__(Str(min_len=1, max_len=500), load_default=list, metadata=EVIDENCE, **kwargs)


class NoticeRequestSchema(StrictSchema):
    served_on = StrictDate(required=True, metadata={"description": "送达日期"})
    # Not before served_on, not after today: the procedure's rule (domain.procedure.check_notice).
    received_on = StrictDate(required=True, metadata={"description": "签收（收到）日期：异议期限自次日起算"})


class NoticeSchema(Schema):
    id = fields.String()
    measure_id = fields.String()
    served_on = fields.Date()
    received_on = fields.Date()
    objection_deadline = fields.Date(metadata={"description": "第十条：签收后第15个工作日（含当日可提出）"})
    provisional = fields.Boolean(metadata={"description": "该年度法定节假日安排尚未载入，按仅周末计算的暂定期限"})
    window_closed_on = fields.Date(allow_none=True)


FILED_ON = {"description": "提出日期。person：可省略，即本服务收到之日（今天），填写其他日期 422 filed_on_not_today；"
                          "staff/admin 录入纸质申请时填写收件日期（记录并审计为其录入），省略则为今天"}


class ObjectionRequestSchema(StrictSchema):
    measure_id = Str(min_len=1, max_len=32, required=True)
    filed_on = StrictDate(load_default=None, metadata=FILED_ON)
    reason = Str(min_len=1, max_len=4000, required=True)
    evidence = EvidenceList()


class ObjectionDecisionRequestSchema(StrictSchema):
    outcome = OneOfStr(OBJECTION_OUTCOMES, "复核结果须为 upheld、rejected 或 modified。", required=True)
    decided_on = StrictDate(required=True)
    reason = Str(min_len=1, max_len=4000, required=True)
    fund_loss = Yuan(load_default=None, allow_none=True,
                     metadata={"description": "仅 modified：更正后的医保基金损失（元）"})


class EvidenceCompleteRequestSchema(StrictSchema):
    on = StrictDate(required=True, metadata={"description": "证明材料补齐之日：复核期限自次日重新起算"})


class ObjectionSchema(Schema):
    id = fields.String()
    measure_id = fields.String()
    subject_type = fields.String()
    id_number = fields.String()
    region = fields.String()
    filed_on = fields.Date()
    filed_on_entered = fields.Boolean(metadata={"description": "提出日期为经办人员录入的纸质申请收件日期（否则为本服务收到之日）"})
    reason = fields.String()
    evidence = fields.List(fields.String())
    acceptance_note = fields.String()
    evidence_complete_on = fields.Date(allow_none=True)
    review_due_on = fields.Date(metadata={"description": "第十条：15个工作日内完成复核"})
    review_due_provisional = fields.Boolean()
    overdue = fields.Boolean()
    state = fields.String(metadata={"enum": list(OBJECTION_STATES), "description": CLOSED})
    outcome = fields.String(allow_none=True, metadata={"enum": list(OBJECTION_OUTCOMES)})
    decided_on = fields.Date(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    fund_loss = Yuan(allow_none=True, metadata={"description": "modified：更正后的金额"})
    decided_late = fields.Boolean(allow_none=True, metadata={"description": "复核决定晚于复核期限"})


class ObjectionDecisionSchema(Schema):
    objection = fields.Nested(ObjectionSchema)
    revoked_measures = fields.List(fields.Nested("RecordMeasureSchema"))
    new_measures = fields.List(fields.Nested("RecordMeasureSchema"))


class RepairRequestSchema(StrictSchema):
    subject_type = SubjectType(required=True)
    id_number = IdNumber(required=True)
    measure_id = Str(min_len=1, max_len=32, required=True)
    filed_on = StrictDate(load_default=None, metadata=FILED_ON)
    corrected = StrictBool(required=True, metadata={"description": "已纠正失信行为"})
    adverse_effects_removed = StrictBool(required=True, metadata={"description": "已消除不良影响（如退回基金损失）"})
    commitment = StrictBool(required=True, metadata={"description": "已作出信用修复承诺"})
    evidence = EvidenceList()


class RepairDecisionRequestSchema(StrictSchema):
    outcome = OneOfStr(REPAIR_OUTCOMES, "决定须为 approved 或 rejected。", required=True)
    decided_on = StrictDate(required=True)
    reason = Str(min_len=1, max_len=4000, required=True)


class RepairSchema(Schema):
    id = fields.String()
    measure_id = fields.String()
    subject_type = fields.String()
    id_number = fields.String()
    region = fields.String()
    filed_on = fields.Date()
    filed_on_entered = fields.Boolean(metadata={"description": "提出日期为经办人员录入的纸质申请收件日期（否则为本服务收到之日）"})
    corrected = fields.Boolean()
    adverse_effects_removed = fields.Boolean()
    commitment = fields.Boolean()
    evidence = fields.List(fields.String())
    reply_due_on = fields.Date(metadata={"description": "第十一条：15个工作日内给予回复"})
    reply_due_provisional = fields.Boolean()
    overdue = fields.Boolean()
    state = fields.String(metadata={"enum": list(REPAIR_STATES), "description": CLOSED})
    decided_on = fields.Date(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    credit_restored = fields.Boolean(metadata={"description": "核准后信用已修复"})


class RecordMeasureSchema(MeasureSchema):
    violation_id = fields.String()
    revoked_on = fields.Date(allow_none=True)
    credit_state = fields.String(allow_none=True, metadata={
        "enum": ["restored", "unrepaired"], "description": "措施期满后：restored 已修复 / unrepaired 待修复"})
    credit_restored_on = fields.Date(allow_none=True)
    credit_restored_how = fields.String(allow_none=True, metadata={
        "enum": ["automatic", "repair"],
        "description": "automatic：第十二条期满自动修复（含期限内提出、期满后核准的修复申请）；repair：期满后提出、核准之日修复"})
    credit_note = fields.String(allow_none=True, metadata={"description": "信用状态的说明（如何修复、为何尚未修复）"})


class RecordViolationSchema(RecordedViolationSchema):
    voided_on = fields.Date(allow_none=True, metadata={"description": "异议成立，该记录作废"})
    reported_fund_loss = Yuan(allow_none=True, metadata={"description": "异议复核变更金额前报送的金额"})


class RecordQuerySchema(StrictSchema):
    """POST /api/v1/records/query: the subject in the body, so that no identity number travels in a URL."""

    subject_type = SubjectType(required=True)
    id_number = IdNumber(required=True)
    year = StrictInt(1, 9999, required=True, metadata={"description": "自然年度（记录周期），例如 2026"})


class RecordSchema(Schema):
    subject_type = fields.String()
    id_number = fields.String()
    year = fields.Integer(metadata={"description": "记录周期（自然年度，第七条）"})
    scope_region = fields.String(allow_none=True, metadata={
        "description": "经办人员：仅列出本统筹区作出的违约违法信息、措施及其告知书、异议、修复；管理员与本人为 null（全部）"})
    partial = fields.Boolean(metadata={"description": "本年度另有其他统筹区的记录未列出（不说明其内容）"})
    total_fund_loss = Yuan(metadata={"description": "所列未作废记录的医保基金损失合计"})
    violations = fields.List(fields.Nested(RecordViolationSchema))
    measures = fields.List(fields.Nested(RecordMeasureSchema))
    notices = fields.List(fields.Nested(NoticeSchema))
    objections = fields.List(fields.Nested(ObjectionSchema))
    repairs = fields.List(fields.Nested(RepairSchema))
    evaluation = fields.Nested(RecordEvaluationSchema, metadata={"description": "信用评价积分与等级（详见 /evaluation）"})


class WorklistItemSchema(Schema):
    kind = fields.String(metadata={"enum": ["objection_review", "repair_reply", "objection_window"]})
    id = fields.String(metadata={"description": "异议、修复申请或告知书的编号"})
    measure_id = fields.String()
    subject_type = fields.String()
    id_number = fields.String()
    region = fields.String()
    due_on = fields.Date()
    provisional = fields.Boolean()
    overdue = fields.Boolean()
    working_days_left = fields.Integer(metadata={
        "description": "距期限的工作日数（今天之后至期限当日）；负数为已逾期的工作日数"})


class WorklistSchema(Schema):
    items = fields.List(fields.Nested(WorklistItemSchema))
    total = fields.Integer(metadata={"description": "符合条件的全部事项数（不止本页）"})
    offset = fields.Integer()
    limit = fields.Integer()


class EvidenceFileSchema(Schema):
    """证明材料 as stored: the type is the one read from the content; `href` downloads it."""

    id = fields.String()
    case = fields.String(metadata={"description": "objection | repair"})
    case_id = fields.String()
    filename = fields.String()
    content_type = fields.String(metadata={"description": "application/pdf | image/jpeg | image/png"})
    size = fields.Integer()
    sha256 = fields.String()
    uploaded_at = fields.String()
    href = fields.String()


class EvidenceListSchema(Schema):
    files = fields.List(fields.Nested(EvidenceFileSchema))
