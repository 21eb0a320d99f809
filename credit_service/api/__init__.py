"""The HTTP layer: flask-smorest blueprints, problem+json errors, the OpenAPI document."""
from __future__ import annotations

from flask import Flask
from flask_smorest import Api
from werkzeug.routing import UnicodeConverter

from credit_service.schemas.problems import PROBLEM, ProblemSchema

from ..adapters.status_index import StaleIndex, UnreadableRecord
from ..domain.errors import RuleRefusal
from ..services.errors import ServiceError
from . import (audit, claims, evaluation, health, lists, practitioners, procedure, records, reference, reports,
               status, violations, webhooks)
from .problems import (from_http_exception, from_rule_refusal, from_service_error, from_stale_index,
                       from_unexpected, from_unreadable_record)
from .request_body import StrictRequest


class CreditApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error):
        from flask import request
        from ..web.sessions import door_of
        if door_of(request.path) is not None:  # e.g. an unknown page under /console/: a page, not JSON
            from ..web.console import error_page
            return error_page(error)
        return from_http_exception(error)

    def _register_responses(self):
        """Document every error response as application/problem+json, which is what is sent."""
        from flask_smorest.spec import prepare_response
        import http
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "错误（problem+json）", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


class PathSegment(UnicodeConverter):
    """A path segment never holds U+0000: no identifier does, and no database could look one up."""

    def __init__(self, map, *args, **kwargs):
        super().__init__(map, *args, **kwargs)
        self.regex = self.regex.replace("[^/]", "[^/\\x00]")


def register_api(app: Flask) -> None:
    app.request_class = StrictRequest  # every JSON body is parsed in one place (request_body.py)
    app.url_map.converters["default"] = app.url_map.converters["string"] = PathSegment
    app.config.update(
        API_TITLE="credit-service 医保信用管理服务",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        API_SPEC_OPTIONS={
            "info": {"description": "山东省医保医（药）师和参保人员医保信用管理（鲁医保发〔2024〕25号）。错误均为 "
                                    "application/problem+json。"},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    )
    api = CreditApi(app, spec_kwargs={"extra_plugins": [reference.ErrorResponses()]})  # 401/403/422/429/503
    api.register_blueprint(violations.blp)
    api.register_blueprint(status.blp)
    api.register_blueprint(procedure.blp)
    api.register_blueprint(records.blp)
    api.register_blueprint(claims.blp)
    api.register_blueprint(practitioners.blp)
    api.register_blueprint(audit.blp)
    api.register_blueprint(webhooks.blp)
    api.register_blueprint(evaluation.blp)
    api.register_blueprint(reports.blp)
    api.register_blueprint(lists.blp)
    app.register_blueprint(health.blp)
    reference.register(app)  # /api/docs
    app.register_error_handler(ServiceError, from_service_error)
    app.register_error_handler(RuleRefusal, from_rule_refusal)
    app.register_error_handler(StaleIndex, from_stale_index)
    app.register_error_handler(UnreadableRecord, from_unreadable_record)
    app.register_error_handler(Exception, from_unexpected)
