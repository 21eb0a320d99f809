"""Rendering a page: one template per page, with who is signed in shown on every one."""
from __future__ import annotations

from flask import current_app, g, render_template

from ..services.access import ROLE_NAMES  # noqa: F401 (the console shows who is signed in)

SUBJECT_NAMES = {"insured": "参保人", "physician": "医保医师", "pharmacist": "医保药师"}
MEASURE_NAMES = {"settlement_suspension": "暂停医疗费用联网结算", "joint_punishment_listing": "纳入失信联合惩戒对象名单",
                 "service_suspension": "中止医保医药服务", "qualification_revoked": "取消医保医（药）师资格",
                 "qualification_suspension": "暂停医保支付资格", "qualification_termination": "终止医保支付资格"}
MEASURE_STATES = {"pending": "尚未开始", "active": "执行中", "ended": "已期满", "revoked": "已撤销"}
OBJECTION_STATES = {"open": "复核中", "decided": "已作出复核决定"}
OBJECTION_OUTCOMES = {"upheld": "异议成立，措施已撤销", "modified": "异议部分成立，已更正", "rejected": "异议不成立，维持原结果"}
REPAIR_STATES = {"open": "待答复", "approved": "同意信用修复", "rejected": "暂不予信用修复"}


def cn_date(day) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else ""


def citation(rules, measure) -> str:
    """The article a measure was imposed under, as the letters cite it."""
    rule_set = rules.get(measure.rule_set)
    return rule_set.citation(measure.article) if rule_set else f"{measure.rule_set}{measure.article}"


def region_name(code: str | None) -> str:
    if not code:
        return "全省"
    regions = current_app.extensions["credit_service_web"].documents.regions
    region = regions.get(code)
    return f"{region.name}（{code}）" if region else code


def render_page(template: str, *, title: str, status: int = 200, **context):
    """`template` under templates/ (console/… or me/…); `viewer` describes the signed-in user."""
    return render_template(template, title=title, viewer=getattr(g, "viewer", None), cn_date=cn_date,
                           citation=citation, MEASURE_NAMES=MEASURE_NAMES, MEASURE_STATES=MEASURE_STATES,
                           OBJECTION_STATES=OBJECTION_STATES, OBJECTION_OUTCOMES=OBJECTION_OUTCOMES,
                           REPAIR_STATES=REPAIR_STATES, **context), status
