"""Request ids, access log, metrics, readiness and rate limits — on the fast path and through Flask."""
from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from datetime import date

import pytest

from credit_service import create_app
from credit_service.logging_setup import JsonFormatter, RequestIdFilter
from tests.factories import id_number, violation

STATUS_ROUTE = "/api/v1/subjects/<subject_type>/<id_number>/status"


def _fast_answered(app):
    """Make the Flask status views fail, so a 200 proves the fast path answered."""
    def broken(*args, **kwargs):
        raise AssertionError("the Flask view should not be reached")
    app.view_functions["status.subject_status"] = broken
    app.view_functions["status.batch_status"] = broken


def _access_records(caplog):
    return [r for r in caplog.records if r.name == "credit_service.access"]


@pytest.mark.parametrize("path", ["fast", "flask"])
def test_request_id_is_echoed_and_logged_with_the_route_template(client, app, auth, caplog, path):
    number = id_number()
    if path == "fast":
        _fast_answered(app)
        url = f"/api/v1/subjects/insured/{number}/status?on=2025-05-01"
    else:  # a bad date: the fast path hands it to Flask, which answers 422
        url = f"/api/v1/subjects/insured/{number}/status?on=2025-02-30"
    with caplog.at_level(logging.INFO):
        response = client.get(url, headers={**auth("settlement"), "X-Request-Id": "req-abc.123"})
    assert response.status_code == (200 if path == "fast" else 422)
    assert response.headers["X-Request-Id"] == "req-abc.123"
    [record] = _access_records(caplog)
    assert (record.request_id, record.endpoint, record.status, record.client) == (
        "req-abc.123", STATUS_ROUTE, response.status_code, "settlement")
    line = JsonFormatter().format(record)
    assert number not in line and json.loads(line)["request_id"] == "req-abc.123"


def test_a_request_id_is_made_when_missing_or_unsafe(client, auth):
    made = client.get("/healthz").headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", made)
    assert client.get("/healthz").headers["X-Request-Id"] != made
    for unsafe in ("has space", "x" * 200, f"id-{id_number()}", "中文"):
        echoed = client.get("/healthz", headers={"X-Request-Id": unsafe}).headers["X-Request-Id"]
        assert echoed != unsafe and re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]+", echoed)


def test_batch_on_the_fast_path_is_logged_with_its_request_id(client, app, auth, caplog):
    _fast_answered(app)
    with caplog.at_level(logging.INFO):
        response = client.post("/api/v1/status/batch", headers={**auth("settlement"), "X-Request-Id": "b-1"},
                               json={"on": "2025-05-01", "subjects": [{"subject_type": "insured",
                                                                        "id_number": id_number()}]})
    assert response.status_code == 200 and response.headers["X-Request-Id"] == "b-1"
    [record] = _access_records(caplog)
    assert (record.endpoint, record.request_id, record.status) == ("/api/v1/status/batch", "b-1", 200)


def test_log_lines_written_during_a_request_carry_its_id(client, auth, caplog):
    rows = [violation() for _ in range(2)]
    with caplog.at_level(logging.INFO):
        response = client.post("/api/v1/violations/import", json=rows, headers={**auth(), "X-Request-Id": "imp-7"})
    assert response.status_code == 200
    import_lines = [r for r in caplog.records if r.name == "credit_service.api.violations"]
    assert import_lines and all(r.request_id == "imp-7" for r in import_lines)


def test_json_formatter_writes_one_object_per_line_with_extras():
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "hello %s", ("世界",), None)
    record.endpoint = "/e"
    RequestIdFilter().filter(record)
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello 世界" and entry["level"] == "WARNING" and entry["endpoint"] == "/e"


def _sample(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line[len(name):line.index("}") + 1]))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_both_paths_by_route_template_never_by_raw_path(client, app, auth):
    number = id_number()
    before = client.get("/metrics").get_data(as_text=True)
    ok = f"/api/v1/subjects/insured/{number}/status?on=2025-05-01"
    assert client.get(ok, headers=auth("settlement")).status_code == 200          # fast path
    assert client.get(ok).status_code == 401                                       # Flask
    assert client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "subjects": [{"subject_type": "insured", "id_number": number}]}).status_code == 200
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = response.get_data(as_text=True)
    name = "credit_service_http_requests_total"
    for labels, delta in [({"endpoint": STATUS_ROUTE, "status": "200"}, 1),
                          ({"endpoint": STATUS_ROUTE, "status": "401"}, 1),
                          ({"endpoint": "/api/v1/status/batch", "status": "200"}, 1)]:
        assert _sample(after, name, **labels) - _sample(before, name, **labels) == delta, labels
    assert _sample(after, "credit_service_http_request_duration_seconds_count", endpoint=STATUS_ROUTE) >= 2
    assert number not in after and "credit_service_status_index_loaded" in after


