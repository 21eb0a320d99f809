"""credit-service: 山东省医保医（药）师和参保人员医保信用管理服务."""
from __future__ import annotations

from flask import Flask

from typing import TYPE_CHECKING

from .settings import Settings

if TYPE_CHECKING:
    from .clock import Clock
    from .container import Container


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Flask:
    """The WSGI application (`credit-service serve` runs it; any WSGI server can: docs/operations.md)."""
    from .api import register_api
    from .container import build_container
    from .logging_setup import configure_logging
    from .web import register_web

    settings = settings or Settings.from_env()
    configure_logging()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024 * 1024
    app.json.ensure_ascii = False
    container = build_container(settings, clock)
    app.extensions["credit_service"] = container
    register_api(app)
    # Sessions only under /console/ and /me/ (server-side, web/sessions.py): the token API keeps none —
    # no cookie, no lookup, no signing serializer per request.
    register_web(app, container)
    if settings.warm_index:
        container.index.warm_in_background()
    if settings.fast_status:
        from .api.fast_status import FastStatusPath
        app.wsgi_app = FastStatusPath(app.wsgi_app, container)
    _wrap_operations(app, container)
    if settings.scheduler == "embedded":
        from credit_service.jobs.runner import start_embedded_scheduler
        start_embedded_scheduler(container)
    return app


def _wrap_operations(app: Flask, container: Container) -> None:
    """Request ids, rate limits, metrics and the access log, outside the fast path so that both the
    fast path and Flask are covered."""
    from flask import request

    from .api.operations import ENDPOINT_KEY, UNMATCHED, Operations
    from .rate_limit import Limit, RateLimiter, parse_overrides

    @app.before_request
    def _route_template():
        rule = request.url_rule
        request.environ[ENDPOINT_KEY] = rule.rule if rule is not None else UNMATCHED

    def route_of(environ) -> str:
        try:
            rule, _ = app.url_map.bind_to_environ(environ).match(return_rule=True)
            return rule.rule
        except Exception:
            return UNMATCHED

    settings = container.settings
    limiter = RateLimiter(Limit.parse(settings.rate_limit), parse_overrides(settings.rate_limit_overrides),
                          anonymous=Limit.parse(settings.rate_limit_anonymous))
    app.wsgi_app = Operations(app.wsgi_app, container, limiter, route_of)


def __getattr__(name: str):
    # Imported on first use: `credit-service serve` must set PROMETHEUS_MULTIPROC_DIR before anything
    # imports prometheus_client (it picks per-process or shared counters once, at import), and the
    # container's imports reach it.
    if name == "Container":
        from .container import Container
        return Container
    raise AttributeError(name)


__all__ = ["create_app", "Container", "Settings"]
