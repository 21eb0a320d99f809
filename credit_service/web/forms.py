"""The web doors' forms (Flask-WTF): each carries its CSRF token as the hidden field `csrf_token`."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, MultipleFileField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码。"), Length(max=256)])
    otp = StringField("动态口令", validators=[Optional(), Length(max=16)])


class OtpForm(FlaskForm):
    otp = StringField("动态口令", validators=[DataRequired("请填写动态口令。"), Length(max=16)])


class PostForm(FlaskForm):
    """A form with nothing but its token (logout, and buttons that only confirm)."""


# -- the console's case page (issue 11): each action's form; the use case judges the values --------
from wtforms import BooleanField, DateField, SelectField, TextAreaField  # noqa: E402
from wtforms.fields.choices import SelectChoice  # noqa: E402

from ..api.notice_page import _HANDLING  # noqa: E402

SUBJECT_TYPES = {"insured": "参保人", "physician": "医保医师", "pharmacist": "医保药师"}
HANDLINGS = _HANDLING  # the words the letters use
OBJECTION_OUTCOMES = {"upheld": "异议成立", "modified": "异议部分成立（更正金额）", "rejected": "异议不成立"}
REPAIR_OUTCOMES = {"approved": "同意信用修复", "rejected": "暂不予修复"}


def _choices(words: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in words.items()]


class SearchForm(FlaskForm):
    subject_type = SelectField("主体类别", choices=_choices(SUBJECT_TYPES))
    id_number = StringField("身份证号码", validators=[DataRequired("请填写身份证号码。"), Length(max=32)])


class ViolationForm(FlaskForm):
    source_ref = StringField("认定文书编号", validators=[DataRequired("请填写认定文书编号。"), Length(max=128)])
    name = StringField("姓名", validators=[Optional(), Length(max=64)])
    region = StringField("统筹区", validators=[DataRequired("请填写统筹区。"), Length(max=6)])
    occurred_on = DateField("发生日期", validators=[DataRequired("请填写发生日期。")])
    determined_on = DateField("认定日期", validators=[DataRequired("请填写认定日期。")])
    fund_loss = StringField("医保基金损失（元）", validators=[DataRequired("请填写损失金额。"), Length(max=32)])
    handling = SelectField("处理方式", choices=_choices(HANDLINGS))
    fraud = BooleanField("欺诈骗保")
    points = StringField("记分（医师、药师）", validators=[Optional(), Length(max=4)])
    description = TextAreaField("违约违法情形", validators=[Optional(), Length(max=2000)])


class NoticeForm(FlaskForm):
    served_on = DateField("送达日期", validators=[DataRequired("请填写送达日期。")])
    received_on = DateField("签收日期", validators=[DataRequired("请填写签收日期。")])


class PaperObjectionForm(FlaskForm):
    filed_on = DateField("收到书面申请日期", validators=[DataRequired("请填写收件日期。")])
    reason = TextAreaField("异议理由", validators=[DataRequired("请填写异议理由。"), Length(max=4000)])
    evidence = TextAreaField("证明材料（每行一项）", validators=[Optional(), Length(max=4000)])


class PaperRepairForm(FlaskForm):
    filed_on = DateField("收到书面申请日期", validators=[DataRequired("请填写收件日期。")])
    corrected = BooleanField("已纠正失信行为")
    adverse_effects_removed = BooleanField("已消除不良影响")
    commitment = BooleanField("已作出修复承诺")
    evidence = TextAreaField("证明材料（每行一项）", validators=[Optional(), Length(max=4000)])


class ReregistrationForm(FlaskForm):
    registered_on = DateField("重新登记备案日期", validators=[DataRequired("请填写重新登记备案日期。")])
    note = StringField("备案文号或说明", validators=[Optional(), Length(max=200)])


class EvidenceCompleteForm(FlaskForm):
    on = DateField("材料补齐日期", validators=[DataRequired("请填写材料补齐日期。")])


class ObjectionDecisionForm(FlaskForm):
    outcome = SelectField("复核决定", choices=_choices(OBJECTION_OUTCOMES))
    decided_on = DateField("决定日期", validators=[DataRequired("请填写决定日期。")])
    reason = TextAreaField("理由", validators=[DataRequired("请填写理由。"), Length(max=4000)])
    fund_loss = StringField("更正后的损失金额（元，仅部分成立时填写）", validators=[Optional(), Length(max=32)])
    confirm = StringField(validators=[Optional()])


class RepairDecisionForm(FlaskForm):
    outcome = SelectField("答复", choices=_choices(REPAIR_OUTCOMES))
    decided_on = DateField("答复日期", validators=[DataRequired("请填写答复日期。")])
    reason = TextAreaField("理由", validators=[DataRequired("请填写理由。"), Length(max=4000)])
    confirm = StringField(validators=[Optional()])


class ObjectionForm(FlaskForm):
    """POST /me/objections (API.md § Self-service contract): the filing date is the server's today."""

    measure_id = HiddenField(validators=[DataRequired(), Length(max=32)])
    reason = TextAreaField("异议理由", validators=[DataRequired("请写明异议理由。"), Length(max=2000, message="异议理由最多2000字。")])
    evidence = MultipleFileField("证明材料（可选，PDF、JPG 或 PNG，每个不超过10MB，最多20个）")


class RepairForm(FlaskForm):
    """POST /me/repairs: the three conditions of 第十二条, each confirmed, the commitment agreed."""

    measure_id = HiddenField(validators=[DataRequired(), Length(max=32)])
    corrected = BooleanField("我已纠正失信行为", validators=[DataRequired("请确认已纠正失信行为。")])
    adverse_effects_removed = BooleanField("我已消除不良影响", validators=[DataRequired("请确认已消除不良影响。")])
    commitment = BooleanField("我已阅读并同意上面的信用修复承诺", validators=[DataRequired("请阅读并同意信用修复承诺。")])
    evidence = MultipleFileField("证明材料（可选，PDF、JPG 或 PNG，每个不超过10MB，最多20个）")
