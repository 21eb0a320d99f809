"""Who is at the browser: the principal of a web request, the page guards, CSRF and the headers.

A page handler gets `g.principal`, the same `Principal` the token API builds from a bearer token
(services/clients.py), so the use cases and their access policy see one kind of caller whatever the
door; the audit trail names the console user or the person as the actor.
"""
from __future__ import annotations

import uuid
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for
from flask_wtf.csrf import CSRFProtect

from ..api.operations import REQUEST_ID_KEY
from ..services import access
from ..services.clients import Principal
from .sessions import CONSOLE, ME, WebSession, door_of

csrf = CSRFProtect()

# No inline script or style anywhere: everything comes from /static/.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                           "object-src 'none'")


def web_session() -> WebSession | None:
    return session if isinstance(session, WebSession) else None


def staff_principal() -> Principal | None:
    s = web_session()
    if s is None or s.door != CONSOLE or not s.signed_in or s.user is None:
        return None
    user = s.user
    return Principal(client_id=f"staff:{user.id}", name=user.username, role=user.role, region=user.region,
                     audit_name=f"console:{user.username}", request_id=_request_id())


def person_principal() -> Principal | None:
    s = web_session()
    if s is None or s.door != ME or not s.signed_in or not s.lookup_key:
        return None
    return Principal(client_id=access.PERSON, name="self-service", role=access.PERSON, subject_type=s.subject_type,
                     subject_lookup_key=s.lookup_key, audit_name=f"person:{s.lookup_key}"[:128],
                     request_id=_request_id())


def _request_id() -> str:
    return (request.environ.get(REQUEST_ID_KEY) or uuid.uuid4().hex)[:64]


def staff_page(view):
    """Signed-in console users only (others go to the login page); the audit actor is the user."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        principal = staff_principal()
        if principal is None:
            return redirect(url_for("console.login"), 303)
        g.principal = principal  # its actor: "console:<user>" (staff_principal)
        return view(*args, **kwargs)
    return wrapper


def person_page(view):
    """The signed-in person only; the audit actor is the person (named by their lookup key)."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        if not current_app.extensions["credit_service_web"].person_oidc:
            return redirect(url_for("selfservice.index"), 303)
        principal = person_principal()
        if principal is None:
            return redirect(url_for("selfservice.index"), 303)
        g.principal = principal  # its actor: "person:<lookup key>" (person_principal)
        return view(*args, **kwargs)
    return wrapper


def protect_forms() -> None:
    """before_request of both web blueprints: every state-changing request carries its CSRF token
    (a missing or wrong one is a 400 before the handler runs, so nothing is written)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def security_headers(response):
    """after_request of the app: only the web doors' pages (and their static files) get these."""
    path = request.path
    door = door_of(path)
    if door is None and not path.startswith("/static/"):
        return response
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers["X-Frame-Options"] = "DENY"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Content-Type-Options"] = "nosniff"
    if door is not None:
        # Pages show one person's record or a signed-in user's work: never kept by a browser or proxy,
        # so the back button after logout asks the server again (and gets the login page).
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response
