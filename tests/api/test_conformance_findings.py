"""What schemathesis (bench/api_fuzz.py, --checks all, 30 examples, admin) still found after issue 9's
merge: four answers that contradicted the OpenAPI document (issue 9, "no response that contradicts")."""
from __future__ import annotations

import re

import pytest

from credit_service.schemas.webhooks import URL_PATTERN
from tests.factories import id_number


@pytest.mark.parametrize("url", ["/api/v1/lists/joint-punishment?since=", "/api/v1/lists/joint-punishment?region=",
                                 "/api/v1/reports/monthly?region=", "/api/v1/reports/monthly?month="])
def test_finding9_conformance_an_empty_query_value_is_422_not_ignored(client, auth, url):
    response = client.get(url, headers=auth())
    assert response.status_code == 422, response.json
    assert response.json["code"] == "validation_failed"


@pytest.mark.parametrize("body", [
    {"subjects": [], "x-unknown": 42},
    {"subjects": [], "emergency": None},
    {"subjects": [{"subject_type": "insured", "id_number": id_number(), "extra": 1}]},
])
def test_finding9_conformance_the_batch_refuses_unknown_fields_like_its_schema(client, auth, body):
    response = client.post("/api/v1/status/batch", json=body, headers=auth("settlement"))
    assert response.status_code == 422, response.json


@pytest.mark.parametrize("url", ["https://\x1e\xf8A\x04", "https://a b/", "https://\u00a0x/"])
def test_finding9_conformance_the_webhook_url_pattern_means_the_same_to_python_and_json_schema(client, auth, url):
    assert re.match(URL_PATTERN, url) is None
    response = client.post("/api/v1/webhooks", json={
        "url": url, "secret": "s" * 16, "events": ["status.changed"], "scope": {"regions": ["370100"]}},
        headers=auth())
    assert response.status_code == 422


def test_finding9_conformance_the_url_pattern_is_plain_ascii():
    # JSON Schema patterns are ECMAScript regexes: no class whose meaning differs between the engines.
    assert "\\s" not in URL_PATTERN and "\\w" not in URL_PATTERN
