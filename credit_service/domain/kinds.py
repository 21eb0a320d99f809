"""The measure kinds in the words people read (GLOSSARY.md), for explanations, reports and the list."""
from __future__ import annotations

MEASURE_WORDS = {
    "settlement_suspension": "暂停医疗费用联网结算",
    "joint_punishment_listing": "纳入失信联合惩戒对象名单",
    "service_suspension": "中止医保医药服务",
    "qualification_suspension": "暂停医保支付资格",
    "qualification_termination": "终止医保支付资格",
    "qualification_revoked": "取消医保医（药）师资格",
}
MEASURE_KINDS = tuple(MEASURE_WORDS)

SUBJECT_WORDS = {"insured": "参保人", "physician": "医保医师", "pharmacist": "医保药师"}


def measure_words(kind: str) -> str:
    return MEASURE_WORDS.get(kind, kind)
