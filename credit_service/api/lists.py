"""GET /api/v1/lists/joint-punishment: the joint-punishment list for the public credit platform."""
from __future__ import annotations

import orjson
from flask import Response, current_app, g, request
from flask_smorest import Blueprint

from credit_service.schemas.lists import JointListSchema
from credit_service.schemas.fields import REGION_SCHEMA
from credit_service.schemas.problems import PROBLEM, ProblemSchema

from ..domain.identity import region_problem
from ..services import access
from ..services.errors import Invalid
from ..services.joint_list import as_csv, as_dict, joint_punishment_list
from .auth import require
from .reports import negotiate
from .status import _day

blp = Blueprint("lists", __name__, url_prefix="/api/v1",
                description="失信联合惩戒对象名单（第八条第四项、第九条第五项）")
FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8"}


@blp.route("/lists/joint-punishment", methods=["GET"])
@require(access.JOINT_LIST_READ)
@blp.doc(parameters=[
    {"in": "query", "name": "since", "required": False, "schema": {"type": "string", "format": "date"},
     "description": "给出时：该日以来的新增（additions）与移出（removals）；缺省：今日名单（listed）"},
    {"in": "query", "name": "region", "required": False, "schema": REGION_SCHEMA,
     "description": "统筹区；经办人员缺省且只能为本统筹区"},
    {"in": "query", "name": "format", "required": False, "schema": {"type": "string", "enum": list(FORMATS)},
     "description": "可代替 Accept：json、csv"}],
    responses={"200": {"description": "名单", "content": {"application/json": {"schema": JointListSchema},
                                                          "text/csv": {"schema": {"type": "string"}}}}})
@blp.alt_response(406, schema=ProblemSchema, content_type=PROBLEM, description="not_acceptable")
def joint_punishment():
    """谁被纳入名单、自何时、依据哪一条；管理员可见完整身份证号与姓名，经办人员仅本统筹区且脱敏。"""
    c = current_app.extensions["credit_service"]
    try:
        since = _day(request.args["since"], c) if "since" in request.args else None
    except Invalid:
        raise Invalid("since 应为 YYYY-MM-DD。", errors={"since": ["日期格式应为YYYY-MM-DD。"]}) from None
    fmt = request.args.get("format")
    if fmt is not None and fmt not in FORMATS:
        raise Invalid("format 须为 json 或 csv。", errors={"format": ["json/csv"]})
    fmt = fmt or negotiate(FORMATS)
    region = request.args.get("region")
    if region is not None and (problem := region_problem(region)):
        raise Invalid(problem, errors={"region": [problem]})
    result = joint_punishment_list(c.uow(), g.principal, since, region, rules=c.rules, clock=c.clock)
    if fmt == "csv":
        response = Response(as_csv(result), mimetype="text/csv")
        response.headers["Content-Type"] = FORMATS["csv"]
        response.headers["Content-Disposition"] = f'attachment; filename="joint-punishment-{result.as_of}.csv"'
        return response
    return Response(orjson.dumps(as_dict(result)), mimetype="application/json")
