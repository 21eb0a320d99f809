"""GET /api/v1/audit: the hash-chained audit trail (admin; staff for their own region)."""
from __future__ import annotations

import json
import re

import orjson
from flask import Response, current_app, g, request
from sqlalchemy import select

from schemas.audit import AuditPageSchema
from schemas.fields import ID_NUMBER_SCHEMA, REGION_SCHEMA

from ..adapters.orm import AuditEventRow
from ..adapters.subjects import reveal
from ..domain.identity import SUBJECT_TYPES, id_number_problem, normalise_id_number
from ..services.errors import Invalid
from ..services import access
from .auth import require
from .query_args import date_arg, region_arg
from .request_body import Blueprint

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="审计记录（哈希链）")
PAGE = 1000
MAX_SEQ = 2**63 - 1
_SEQ = re.compile(r"[0-9]{1,19}")


@blp.route("/audit", methods=["GET"])
@require(access.AUDIT_READ)
@blp.doc(parameters=[
    {"in": "query", "name": name, "required": False, "schema": schema, "description": text}
    for name, schema, text in (
        ("subject_type", {"type": "string", "enum": list(SUBJECT_TYPES)}, "主体类型"),
        ("id_number", ID_NUMBER_SCHEMA, "身份证号（缺 subject_type 时按三种主体类型匹配）"),
        ("from", {"type": "string", "format": "date"}, "起始日期（含）"),
        ("to", {"type": "string", "format": "date"}, "截止日期（含）"),
        ("region", REGION_SCHEMA, "统筹区；经办人员只能为本统筹区"),
        ("after", {"type": "integer", "minimum": 0, "maximum": MAX_SEQ}, "分页：上一页的 next_after"))])
@blp.response(200, AuditPageSchema)
def audit_trail():
    """审计记录：谁在何时做了什么，变更前后；经办人员仅本统筹区。"""
    c = current_app.extensions["credit_service"]
    args = request.args
    query = select(AuditEventRow).order_by(AuditEventRow.seq)
    region = access.region_for(g.principal, access.AUDIT_READ, region_arg(args))
    if region:
        query = query.where(AuditEventRow.region == region)
    subject_type = args.get("subject_type")
    if subject_type is not None:
        if subject_type not in SUBJECT_TYPES:
            raise Invalid("subject_type 须为 insured、physician 或 pharmacist。", errors={"subject_type": ["无效"]})
        query = query.where(AuditEventRow.subject_type == subject_type)
    if "id_number" in args:
        number = normalise_id_number(args["id_number"])
        if problem := id_number_problem(number):
            raise Invalid(problem, code="invalid_id_number", errors={"id_number": [problem]})
        # The trail is never rewritten: events written before a key rotation carry the lookup key of an
        # older HMAC key, so match the key under every configured one (adapters/pii.py); without a
        # subject_type, under every type.
        keys = [k for t in ([subject_type] if subject_type else SUBJECT_TYPES) for k in c.keys.lookup_keys(t, number)]
        query = query.where(AuditEventRow.id_number.in_(keys))
    if (since := date_arg(args, "from", c)) is not None:
        query = query.where(AuditEventRow.day >= since)
    if (until := date_arg(args, "to", c)) is not None:
        query = query.where(AuditEventRow.day <= until)
    after = args.get("after", "0")
    if not _SEQ.fullmatch(after) or int(after) > MAX_SEQ:  # seq is a 64-bit column
        raise Invalid(f"after 应为0至{MAX_SEQ}之间的整数（上一页的 next_after）。",
                      errors={"after": ["应为非负整数。"]})
    query = query.where(AuditEventRow.seq > int(after)).limit(PAGE + 1)
    with c.session_factory() as session:
        rows = session.scalars(query).all()
        # Events name the subject's lookup key; staff and admin see the number (from `subjects`).
        numbers = reveal(session, c.keys, (row.id_number for row in rows[:PAGE]))
    events = []
    for row in rows[:PAGE]:
        event = json.loads(row.payload)
        if event.get("id_number") is not None:
            event["id_number"] = numbers.get(event["id_number"], event["id_number"])
        event.update(prev_hash=row.prev_hash, hash=row.hash)
        events.append(event)
    body = {"events": events, "next_after": rows[PAGE - 1].seq if len(rows) > PAGE else None}
    return Response(orjson.dumps(body), mimetype="application/json")
