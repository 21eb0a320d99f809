"""The API reference: which problem codes each operation answers, and the browsable page at /api/docs.

`OPERATIONS` is the one table of the error answers integrators must handle besides an operation's own
(401, 403, 422, 429, 503). `ErrorResponses` writes it into the OpenAPI document as each operation is
added: the response's description names the codes, `x-problem-codes` lists them for programs. What each
code means: docs/errors.md (a test checks that every code here is there, with the same status).

The page is Swagger UI from the `swagger-ui-bundle` package, served by the app itself: intranets
have no CDN, and the page's Content-Security-Policy lets it load nothing from elsewhere.
"""
from __future__ import annotations

from apispec import BasePlugin
from flask import Blueprint, Flask, abort, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from credit_service.schemas.problems import PROBLEM

AUTHENTICATION = ("unauthorized", "invalid_token", "token_expired")
EVERY_OPERATION: dict[int, tuple[str, ...]] = {
    401: AUTHENTICATION,
    403: ("role_not_allowed",),
    429: ("rate_limited",),
    503: ("database_unavailable",),
}
OWN_SUBJECT = ("not_own_subject",)  # a person about anyone but themself
OWN_REGION = ("region_not_allowed",)  # staff outside their pooling region
CASE_FILE = OWN_SUBJECT + OWN_REGION
FIELDS = ("validation_failed",)
SUBJECT_FIELDS = FIELDS + ("invalid_id_number", "date_out_of_range")
STATUS = ("status_index_stale",)  # answered from this process's status index

# (method, path) → the codes beyond EVERY_OPERATION, by status. Every operation of the document is here.
OPERATIONS: dict[tuple[str, str], dict[int, tuple[str, ...]]] = {
    ("post", "/api/v1/violations"): {
        403: OWN_REGION + ("override_not_allowed",),
        422: SUBJECT_FIELDS + ("determined_in_future", "months_out_of_range", "points_out_of_band",
                               "unknown_category", "category_not_applicable")},
    ("post", "/api/v1/violations/import"): {422: ("too_many_rows", "malformed_import")},
    ("get", "/api/v1/subjects/{subject_type}/{id_number}/status"): {
        403: OWN_SUBJECT, 422: SUBJECT_FIELDS, 503: STATUS},
    ("post", "/api/v1/status/query"): {403: OWN_SUBJECT, 422: SUBJECT_FIELDS, 503: STATUS},
    ("post", "/api/v1/status/batch"): {422: SUBJECT_FIELDS + ("too_many_subjects",), 503: STATUS},
    ("post", "/api/v1/claims/check"): {422: SUBJECT_FIELDS, 503: STATUS},
    ("get", "/api/v1/subjects/{subject_type}/{id_number}/record"): {
        403: OWN_SUBJECT, 422: SUBJECT_FIELDS, 503: STATUS},
    ("post", "/api/v1/records/query"): {403: OWN_SUBJECT, 422: SUBJECT_FIELDS, 503: STATUS},
    ("get", "/api/v1/subjects/{subject_type}/{id_number}/evaluation"): {
        403: OWN_SUBJECT, 422: SUBJECT_FIELDS, 503: STATUS},
    ("post", "/api/v1/evaluation/query"): {403: OWN_SUBJECT, 422: SUBJECT_FIELDS, 503: STATUS},
    ("get", "/api/v1/worklist"): {403: OWN_REGION, 422: FIELDS},
    ("post", "/api/v1/measures/{measure_id}/notice"): {
        403: OWN_REGION, 422: FIELDS + ("date_out_of_range", "received_before_served", "received_in_future")},
    ("get", "/api/v1/measures/{measure_id}/notice"): {403: CASE_FILE},
    ("post", "/api/v1/objections"): {
        403: CASE_FILE,
        422: FIELDS + ("date_out_of_range", "objection_window_closed", "filed_on_not_today", "filed_in_future")},
    ("get", "/api/v1/objections/{objection_id}"): {403: CASE_FILE},
    ("post", "/api/v1/objections/{objection_id}/evidence-complete"): {
        403: OWN_REGION, 422: FIELDS + ("date_out_of_range", "evidence_date_out_of_range")},
    ("post", "/api/v1/objections/{objection_id}/decision"): {
        403: OWN_REGION,
        422: FIELDS + ("date_out_of_range", "decided_before_filed", "decided_in_future", "fund_loss_required",
                       "fund_loss_not_allowed", "modification_worsens")},
    ("post", "/api/v1/repairs"): {
        403: CASE_FILE,
        422: SUBJECT_FIELDS + ("filed_on_not_today", "filed_in_future", "measure_not_of_subject")},
    ("get", "/api/v1/repairs/{repair_id}"): {403: CASE_FILE},
    ("post", "/api/v1/repairs/{repair_id}/decision"): {
        403: OWN_REGION,
        422: FIELDS + ("date_out_of_range", "repair_conditions_incomplete", "decided_before_filed",
                       "decided_in_future")},
    # Evidence files (issue 12): multipart uploads to an open objection or repair, their list, one file.
    ("post", "/api/v1/objections/{objection_id}/evidence"): {
        403: CASE_FILE, 413: ("evidence_too_large",), 415: ("unsupported_media_type",),
        422: FIELDS + ("evidence_type_not_allowed", "too_many_evidence_files")},
    ("get", "/api/v1/objections/{objection_id}/evidence"): {403: CASE_FILE},
    ("post", "/api/v1/repairs/{repair_id}/evidence"): {
        403: CASE_FILE, 413: ("evidence_too_large",), 415: ("unsupported_media_type",),
        422: FIELDS + ("evidence_type_not_allowed", "too_many_evidence_files")},
    ("get", "/api/v1/repairs/{repair_id}/evidence"): {403: CASE_FILE},
    ("get", "/api/v1/evidence/{file_id}"): {403: CASE_FILE},
    ("post", "/api/v1/subjects/{subject_type}/{id_number}/expert-recommendations"): {
        403: OWN_REGION, 422: FIELDS + ("invalid_id_number", "year_in_future")},
    ("get", "/api/v1/subjects/{subject_type}/{id_number}/expert-recommendations"): {422: SUBJECT_FIELDS},
    ("post", "/api/v1/expert-recommendations/query"): {422: SUBJECT_FIELDS},
    ("post", "/api/v1/expert-recommendations/{recommendation_id}/withdrawal"): {403: OWN_REGION, 422: FIELDS},
    ("post", "/api/v1/measures/{measure_id}/reregistration"): {
        403: OWN_REGION,
        422: FIELDS + ("date_out_of_range", "reregistration_barred", "reregistration_not_applicable",
                       "registered_in_future")},
    ("get", "/api/v1/audit"): {403: OWN_REGION, 422: FIELDS + ("invalid_id_number",)},
    ("post", "/api/v1/webhooks"): {422: FIELDS + ("webhook_target_not_allowed",)},
    ("get", "/api/v1/webhooks"): {},
    ("delete", "/api/v1/webhooks/{webhook_id}"): {},
    ("post", "/api/v1/webhooks/{webhook_id}/redeliver"): {},
    ("post", "/api/v1/webhooks/{webhook_id}/subject-keys"): {422: FIELDS + ("invalid_id_number",)},
    ("get", "/api/v1/reports/monthly"): {403: OWN_REGION, 422: FIELDS + ("month_in_future",)},
    ("get", "/api/v1/lists/joint-punishment"): {403: OWN_REGION, 422: FIELDS},
}

