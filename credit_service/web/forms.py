"""The web doors' forms (Flask-WTF): each carries its CSRF token as the hidden field `csrf_token`."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请填写用户名。"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请填写密码。"), Length(max=256)])
    otp = StringField("动态口令", validators=[Optional(), Length(max=16)])


class OtpForm(FlaskForm):
    otp = StringField("动态口令", validators=[DataRequired("请填写动态口令。"), Length(max=16)])


class PostForm(FlaskForm):
    """A form with nothing but its token (logout, and buttons that only confirm)."""
