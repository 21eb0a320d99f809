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