def test_readiness_needs_the_database_and_the_loaded_index(client, container):
    response = client.get("/readyz")
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.json["code"] == "not_ready" and response.json["checks"]["status_index"] == "loading"
    container.index.ensure_ready()
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json == {
        "status": "ready", "checks": {"database": "ok", "status_index": "ok"}}


@pytest.fixture
def limited(settings, clock):
    """An app that allows 3 requests at once and one more each 100 s (no refill during the test, however
    slow the machine), except for the reporter (unlimited)."""
    app = create_app(replace(settings, rate_limit="0.01/3", rate_limit_overrides="reporter=off"), clock=clock)
    yield app
    app.extensions["credit_service"].index.stop()
    app.extensions["credit_service"].engine.dispose()


def _assert_rate_limited(response):
    assert response.status_code == 429
    assert response.mimetype == "application/problem+json"
    body = response.json
    assert body["code"] == "rate_limited" and body["status"] == 429
    assert re.search(r"[\u4e00-\u9fff]", body["detail"]) and "每秒最多0.01次" in body["detail"]
    assert int(response.headers["Retry-After"]) >= 1


def test_rate_limit_answers_429_on_the_fast_path_and_per_client(limited, auth, tokens):
    client = limited.test_client()
    _fast_answered(limited)
    url = f"/api/v1/subjects/insured/{id_number()}/status"
    answers = [client.get(url, headers=auth("settlement")) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    _assert_rate_limited(answers[3])
    assert answers[3].headers["X-Request-Id"]
    batch = client.post("/api/v1/status/batch", headers=auth("settlement"), json={"subjects": []})
    _assert_rate_limited(batch)
    # Another client has its own bucket; the reporter is exempted by name; probes are never limited.
    assert client.get(url, headers=auth("staff-jinan")).status_code == 200
    assert all(client.post("/api/v1/violations", json=violation(), headers=auth("reporter")).status_code == 201
               for _ in range(5))
    assert all(client.get("/healthz").status_code == 200 for _ in range(5))
    metrics = client.get("/metrics").get_data(as_text=True)
    assert _sample(metrics, "credit_service_rate_limited_total", endpoint=STATUS_ROUTE) >= 1
    assert _sample(metrics, "credit_service_rate_limited_total", endpoint="/api/v1/status/batch") >= 1


def test_rate_limit_answers_429_through_flask_and_for_unknown_tokens(limited, auth):
    client = limited.test_client()
    answers = [client.post("/api/v1/violations", json=violation(), headers=auth("staff-jinan")) for _ in range(4)]
    assert [a.status_code for a in answers[:3]] == [201, 201, 201]
    _assert_rate_limited(answers[3])
    # Unknown tokens share their address's bucket: rotating made-up tokens gets no fresh buckets.
    codes = [client.post("/api/v1/violations", json=violation(),
                         headers={"Authorization": f"Bearer made-up-{i}"}).status_code
             for i in range(5)]
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


def test_metrics_show_overdue_reviews(client, auth, clock):
    created = client.post("/api/v1/violations", headers=auth(), json=violation(
        occurred_on="2026-09-01", determined_on="2026-10-09"))
    objection = client.post("/api/v1/objections", headers=auth("staff-jinan"), json={
        "measure_id": created.json["measures"][0]["id"], "filed_on": "2026-10-20", "reason": "金额计算有误",
        "evidence": ["费用清单"]})
    assert objection.status_code == 201, objection.json
    due = objection.json["review_due_on"]  # 2026-11-10
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'credit_service_overdue_deadlines{kind="review"} 1.0' in metrics  # today is 2026-11-26
    assert 'credit_service_overdue_deadlines{kind="repair_reply"} 0.0' in metrics
    clock.current = date.fromisoformat(due)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'credit_service_overdue_deadlines{kind="review"} 0.0' in metrics  # due today: not yet overdue
