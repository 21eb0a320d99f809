"""Fixtures of the web doors: an app on a clock that moves by minutes, staff accounts, a real OpenID
provider (oidc-provider-mock, a Flask app served on a local port in a thread)."""
from __future__ import annotations

import json
import threading
from base64 import urlsafe_b64decode, urlsafe_b64encode
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import werkzeug.serving

from credit_service import create_app
from credit_service.services import staff_accounts
from tests.web.support import PASSWORD, MovingClock


@pytest.fixture
def moving_clock() -> MovingClock:
    return MovingClock()


@pytest.fixture
def make_app(settings, moving_clock):
    """create_app with these setting overrides (the OIDC ones, cookie flags, …) on the moving clock."""
    made = []

    def build(**overrides):
        for name, value in overrides.items():
            setattr(settings, name, value)
        app = create_app(settings, clock=moving_clock)
        app.config["TESTING"] = True
        made.append(app)
        return app

    yield build
    for app in made:
        container = app.extensions["credit_service"]
        container.index.stop()
        container.engine.dispose()


@pytest.fixture
def web_app(make_app):
    return make_app()


@pytest.fixture
def web_client(web_app):
    return web_app.test_client()


@pytest.fixture
def staff(web_app):
    """Console accounts: li (staff, 370100), wang (admin); password PASSWORD."""
    c = web_app.extensions["credit_service"]
    made = {}
    for username, role, region, name in (("li", "staff", "370100", "李经办"), ("wang", "admin", None, "王管理")):
        made[username], _ = staff_accounts.create_user(c.uow(), c.clock, username, role, region, PASSWORD, name)
    return made


class ProviderTampering:
    """WSGI middleware in front of the mock provider: it can answer the token request as another
    issuer (a genuine, validly signed token from the wrong issuer), or alter the ID token's claims
    after signing (a tampered token)."""

    def __init__(self, app):
        self.app = app
        self.mode = None  # None | "wrong_issuer" | "tamper" | "metadata_issuer"
        self.other_host = "localhost:1"

    def __call__(self, environ, start_response):
        if self.mode == "metadata_issuer" and environ.get("PATH_INFO") == "/.well-known/openid-configuration":
            environ["HTTP_HOST"] = self.other_host  # the discovery document names another issuer
            return self.app(environ, start_response)
        if environ.get("PATH_INFO") != "/oauth2/token" or self.mode not in ("wrong_issuer", "tamper"):
            return self.app(environ, start_response)
        if self.mode == "wrong_issuer":
            environ["HTTP_HOST"] = self.other_host  # the provider names the issuer after the host asked
            return self.app(environ, start_response)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
        body = b"".join(self.app(environ, capture))
        token = json.loads(body)
        header, payload, signature = token["id_token"].split(".")
        claims = json.loads(urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["id_number"] = "370102199001011258"  # someone else
        token["id_token"] = ".".join([header, urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode(),
                                      signature])
        body = json.dumps(token).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], headers + [("Content-Length", str(len(body)))])
        return [body]


class Provider:
    def __init__(self, server, tampering: ProviderTampering):
        self.server = server
        self.tampering = tampering
        self.issuer = f"http://localhost:{server.server_port}"

    def set_user(self, sub: str, **claims) -> None:
        response = requests.put(f"{self.issuer}/users/{sub}", json=claims, timeout=5)
        assert response.status_code == 204

    def authorize(self, authorize_url: str, sub: str) -> str:
        """What the person does at the provider's login page; returns the callback URL it redirects to."""
        assert authorize_url.startswith(self.issuer)
        response = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=5)
        assert response.status_code == 302, response.text
        return response.headers["Location"]


@pytest.fixture(scope="session")
def oidc_provider():
    """A real OpenID provider on a free local port for the whole session (users are set per test)."""
    import oidc_provider_mock
    tampering = ProviderTampering(oidc_provider_mock.app())
    server = werkzeug.serving.make_server("localhost", 0, tampering, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield Provider(server, tampering)
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def provider(oidc_provider):
    oidc_provider.tampering.mode = None
    yield oidc_provider
    oidc_provider.tampering.mode = None


def callback_path(url: str) -> str:
    parts = urlsplit(url)
    assert parse_qs(parts.query).get("code"), url
    return f"{parts.path}?{parts.query}"
