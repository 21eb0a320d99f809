"""The two web doors onto the service's use cases: the staff console (/console/) and the self-service
pages (/me/). They share the server-side sessions, CSRF protection, the page layout and the letters
(credit_service/documents/). The token API is untouched: no session, no cookie, no CSRF check."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask

from ..documents import DocumentSettings, load_document_settings
from .auth import csrf, security_headers
from .oidc import OidcClient, build_clients, parse_role_map
from .sessions import SessionStore, WebSessions


@dataclass
class WebDoors:
    """app.extensions["credit_service_web"]."""

    container: object
    sessions: SessionStore
    documents: DocumentSettings
    person_oidc: OidcClient | None
    staff_oidc: OidcClient | None
    staff_role_map: dict[str, str]


def register_web(app: Flask, container) -> None:
    from . import casework, console, console_evidence, selfservice  # noqa: F401 (casework, console_evidence add pages to console.bp)

    settings = container.settings
    store = SessionStore(container.session_factory, container.clock,
                         idle=timedelta(minutes=settings.web_idle_minutes),
                         absolute=timedelta(hours=settings.web_absolute_hours))
    app.session_interface = WebSessions(store, settings.web_cookie_secure)
    # CSRF is checked by the web blueprints themselves (auth.protect_forms), never on the token API.
    app.config.update(WTF_CSRF_CHECK_DEFAULT=False, WTF_CSRF_TIME_LIMIT=None)
    csrf.init_app(app)
    person, staff = build_clients(app, settings)
    app.extensions["credit_service_web"] = WebDoors(
        container=container, sessions=store, documents=load_document_settings(settings.config_dir),
        person_oidc=person, staff_oidc=staff, staff_role_map=parse_role_map(settings.staff_oidc_role_map))
    app.register_blueprint(console.bp)
    app.register_blueprint(selfservice.bp)
    app.after_request(security_headers)
