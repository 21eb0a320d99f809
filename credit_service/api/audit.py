"""GET /api/v1/audit: the hash-chained audit trail (admin; staff for their own region)."""
from __future__ import annotations

import re

import orjson
from flask import Response, current_app, g, request

from credit_service.schemas.audit import AuditPageSchema
from credit_service.schemas.fields import ID_NUMBER_SCHEMA, REGION_SCHEMA

from ..domain.identity import SUBJECT_TYPES, id_number_problem, normalise_id_number
from ..services.audit_query import MAX_SEQ, audit_events
from ..services.errors import Invalid
from ..services import access
from .auth import require
from .query_args import date_arg, region_arg
from .request_body import Blueprint

blp = Blueprint("audit", __name__, url_prefix="/api/v1", description="审计记录（哈希链）")
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
    region = access.region_for(g.principal, access.AUDIT_READ, region_arg(args))  # 403 before any 422
    subject_type = args.get("subject_type")
    if subject_type is not None and subject_type not in SUBJECT_TYPES:
        raise Invalid("subject_type 须为 insured、physician 或 pharmacist。", errors={"subject_type": ["无效"]})
    number = None
    if "id_number" in args:
        number = normalise_id_number(args["id_number"])
        if problem := id_number_problem(number):
            raise Invalid(problem, code="invalid_id_number", errors={"id_number": [problem]})
    since, until = date_arg(args, "from", c), date_arg(args, "to", c)
    after = args.get("after", "0")
    if not _SEQ.fullmatch(after) or int(after) > MAX_SEQ:  # seq is a 64-bit column
        raise Invalid(f"after 应为0至{MAX_SEQ}之间的整数（上一页的 next_after）。",
                      errors={"after": ["应为非负整数。"]})
    page = audit_events(c.uow(), g.principal, region=region, subject_type=subject_type, id_number=number,
                        since=since, until=until, after=int(after))
    return Response(orjson.dumps(page), mimetype="application/json")
