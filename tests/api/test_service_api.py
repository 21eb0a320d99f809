"""Health, OpenAPI and error shape."""
from __future__ import annotations


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json == {"status": "ok"}


def test_openapi_documents_the_contract(client):
    spec = client.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    for path in ["/api/v1/violations", "/api/v1/violations/import",
                 "/api/v1/subjects/{subject_type}/{id_number}/status", "/api/v1/status/batch",
                 "/api/v1/subjects/{subject_type}/{id_number}/record", "/api/v1/measures/{measure_id}/notice",
                 "/api/v1/objections", "/api/v1/objections/{objection_id}/decision", "/api/v1/repairs",
                 "/api/v1/repairs/{repair_id}/decision", "/api/v1/worklist"]:
        assert path in spec["paths"], path
    violation_schema = spec["components"]["schemas"]["Violation"]
    assert {"source", "source_ref", "subject", "fund_loss", "handling"} <= set(violation_schema["required"])
    assert spec["components"]["schemas"]["StatusResult"]["properties"]["settlement_allowed"]["type"] == "boolean"
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_unknown_path_and_method_are_problems(client):
    assert client.get("/api/v1/nothing").mimetype == "application/problem+json"
    response = client.delete("/api/v1/violations")
    assert response.status_code == 405 and response.json["code"] == "method_not_allowed"


def test_openapi_documents_errors_as_problem_json(client):
    spec = client.get("/api/openapi.json").json
    unprocessable = spec["paths"]["/api/v1/violations"]["post"]["responses"]["422"]
    assert unprocessable["content"]["application/problem+json"]["schema"] == {"$ref": "#/components/schemas/Problem"}
    assert {"type", "title", "status", "detail", "code", "errors"} <= set(spec["components"]["schemas"]["Problem"]["properties"])
