"""GET /api/v1/reports/monthly: the month's statistics as JSON, CSV or XLSX (Accept, or ?format=)."""
from __future__ import annotations

from flask import Response, current_app, g, request
from flask_smorest import Blueprint

from credit_service.schemas.fields import REGION_SCHEMA
from credit_service.schemas.problems import PROBLEM, ProblemSchema
from credit_service.schemas.reports import MonthlyReportSchema

from ..services import access
from ..services.errors import Invalid, ServiceError
from ..services.reports import FORMATS, month_asked, monthly_report, region_asked
from .auth import require

REGION_OR_ALL = {"anyOf": [REGION_SCHEMA, {"type": "string", "enum": ["all"]}]}

blp = Blueprint("reports", __name__, url_prefix="/api/v1",
                description="月度统计报表（济医保字〔2020〕1号：每月累加统计，次月3日前报送）")


class NotAcceptable(ServiceError):
    status, code, title = 406, "not_acceptable", "无法提供所要求的格式"


@blp.route("/reports/monthly", methods=["GET"])
@require(access.REPORT_READ)
@blp.doc(parameters=[
    {"in": "query", "name": "month", "required": False, "schema": {"type": "string", "pattern": r"^(199[0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$"},
     "description": "YYYY-MM，缺省为上月"},
    {"in": "query", "name": "region", "required": False, "schema": REGION_OR_ALL,
     "description": "统筹区；经办人员缺省且只能为本统筹区；管理员缺省或 all 为全省合计"},
    {"in": "query", "name": "format", "required": False, "schema": {"type": "string", "enum": list(FORMATS)},
     "description": "可代替 Accept：json、csv、xlsx"}],
    responses={"200": {"description": "报表", "content": {
        "application/json": {"schema": MonthlyReportSchema}, "text/csv": {"schema": {"type": "string"}},
        FORMATS["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}})
@blp.alt_response(406, schema=ProblemSchema, content_type=PROBLEM, description="not_acceptable")
@blp.alt_response(422, schema=ProblemSchema, content_type=PROBLEM, description="validation_failed / month_in_future")
def monthly():
    """某统筹区某月的统计：本月、更正调整、本年累计（及上年）；每月1日冻结上月报表，冻结后不再改变。"""
    c = current_app.extensions["credit_service"]
    month = month_asked(request.args.get("month"), c.clock.today())
    region = region_asked(request.args.get("region"))
    report = monthly_report(c.uow(), g.principal, region, month, _format(), rules=c.rules, clock=c.clock)
    response = Response(report.content, mimetype=report.media_type.split(";")[0])
    if report.media_type.startswith("text/"):
        response.headers["Content-Type"] = report.media_type
    if not report.media_type.startswith("application/json"):
        response.headers["Content-Disposition"] = f'attachment; filename="{report.filename}"'
    response.headers["X-Report-Frozen"] = "true" if report.frozen else "false"
    return response


def _format() -> str:
    asked = request.args.get("format")
    if asked is not None:
        if asked not in FORMATS:
            raise Invalid("format 须为 json、csv 或 xlsx。", errors={"format": ["json/csv/xlsx"]})
        return asked
    return negotiate(FORMATS)


def negotiate(formats: dict[str, str]) -> str:
    """The format the Accept header prefers (none given: JSON); 406 if it accepts none of them."""
    if not request.headers.get("Accept"):
        return "json"
    by_type = {media.split(";")[0]: name for name, media in formats.items()}
    best = request.accept_mimetypes.best_match(list(by_type))
    if best is None:
        raise NotAcceptable("可提供的格式：" + "、".join(by_type) + "。")
    return by_type[best]
