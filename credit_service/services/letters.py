"""The letters of a case (信用结果告知书, 异议复核决定书, 信用修复回复书) as issued: numbered once per
record (documents/numbering.py) and printed the same every time, to whoever may read the case file —
the deciding region's staff, admin, the person themselves. Both web doors print them through here."""
from __future__ import annotations

from datetime import datetime

from ..documents import DocumentNotConfigured, DocumentSettings, build
from ..documents.numbering import IssuedDocument
from ..domain.rules import RuleBook
from . import access
from .clients import Principal
from .errors import Conflict
from .measure_records import load


def _read(principal: Principal, row) -> None:
    access.check_case_file(principal, access.CASE_READ, row.subject_type, row.id_number, row.region)


def _issued(uow, documents: DocumentSettings, kind: str, row, on, make, principal: Principal,
            now: datetime) -> IssuedDocument:
    try:
        issued = uow.letters.issue(documents, kind, row.region, row.id, on, make, principal.name, now)
    except DocumentNotConfigured as exc:
        raise Conflict(str(exc), code="letter_not_configured") from None
    if issued.newly_issued:
        uow.commit()
    return issued


def credit_result_notice(uow, principal: Principal, documents: DocumentSettings, rules: RuleBook, measure_id: str,
                         today, now: datetime) -> IssuedDocument:
    """第十条: the notice of a measure (dated the day it was served, or today if it has not been)."""
    with uow:
        m = load(uow, "measure", measure_id)
        _read(principal, m)
        violation, notice = uow.cases.violation(m.violation_id), uow.cases.notice_of(m.id)
        number = uow.subjects.reveal_one(m.id_number)
        return _issued(uow, documents, "credit_result_notice", m, notice.served_on if notice else today,
                       lambda head: build.credit_result_notice(head, m, violation, notice, rules, number),
                       principal, now)


def objection_decision(uow, principal: Principal, documents: DocumentSettings, rules: RuleBook, objection_id: str,
                       now: datetime) -> IssuedDocument:
    """第十条: the written answer to an objection, once it is decided."""
    with uow:
        o = load(uow, "objection", objection_id)
        _read(principal, o)
        if o.state != "decided":
            raise Conflict("该异议尚在复核，复核决定书尚未出具。", code="letter_not_ready")
        m = load(uow, "measure", o.measure_id)
        violation, created = uow.cases.violation(m.violation_id), uow.cases.measures_created_by(o.id)
        number = uow.subjects.reveal_one(o.id_number)
        return _issued(uow, documents, "objection_decision", o, o.decided_on,
                       lambda head: build.objection_decision(head, o, m, violation, created, rules, number),
                       principal, now)


def repair_reply(uow, principal: Principal, documents: DocumentSettings, rules: RuleBook, repair_id: str,
                 now: datetime) -> IssuedDocument:
    """第十一条: the reply to a repair application, once it is decided."""
    with uow:
        r = load(uow, "repair", repair_id)
        _read(principal, r)
        if r.state == "open":
            raise Conflict("该信用修复申请尚未答复，回复书尚未出具。", code="letter_not_ready")
        m = load(uow, "measure", r.measure_id)
        violation, number = uow.cases.violation(m.violation_id), uow.subjects.reveal_one(r.id_number)
        return _issued(uow, documents, "repair_reply", r, r.decided_on,
                       lambda head: build.repair_reply(head, r, m, violation, rules, number), principal, now)
