"""GET /api/v1/audit: the hash-chained audit trail (admin; staff for their own region)."""
from __future__ import annotations

import json

import orjson
from flask import Response, current_app, g, request
from flask_smorest import Blueprint
from sqlalchemy import select

from schemas.audit import AuditPageSchema

from ..adapters.orm import AuditEventRow
from ..adapters.subjects import reveal
from ..domain.identity import SUBJECT_TYPES, id_number_problem, normalise_id_number
from ..services.errors import Invalid
from .auth import Forbidden, require
from .status import _day

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="审计记录（哈希链）")
PAGE = 1000


@blp.route("/audit", methods=["GET"])
@require("staff", "admin")
@blp.doc(parameters=[
    {"in": "query", "name": name, "required": False, "schema": schema, "description": text}
    for name, schema, text in (
        ("subject_type", {"type": "string", "enum": list(SUBJECT_TYPES)}, "主体类型（与 id_number 同用）"),
        ("id_number", {"type": "string"}, "身份证号"),
        ("from", {"type": "string", "format": "date"}, "起始日期（含）"),
        ("to", {"type": "string", "format": "date"}, "截止日期（含）"),
        ("region", {"type": "string"}, "统筹区；经办人员只能为本统筹区"),
        ("after", {"type": "integer"}, "分页：上一页的 next_after"))])
@blp.response(200, AuditPageSchema)
def audit_trail():
    """审计记录：谁在何时做了什么，变更前后；经办人员仅本统筹区。"""
    c = current_app.extensions["credit_service"]
    args = request.args
    query = select(AuditEventRow).order_by(AuditEventRow.seq)
    region = args.get("region") or None
    if g.principal.role == "staff":
        if region and region != g.principal.region:
            raise Forbidden(f"经办人员只能查看本统筹区（{g.principal.region}）的审计记录。", code="region_not_allowed")
        region = g.principal.region
    if region:
        query = query.where(AuditEventRow.region == region)
    if args.get("id_number") or args.get("subject_type"):
        subject_type, number = args.get("subject_type"), normalise_id_number(args.get("id_number", ""))
        if subject_type not in SUBJECT_TYPES:
            raise Invalid("subject_type 须为 insured、physician 或 pharmacist。", errors={"subject_type": ["无效"]})
        if problem := id_number_problem(number):
            raise Invalid(problem, code="invalid_id_number", errors={"id_number": [problem]})
        # The trail is never rewritten: events written before a key rotation carry the lookup key of an
        # older HMAC key, so match the key under every configured one (adapters/pii.py).
        query = query.where(AuditEventRow.subject_type == subject_type,
                            AuditEventRow.id_number.in_(c.keys.lookup_keys(subject_type, number)))
    if args.get("from"):
        query = query.where(AuditEventRow.day >= _day(args["from"], c))
    if args.get("to"):
        query = query.where(AuditEventRow.day <= _day(args["to"], c))
    after = args.get("after", "0")
    if not after.isdigit():
        raise Invalid("after 应为整数。", errors={"after": ["应为整数。"]})
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
