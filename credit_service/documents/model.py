"""The document model: plain values, exactly what a letter says (no database, no Flask, no clock)."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, is_dataclass
from datetime import date
from typing import get_type_hints

KINDS = {"credit_result_notice": "信用结果告知书", "objection_decision": "异议复核决定书",
         "repair_reply": "信用修复回复书"}


@dataclass(frozen=True)
class Letterhead:
    bureau: str  # the issuing bureau, e.g. 济南市医疗保障局
    number: str  # e.g. 济医保信告〔2026〕0001号
    issued_on: date


@dataclass(frozen=True)
class Addressee:
    name: str  # in full: the letter is served on this person
    subject_word: str  # 参保人 / 医保医师 / 医保药师
    masked_id: str  # 370102********1234


@dataclass(frozen=True)
class MeasureText:
    kind: str  # 暂停医疗费用联网结算
    article: str  # 第九条第三项
    citation: str  # 《…办法》第九条第三项
    explanation: str
    starts_on: date
    restores_on: date | None
    months: int | None


@dataclass(frozen=True)
class CreditResultNotice:
    letterhead: Letterhead
    addressee: Addressee
    measure: MeasureText
    violation: str  # what was done, when, how it was dealt with
    fund_loss: str  # "150,000.00"
    record_year: int
    objection_days: int
    review_days: int
    repair_days: int
    objection_deadline: date | None  # None until the notice's receipt is recorded
    deadline_provisional: bool
    kind: str = "credit_result_notice"


@dataclass(frozen=True)
class ObjectionDecision:
    letterhead: Letterhead
    addressee: Addressee
    measure: MeasureText  # the measure objected to
    filed_on: date
    objection_reason: str
    outcome: str  # "upheld" | "modified" | "rejected"
    decision: str  # the outcome in words
    decision_reason: str
    decided_on: date
    consequences: tuple[str, ...]  # e.g. "撤销…措施", "重新认定…"
    new_measures: tuple[MeasureText, ...]
    repair_days: int
    kind: str = "objection_decision"


@dataclass(frozen=True)
class RepairReply:
    letterhead: Letterhead
    addressee: Addressee
    measure: MeasureText
    filed_on: date
    conditions: tuple[tuple[str, bool], ...]  # (纠正失信行为, True), …
    outcome: str  # "approved" | "rejected"
    decision: str
    decision_reason: str
    decided_on: date
    effect: str  # what follows for the person
    repair_days: int
    kind: str = "repair_reply"


MODELS = {"credit_result_notice": CreditResultNotice, "objection_decision": ObjectionDecision,
          "repair_reply": RepairReply}


def to_json(model) -> str:
    return json.dumps(asdict(model), ensure_ascii=False, default=lambda d: d.isoformat(), sort_keys=True)


def from_json(text: str):
    """The model a letter was issued with (issued_documents.content), to print it again unchanged."""
    data = json.loads(text)
    return _build(MODELS[data["kind"]], data)


def _build(cls, data):
    hints = get_type_hints(cls)
    values = {}
    for f in fields(cls):
        values[f.name] = _value(hints[f.name], data[f.name])
    return cls(**values)


def _value(hint, value):
    if value is None:
        return None
    text = str(hint)
    if is_dataclass(hint):
        return _build(hint, value)
    if hint in (date, date | None):
        return date.fromisoformat(value)
    if "MeasureText" in text and isinstance(value, list):
        return tuple(_build(MeasureText, v) for v in value)
    if "tuple[tuple" in text:
        return tuple((a, b) for a, b in value)
    if "tuple" in text:
        return tuple(value)
    return value
