"""Evidence files (证明材料) of objections and repair applications: checked, stored with the filing,
listed and downloaded under the case file's access (the person themselves, the deciding region's
staff, admin; nobody else). The self-service pages, the API and the console call these."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from ..adapters.orm import EvidenceFileRow
from ..domain import evidence as rules_of
from . import access
from .audit import Change
from .clients import Principal
from .errors import Conflict, Invalid, NotFound, ServiceError
from .measure_records import load

CASE_KINDS = ("objection", "repair")


class TooLarge(ServiceError):
    status, code, title = 413, "evidence_too_large", "文件过大"


@dataclass(frozen=True)
class Upload:
    """A file as the door received it: the sender's name (shown only) and the bytes."""

    filename: str | None
    content: bytes


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    content_type: str
    content: bytes
    sha256: str


def check_uploads(uploads: Sequence[Upload], already: int = 0) -> list[CheckedFile]:
    """Refuses the whole filing if any file is too large (413), of another type than PDF/JPEG/PNG by its
    content whatever its name (422), or if the filing would hold more than 20 files (422)."""
    if already + len(uploads) > rules_of.MAX_FILES_PER_FILING:
        raise Invalid(f"每件申请最多附{rules_of.MAX_FILES_PER_FILING}个证明材料文件"
                      f"（已有{already}个，本次{len(uploads)}个）。", code="too_many_evidence_files",
                      errors={"evidence": ["文件过多。"]})
    checked = []
    for upload in uploads:
        shown = (upload.filename or "")[:120]
        if len(upload.content) > rules_of.MAX_FILE_BYTES:
            raise TooLarge(f"文件“{shown}”超过{rules_of.MAX_FILE_BYTES // (1024 * 1024)}MB，未予接收。",
                           errors={"evidence": ["文件过大。"]})
        content_type = rules_of.sniff(upload.content[:16])
        if content_type is None:
            raise Invalid(f"文件“{shown}”不是{rules_of.ACCEPTED_WORDS}文件（按文件内容判断，与文件名无关），未予接收。",
                          code="evidence_type_not_allowed", errors={"evidence": ["文件类型不符。"]})
        checked.append(CheckedFile(rules_of.safe_name(upload.filename, content_type), content_type, upload.content,
                                   hashlib.sha256(upload.content).hexdigest()))
    return checked


def stage(uow, case_kind: str, case, files: Sequence[CheckedFile], principal: Principal,
          now: datetime) -> list[EvidenceFileRow]:
    """The files of `case` (an objection or repair row) written in the caller's transaction, audited with
    the principal's actor (uploaded_by: the principal's name)."""
    rows = []
    for f in files:
        row = EvidenceFileRow(id=uuid.uuid4().hex, case_kind=case_kind, case_id=case.id, measure_id=case.measure_id,
                              subject_type=case.subject_type, lookup_key=case.lookup_key, region=case.region,
                              filename=f.filename, content_type=f.content_type, size=len(f.content), sha256=f.sha256,
                              content=f.content, uploaded_by=principal.name[:128], created_at=now)
        uow.cases.add(row)
        rows.append(row)
    if rows:
        uow.audit.stage([Change(action="evidence_added", entity=case_kind, entity_id=case.id,
                                subject_type=case.subject_type, lookup_key=case.lookup_key, region=case.region,
                                after={"files": [{"id": r.id, "name": r.filename, "type": r.content_type,
                                                  "size": r.size, "sha256": r.sha256} for r in rows]})], now,
                        principal.actor)
    return rows


def _case(uow, case_kind: str, case_id: str, for_update: bool = False):
    if case_kind not in CASE_KINDS:
        raise NotFound("未找到该申请。", code="evidence_not_found")
    return load(uow, case_kind, case_id, for_update)


def add_evidence(w, principal: Principal, case_kind: str, case_id: str, uploads: Sequence[Upload]) -> list[EvidenceFileRow]:
    """More evidence for an objection under review or a repair awaiting its reply (POST …/evidence)."""
    now = w.clock.now()
    with w.uow_factory() as uow:
        case = _case(uow, case_kind, case_id, for_update=True)
        access.check_case_file(principal, access.CASE_FILE, case.subject_type, case.lookup_key, case.region)
        if case.state != "open":
            if case_kind == "objection":
                raise Conflict("该异议已作出复核决定，不能再补充证明材料。", code="objection_closed")
            raise Conflict("该信用修复申请已作出决定，不能再补充证明材料。", code="repair_decided")
        if not uploads:
            raise Invalid("请附上至少一个证明材料文件（字段 evidence）。", errors={"evidence": ["缺少文件。"]})
        checked = check_uploads(uploads, uow.cases.evidence_count(case_kind, case.id))
        rows = stage(uow, case_kind, case, checked, principal, now)
        uow.commit()
        return rows


def evidence_of(uow, principal: Principal, case_kind: str, case_id: str) -> list[EvidenceFileRow]:
    """The files of one objection or repair (without their bytes): whoever may read the case file."""
    with uow:
        case = _case(uow, case_kind, case_id)
        access.check_case_file(principal, access.CASE_READ, case.subject_type, case.lookup_key, case.region)
        return uow.cases.evidence_files(case_kind, case.id)


def evidence_file(uow, principal: Principal, file_id: str) -> EvidenceFileRow:
    """One file with its bytes, for download: the person themselves, the deciding region's staff, admin."""
    with uow:
        row = uow.cases.evidence_file(file_id)
        if row is None:
            raise NotFound(f"未找到编号为{file_id}的证明材料。", code="evidence_not_found")
        access.check_case_file(principal, access.CASE_READ, row.subject_type, row.lookup_key, row.region)
        row.content  # loaded before the session closes  # noqa: B018
        return row
