"""The letters as documents (信用结果告知书, 异议复核决定书, 信用修复回复书): one use case that loads the
record, checks that the principal may read its case file — the deciding region's staff, admin, the person
themselves — and issues the letter, numbered per region, kind and year in this transaction
(documents/numbering.py), the same text and number when printed again. Both web doors (the console and the
self-service pages) print them through here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ..documents import DocumentNotConfigured, build
from ..documents.config import DocumentSettings
from ..documents.numbering import IssuedDocument
from ..domain.rules import RuleBook
from . import access
from .audit import Change
from .clients import Principal
from .errors import Conflict
from .measure_records import load

KIND_OF = {"measure": "credit_result_notice", "objection": "objection_decision", "repair": "repair_reply"}


@dataclass(frozen=True)
class Letter:
    issued: IssuedDocument
    filename: str  # ASCII, for Content-Disposition


def letter(uow, principal: Principal, documents: DocumentSettings, rules: RuleBook, what: str, entity_id: str,
           today: date, now: datetime) -> Letter:
    """`what`: "measure" (its credit-result notice), "objection" (its review decision, once decided) or
    "repair" (its reply, once decided). Refuses with Conflict `letter_not_ready` before the decision and
    `letter_not_configured` if the region has no letterhead (nothing is numbered then)."""
    kind = KIND_OF[what]
    with uow:
        row = load(uow, what, entity_id)
        access.check_case_file(principal, access.CASE_READ, row.subject_type, row.lookup_key, row.region)
        measure = row if what == "measure" else load(uow, "measure", row.measure_id)
        violation = uow.cases.violation(measure.violation_id)
        number = uow.subjects.reveal_one(row.lookup_key)
        if what == "measure":
            notice = uow.cases.notice_of(measure.id)

            def model(head):
                return build.credit_result_notice(head, measure, violation, notice, rules, number)
        elif what == "objection":
            if row.state != "decided":
                raise Conflict("该异议尚未作出复核决定，不能出具决定书。", code="letter_not_ready")
            created = uow.cases.measures_created_by(row.id)

            def model(head):
                return build.objection_decision(head, row, measure, violation, created, rules, number)
        else:
            if row.state == "open":
                raise Conflict("该信用修复申请尚未答复，不能出具回复书。", code="letter_not_ready")

            def model(head):
                return build.repair_reply(head, row, measure, violation, rules, number)
        try:
            issued = uow.letters.issue(documents, kind, row.region, row.id, today, model, principal.name, now)
        except DocumentNotConfigured as exc:
            raise Conflict(str(exc), code="letter_not_configured") from None
        if issued.newly_issued:  # a number was taken: the trail says by whom (printing again takes none)
            uow.audit.stage([Change(action="document_issued", entity=what, entity_id=row.id,
                                    subject_type=row.subject_type, lookup_key=row.lookup_key, region=row.region,
                                    after={"kind": kind, "number": issued.number, "issued_on": today})], now,
                            principal.actor)
        uow.commit()
    return Letter(issued, f"{kind}-{entity_id}.pdf")