TITLES = {401: "未认证", 403: "无权访问", 413: "请求过大", 415: "不支持的内容类型", 422: "请求内容不符合要求", 429: "请求过于频繁",
          503: "服务暂不可用"}
PROBLEM_SCHEMA = {"$ref": "#/components/schemas/Problem"}  # schemas/problems.py, as flask-smorest names it


def codes_of(method: str, path: str) -> dict[int, tuple[str, ...]]:
    """Every error code of one operation by status, EVERY_OPERATION included; KeyError if not in the table."""
    own = OPERATIONS[(method, path)]
    return {status: EVERY_OPERATION.get(status, ()) + own.get(status, ())
            for status in sorted(set(EVERY_OPERATION) | set(own))}


class ErrorResponses(BasePlugin):
    """apispec plugin: names each operation's 401/403/422/429/503 and their codes (OPERATIONS)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        for method, operation in (operations or {}).items():
            if (method, path) not in OPERATIONS:
                continue  # not an /api/v1 operation; tests/api/test_api_reference.py keeps the table whole
            responses = {str(k): v for k, v in operation.get("responses", {}).items()}
            for status, codes in codes_of(method, path).items():
                responses[str(status)] = _with_codes(responses.get(str(status)), status, codes)
            operation["responses"] = dict(sorted(responses.items(), key=lambda kv: (kv[0] == "default", kv[0])))


def _with_codes(response, status: int, codes: tuple[str, ...]) -> dict:
    """The operation's own response (its description kept), or a new one; naming every code."""
    if not isinstance(response, dict) or "$ref" in response:  # flask-smorest's shared "Unprocessable Entity"
        response = {}
    description = response.get("description") or TITLES[status]
    missing = [c for c in codes if c not in description]
    if missing:
        lead = "：" if description == TITLES[status] else (" / " if len(missing) < len(codes) else "；")
        description += lead + " / ".join(missing)
    return {**response, "description": description,
            "content": response.get("content") or {PROBLEM: {"schema": PROBLEM_SCHEMA}},
            "x-problem-codes": list(dict.fromkeys(codes))}


# The page: Swagger UI's own files, from the package, and a start-up script of ours (no inline script).
ASSETS = ("swagger-ui.css", "swagger-ui-bundle.js", "favicon-32x32.png", "favicon-16x16.png")
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
               "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

blp = Blueprint("api_reference", __name__, url_prefix="/api/docs")


@blp.route("", methods=["GET"])
def page():
    response = render_template("api_docs.html")
    return response, 200, {"Content-Security-Policy": PAGE_POLICY, "Cache-Control": "no-cache"}


@blp.route("/assets/<name>", methods=["GET"])
def asset(name: str):
    if name not in ASSETS:
        abort(404)
    return send_from_directory(str(swagger_ui_path), name, max_age=86400)


def register(app: Flask) -> None:
    """The page and its files; the plugin is given to the Api's spec (api/__init__.py)."""
    app.register_blueprint(blp)
