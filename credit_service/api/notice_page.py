"""The printable credit-result notice (信用结果告知书): one A4 page, in Chinese, subject masked."""
from __future__ import annotations

import base64
import hashlib
import re
from datetime import date

from jinja2 import Environment, select_autoescape

from ..domain.identity import mask_id_number
from ..domain.money import format_yuan
from ..domain.rules import RuleBook
from ..domain.status import measure_state

_KIND = {"settlement_suspension": "暂停医疗费用联网结算", "joint_punishment_listing": "纳入失信联合惩戒对象名单",
         "service_suspension": "中止医保医药服务", "qualification_revoked": "取消医保医（药）师资格",
         "qualification_suspension": "暂停医保支付资格", "qualification_termination": "终止医保支付资格"}
_SUBJECT = {"insured": "参保人", "physician": "医保医师", "pharmacist": "医保药师"}
_HANDLING = {"agreement": "协议处理", "administrative": "行政处罚", "criminal": "刑事处理"}
_STATE = {"pending": "待执行", "active": "执行中", "ended": "已期满", "revoked": "已撤销"}

_SOURCE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>信用结果告知书</title>
<style>
@page { size: A4; margin: 18mm; }
body { font-family: "SimSun", "Songti SC", serif; font-size: 11pt; line-height: 1.6; max-width: 174mm; margin: auto; }
h1 { text-align: center; font-size: 18pt; letter-spacing: .3em; margin: 0 0 4mm; }
.no { text-align: right; font-size: 10pt; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
td, th { border: 1px solid #000; padding: 1mm 2mm; vertical-align: top; text-align: left; }
th { width: 28%; font-weight: normal; background: #f2f2f2; }
.sign { margin-top: 8mm; text-align: right; }
</style></head><body>
<h1>信用结果告知书</h1>
<p class="no">编号：{{ measure.id }}</p>
<p>{{ subject_word }}（身份证号 {{ masked_id }}{% if name %}，{{ name }}{% endif %}）：</p>
<p>经核查，你的下列违约违法信息已记入{{ violation.record_year }}年度医保信用记录，依据{{ citation }}，对你采取以下信用管理措施：</p>
<table>
<tr><th>违约违法行为</th><td>{{ violation.description or "（未填写）" }}；发生于{{ violation.occurred_on }}，{{ violation.determined_on }}认定（{{ handling }}）</td></tr>
<tr><th>医保基金损失</th><td>{{ fund_loss }}元{% if violation.voided_on %}（该记录已于{{ violation.voided_on }}作废）{% endif %}</td></tr>
<tr><th>信用管理措施</th><td>{{ kind }}{% if measure.months %}{{ measure.months }}个月{% endif %}（{{ state }}）</td></tr>
<tr><th>执行期间</th><td>自{{ measure.starts_on }}起{% if measure.restores_on %}至{{ measure.restores_on }}恢复{% else %}，依法移出名单前持续有效{% endif %}</td></tr>
<tr><th>规则集及条款</th><td>{{ measure.rule_set }}，{{ measure.article }}</td></tr>
<tr><th>说明</th><td>{{ measure.explanation }}</td></tr>
</table>
<p><strong>异议：</strong>对本信用结果有异议的，可自收到本告知书之日起{{ objection_days }}个工作日内，以书面方式向所属医疗保障部门提出异议申请，并提供相关证明材料；医疗保障部门自收到书面申请及相关证明材料{{ review_days }}个工作日内完成复核，并书面反馈意见（第十条）。
{% if notice %}本告知书于{{ notice.served_on }}送达，{{ notice.received_on }}签收，异议期限至<strong>{{ notice.objection_deadline }}</strong>{% if notice.deadline_provisional %}（暂定：该年度法定节假日安排尚未公布，公布后重新计算）{% endif %}。{% else %}签收之日：＿＿＿＿年＿＿月＿＿日。{% endif %}</p>
<p><strong>信用修复：</strong>在规定期限内纠正失信行为、消除不良影响、作出修复承诺的，信用管理措施期满信用自动修复（第十二条）；也可申请信用修复，医疗保障部门于{{ repair_days }}个工作日内给予回复（第十一条）。</p>
<p class="sign">医疗保障部门（盖章）<br>{{ notice.served_on if notice else today }}</p>
<p>签收人：＿＿＿＿＿＿　　签收日期：＿＿＿＿年＿＿月＿＿日</p>
</body></html>
"""
_TEMPLATE = Environment(autoescape=select_autoescape(default=True)).from_string(_SOURCE)
# The page's one stylesheet is inline (the notice is also saved and printed as one file), so the
# policy allows exactly that text by its hash; nothing else — no script, no other style, no images.
_STYLE = re.search(r"<style>(.*?)</style>", _SOURCE, re.S).group(1)
NOTICE_CSP = ("default-src 'none'; style-src 'sha256-"
              + base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
              + "'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def render_notice(measure, violation, notice, rules: RuleBook, today: date, number: str) -> str:
    """`number`: the subject's identity number (the rows hold its lookup key); printed masked."""
    rule_set = rules.get(measure.rule_set)
    procedure = rule_set.procedure if rule_set is not None else None
    return _TEMPLATE.render(
        measure=measure, violation=violation, notice=notice, today=today,
        subject_word=_SUBJECT.get(measure.subject_type, "信用主体"), masked_id=mask_id_number(number),
        name=(violation.name[0] + "*" * (len(violation.name) - 1)) if violation.name else None,
        citation=rule_set.citation(measure.article) if rule_set else f"{measure.rule_set}{measure.article}",
        handling=_HANDLING.get(violation.handling, violation.handling), fund_loss=format_yuan(violation.fund_loss),
        kind=_KIND.get(measure.kind, measure.kind),
        state=_STATE[measure_state(measure.starts_on, measure.restores_on, measure.revoked_on is not None, today)],
        objection_days=procedure.objection_working_days if procedure else 15,
        review_days=procedure.review_working_days if procedure else 15,
        repair_days=procedure.repair_reply_working_days if procedure else 15)
