"""The API reference (issue 10 item 7): the browsable page at /api/docs is served by the app from
packaged files, and the OpenAPI document names each operation's 401/403/422/429/503 with their codes
(one table, credit_service/api/reference.py), each code as docs/errors.md catalogues it."""
from __future__ import annotations

import re

import pytest

from credit_service.api.reference import EVERY_OPERATION, OPERATIONS, codes_of
from tests.conftest import PERSON_ID
from tests.unit.test_error_catalogue import catalogue

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture
def document(client):
    return client.get("/api/openapi.json").json


def operations(document):
    return [(method, path, op) for path, item in document["paths"].items()
            for method, op in item.items() if method in METHODS]


def test_every_operation_of_the_document_is_in_the_table(document):
    assert {(m, p) for m, p, _ in operations(document)} == set(OPERATIONS)


def test_each_operation_names_its_error_answers_and_their_codes(document):
    assert "Problem" in document["components"]["schemas"]
    for method, path, op in operations(document):
        for status, codes in codes_of(method, path).items():
            response = op["responses"][str(status)]
            assert response["x-problem-codes"] == list(codes), (method, path, status)
            assert [c for c in codes if c not in response["description"]] == [], (method, path, status)
            assert response["content"]["application/problem+json"]["schema"] == {
                "$ref": "#/components/schemas/Problem"}
        for status in (401, 403, 429, 503):
            assert str(status) in op["responses"], (method, path, status)


def test_the_operations_own_descriptions_are_kept(document):
    described = document["paths"]["/api/v1/objections"]["post"]["responses"]["422"]["description"]
    assert described.startswith("objection_window_closed（detail 写明期限）")


def test_every_code_in_the_table_is_catalogued_with_its_status():
    rows = catalogue()
    for key in OPERATIONS:
        for status, codes in codes_of(*key).items():
            wrong = [c for c in codes if c not in rows or status not in (rows[c] or ())]
            assert wrong == [], (key, status, wrong)


def _url(path: str) -> str:
    values = {"subject_type": "insured", "id_number": PERSON_ID}
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), "x"), path)


def test_without_a_token_or_with_a_bad_one_every_operation_answers_a_documented_401(client, document):
    for i, (method, path, op) in enumerate(operations(document)):
        documented = op["responses"]["401"]["x-problem-codes"]
        for headers, code in (({}, "unauthorized"), ({"Authorization": "Bearer nope"}, "invalid_token")):
            # callers without a known token share their address's bucket (20/s): one address per operation
            response = client.open(_url(path), method=method.upper(), headers=headers,
                                   environ_base={"REMOTE_ADDR": f"10.0.0.{i + 1}"})
            assert (response.status_code, response.json["code"]) == (401, code), (method, path)
            assert code in documented


def test_a_role_not_allowed_gets_a_documented_403(client, document, auth):
    for method, path, op in operations(document):
        refused = [client.open(_url(path), method=method.upper(), headers=auth(role))
                   for role in ("reporter", "settlement", "person")]
        refused = [r for r in refused if r.status_code == 403]
        assert refused, (method, path)
        assert {r.json["code"] for r in refused} <= set(op["responses"]["403"]["x-problem-codes"]), (method, path)
        assert "role_not_allowed" in {r.json["code"] for r in refused}


def test_an_unknown_field_gets_a_documented_422(client, document, auth):
    for method, path, op in operations(document):
        if "application/json" not in op.get("requestBody", {}).get("content", {}):
            continue
        response = client.open(_url(path), method=method.upper(), json={"zz_unknown": 1}, headers=auth())
        assert response.status_code == 422, (method, path, response.status_code)
        assert response.json["code"] in op["responses"]["422"]["x-problem-codes"], (method, path)


def test_every_operation_may_be_rate_limited_or_find_the_database_away():
    assert EVERY_OPERATION[429] == ("rate_limited",) and EVERY_OPERATION[503] == ("database_unavailable",)
    assert all(set(codes_of(*key)) >= {401, 403, 429, 503} for key in OPERATIONS)


def test_the_reference_page_is_served_with_its_files_and_loads_nothing_from_elsewhere(client):
    page = client.get("/api/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]", html), "an outside address in the page"
    policy = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "script-src" not in policy  # scripts: this service only
    assert "<script>" not in html  # no inline script (the policy would refuse it)
    files = re.findall(r'(?:src|href)="([^"]+)"', html)
    scripts = re.findall(r'<script src="([^"]+)"', html)
    assert len(scripts) == 2 and any(f.endswith("swagger-ui.css") for f in files)
    for url in files:
        assert url.startswith("/"), url
        response = client.get(url)
        assert response.status_code == 200, url
        assert len(response.data) > 100, url
        response.close()
    css = client.get(next(f for f in files if f.endswith(".css")))
    assert css.mimetype == "text/css"
    bundle = client.get(scripts[0])
    assert b"SwaggerUIBundle" in bundle.data
    start = client.get(scripts[1]).get_data(as_text=True)
    assert "SwaggerUIBundle(" in start and "validatorUrl: null" in start
    assert 'data-spec-url="/api/openapi.json"' in html
    assert client.get("/api/openapi.json").status_code == 200


def test_only_the_pages_own_files_are_served(client):
    assert client.get("/api/docs/assets/index.html").status_code == 404
    assert client.get("/api/docs/assets/..%2Fswagger-ui.css").status_code == 404
    assert client.get("/api/docs/assets/swagger-ui.css.map").status_code == 404
