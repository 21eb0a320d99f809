"""Issue 9, findings 8 (unbounded metric labels), 11 (token floods reach the database) and 13 (nosniff,
a Content-Security-Policy on the HTML notice, Allow on 405)."""
from __future__ import annotations

import base64
import hashlib
import logging
import re
import secrets
import time
from dataclasses import replace

import pytest
from sqlalchemy import event

from credit_service import create_app
from credit_service.services.clients import revoke_client
from tests.factories import id_number, violation

STATUS_ROUTE = "/api/v1/subjects/<subject_type>/<id_number>/status"


def test_finding_8_three_thousand_random_methods_do_not_grow_metrics(default_limits_app):
    client = default_limits_app.test_client()
    url = f"/api/v1/subjects/insured/{id_number()}/status"

    def random_methods(n):  # anonymous: 405, or 429 once the unknown callers' bucket is empty
        for _ in range(n):
            assert client.open(url, method="X" + secrets.token_hex(6).upper()).status_code in (405, 429)

    random_methods(100)  # both answers have been given: every series there will be exists now
    client.get("/metrics")  # and the scrape's own
    before = client.get("/metrics").get_data(as_text=True)
    random_methods(2900)
    after = client.get("/metrics").get_data(as_text=True)
    assert len(after) - len(before) < 200  # only counts grew (was: 69 KB → 6.9 MB)
    methods = set(re.findall(r'method="([^"]*)"', after))
    assert methods <= {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"}
    counted = re.findall(r'credit_service_http_requests_total\{endpoint="[^"]*",method="OTHER",status="4(?:05|29)"\} '
                         r'([0-9.]+)', after)
    assert sum(float(c) for c in counted) == 3000


def test_finding_8_an_identity_number_sent_as_the_method_reaches_neither_metrics_nor_logs(client, caplog):
    number = id_number()
    with caplog.at_level(logging.DEBUG):
        response = client.open(f"/api/v1/subjects/insured/{id_number()}/status", method=number)
    assert response.status_code == 405
    assert number not in client.get("/metrics").get_data(as_text=True)
    [access] = [r for r in caplog.records if r.name == "credit_service.access" and r.status == 405]
    assert access.method == "OTHER"
    assert number not in caplog.text and all(number not in str(vars(r)) for r in caplog.records)


def test_finding_8_status_labels_are_known_codes():
    from credit_service.api.operations import method_label, status_label
    assert [status_label(s) for s in ("200", "429", "599", "999", "abc", "")] == ["200", "429", "5xx", "other",
                                                                                 "other", "other"]
    assert [method_label(m) for m in ("GET", "get", "PROPFIND", "370102199001011231")] == [
        "GET", "OTHER", "OTHER", "OTHER"]


class _Transactions:
    def __init__(self, engine):
        self.count = 0
        self.engine = engine
        event.listen(engine, "begin", self._begin)

    def _begin(self, connection):
        self.count += 1

    def close(self):
        event.remove(self.engine, "begin", self._begin)


@pytest.fixture
def default_limits_app(settings, clock):
    """The shipped rate limits (settings' defaults), not the test suite's."""
    app = create_app(replace(settings, rate_limit="500/1000", rate_limit_anonymous="20/40"), clock=clock)
    yield app
    app.extensions["credit_service"].index.stop()
    app.extensions["credit_service"].engine.dispose()


@pytest.mark.parametrize("route", ["fast status", "flask"])
def test_finding_11_a_thousand_random_tokens_cause_a_bounded_number_of_transactions(default_limits_app, route):
    client = default_limits_app.test_client()
    container = default_limits_app.extensions["credit_service"]
    container.index.ensure_ready()
    transactions = _Transactions(container.engine)
    codes = []
    started = time.monotonic()
    try:
        for _ in range(1000):
            headers = {"Authorization": f"Bearer {secrets.token_urlsafe(32)}"}
            if route == "flask":
                codes.append(client.post("/api/v1/violations", json=violation(), headers=headers).status_code)
            else:
                codes.append(client.get(f"/api/v1/subjects/insured/{id_number()}/status", headers=headers).status_code)
    finally:
        transactions.close()
    bound = 40 + 20 * (time.monotonic() - started) + 1  # the unknown callers' burst, and their rate since
    assert set(codes) == {401, 429} and codes.count(401) <= bound
    assert transactions.count <= bound, transactions.count  # was about 2 per request: ~2,000


def test_finding_11_a_repeated_bad_token_is_looked_up_once(client, container):
    container.index.ensure_ready()
    transactions = _Transactions(container.engine)
    try:
        codes = [client.get(f"/api/v1/subjects/insured/{id_number()}/status",
                            headers={"Authorization": "Bearer not-a-token"}).status_code for _ in range(30)]
    finally:
        transactions.close()
    assert set(codes) == {401} and transactions.count == 1


def test_finding_11_a_valid_token_is_not_charged_to_the_unknown_callers(settings, clock, tokens, auth):
    """Its first request is charged to its address's unknown-callers bucket, then given back."""
    app = create_app(replace(settings, rate_limit="off", rate_limit_anonymous="0.01/2"), clock=clock)
    try:
        client = app.test_client()
        url = f"/api/v1/subjects/insured/{id_number()}/status"
        for name in ("settlement", "staff-jinan", "admin", "reporter"):  # four first sightings
            assert client.get(url, headers=auth(name)).status_code in (200, 403)
        assert [client.get(url).status_code for _ in range(3)] == [401, 401, 429]
    finally:
        app.extensions["credit_service"].index.stop()
        app.extensions["credit_service"].engine.dispose()


def test_finding_11_a_revoked_token_is_refused_and_then_remembered_as_a_miss(client, container, tokens, auth):
    container.index.ensure_ready()
    url = f"/api/v1/subjects/insured/{id_number()}/status"
    assert client.get(url, headers=auth("settlement")).status_code == 200
    revoke_client(container.uow(), container.clock, "settlement")
    container.index.poll_once()  # what the poller does every 0.5 s
    transactions = _Transactions(container.engine)
    try:
        assert [client.get(url, headers=auth("settlement")).status_code for _ in range(5)] == [401] * 5
    finally:
        transactions.close()
    assert transactions.count == 1


def test_finding_11_remembered_misses_are_bounded_and_expire(container):
    from credit_service.services.clients import TokenCache
    now = [1000.0]
    cache = TokenCache(container.uow, now=lambda: now[0])
    cache.MAX_MISSES = 50
    for i in range(120):
        assert cache.principal_for(f"made-up-{i}") is None
        assert len(cache._missing) <= 50
    assert cache.cached("made-up-119") == (True, None)
    now[0] += cache.MISS_SECONDS + 0.1
    assert cache.cached("made-up-119") == (False, None)


# ------------------------------------------------------------------ finding 13: headers
def test_finding_13_every_response_says_nosniff(client, app, auth, tokens):
    number = id_number()
    responses = [
        client.get(f"/api/v1/subjects/insured/{number}/status", headers=auth("settlement")),  # fast path
        client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-02-30", headers=auth("settlement")),  # 422
        client.get(f"/api/v1/subjects/insured/{number}/status"),  # 401
        client.post("/api/v1/status/batch", headers=auth("settlement"), json={"subjects": []}),
        client.get("/api/v1/nowhere"), client.delete("/api/v1/violations", headers=auth()),
        client.get("/healthz"), client.get("/metrics"), client.get("/api/openapi.json"),
    ]
    for response in responses:
        assert response.headers.get("X-Content-Type-Options") == "nosniff", response.request.path


def test_finding_13_a_rate_limited_answer_says_nosniff_too(settings, clock, auth, tokens):
    app = create_app(replace(settings, rate_limit="0.01/1"), clock=clock)
    try:
        client = app.test_client()
        url = f"/api/v1/subjects/insured/{id_number()}/status"
        answers = [client.get(url, headers=auth("settlement")) for _ in range(3)]
        assert answers[-1].status_code == 429 and answers[-1].headers["X-Content-Type-Options"] == "nosniff"
    finally:
        app.extensions["credit_service"].index.stop()
        app.extensions["credit_service"].engine.dispose()


def test_finding_13_the_html_notice_has_a_policy_allowing_only_its_own_stylesheet(client, auth):
    created = client.post("/api/v1/violations", headers=auth(), json=violation(
        occurred_on="2026-09-01", determined_on="2026-10-09"))
    measure = created.json["measures"][0]["id"]
    response = client.get(f"/api/v1/measures/{measure}/notice", headers=auth("staff-jinan"))
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    policy = dict(part.strip().split(" ", 1) for part in response.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'none'" and policy["base-uri"] == "'none'"
    assert policy["frame-ancestors"] == "'none'" and policy["form-action"] == "'none'"
    assert "script-src" not in policy and "<script" not in html.lower()
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert not re.search(r"\sstyle=", html)  # no inline style attribute (a hash does not cover those)
    [style] = re.findall(r"<style>(.*?)</style>", html, re.S)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    assert policy["style-src"] == f"'sha256-{digest}'"  # the browser applies exactly this stylesheet
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("method,path,allowed", [
    ("DELETE", "/api/v1/violations", {"POST", "OPTIONS"}),
    ("POST", "/api/v1/subjects/insured/370102199001011231/status", {"GET", "HEAD", "OPTIONS"}),
    ("PUT", "/api/v1/measures/abc/notice", {"GET", "HEAD", "POST", "OPTIONS"}),
    ("PATCH", "/healthz", {"GET", "HEAD", "OPTIONS"}),
])
def test_finding_13_a_405_names_the_allowed_methods(client, auth, method, path, allowed):
    response = client.open(path, method=method, headers=auth())
    assert response.status_code == 405
    assert response.mimetype == "application/problem+json" and response.json["code"] == "method_not_allowed"
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allowed
