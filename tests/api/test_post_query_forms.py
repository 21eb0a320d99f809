"""Issue 9, finding 9 (the POST forms): identity numbers need not travel in URLs, where proxies and
servers log them. API.md v1.1: `POST /api/v1/status/query` and `POST /api/v1/records/query` answer
exactly what the GET forms answer, to the same roles; the GET forms stay."""
from __future__ import annotations

import pytest

from tests.conftest import PERSON_ID
from tests.factories import id_number, violation, with_wrong_check_digit

PROBLEM = "application/problem+json"
ROLES = ("settlement", "admin", "staff-taian", "person", "reporter", None)


def _headers(auth, role):
    return auth(role) if role else {}


@pytest.fixture
def numbers(client, auth):
    suspended, doctor = id_number(), id_number()
    assert client.post("/api/v1/violations", json=violation(id_number=suspended), headers=auth()).status_code == 201
    assert client.post("/api/v1/violations", json=violation(id_number=PERSON_ID, fund_loss="20000.00"),
                       headers=auth()).status_code == 201
    assert client.post("/api/v1/violations", headers=auth(), json=violation(
        id_number=doctor, subject_type="physician", points=10, category="grave", handling="agreement",
        occurred_on="2025-04-10", determined_on="2025-04-10")).status_code == 201
    return {"suspended": suspended, "person": PERSON_ID, "doctor": doctor, "clean": id_number()}


def _status_pairs(numbers):
    """(GET path, POST body) that ask the same question."""
    pairs = []
    for name, number in numbers.items():
        subject_type = "physician" if name == "doctor" else "insured"
        base = f"/api/v1/subjects/{subject_type}/{number}/status"
        body = {"subject_type": subject_type, "id_number": number}
        pairs += [(base, body), (base + "?on=2025-05-01", {**body, "on": "2025-05-01"}),
                  (base + "?on=2025-05-01&emergency=true", {**body, "on": "2025-05-01", "emergency": True}),
                  (base + "?emergency=false", {**body, "emergency": False}),
                  (base + "?on=1989-12-31", {**body, "on": "1989-12-31"}),
                  (base + "?on=2025-02-30", {**body, "on": "2025-02-30"})]
    bad = with_wrong_check_digit(numbers["clean"])
    pairs.append((f"/api/v1/subjects/insured/{bad}/status", {"subject_type": "insured", "id_number": bad}))
    return pairs


@pytest.mark.parametrize("role", ROLES)
def test_finding_9_post_status_query_answers_as_the_get_form(client, auth, numbers, role):
    for path, body in _status_pairs(numbers):
        by_get = client.get(path, headers=_headers(auth, role))
        by_post = client.post("/api/v1/status/query", json=body, headers=_headers(auth, role))
        if role == "person" and body["id_number"] != PERSON_ID and body.get("on") == "2025-02-30":
            # A malformed body is refused (422) before whose number it is gets checked; the GET form
            # checks access first. Both refuse.
            assert (by_get.status_code, by_post.status_code) == (403, 422)
            continue
        assert (by_post.status_code, by_post.mimetype) == (by_get.status_code, by_get.mimetype), (role, path)
        if by_get.status_code == 200:
            assert by_post.json == by_get.json, (role, path)
        else:
            assert by_post.json["code"] == by_get.json["code"], (role, path, by_post.json, by_get.json)


def test_finding_9_post_status_query_for_a_suspended_subject(client, auth, numbers):
    response = client.post("/api/v1/status/query", headers=auth("settlement"), json={
        "subject_type": "insured", "id_number": numbers["suspended"], "on": "2025-05-01"})
    assert response.status_code == 200
    assert response.json["settlement_allowed"] is False
    assert response.json["id_number"] == numbers["suspended"][:6] + "********" + numbers["suspended"][14:]


@pytest.mark.parametrize("body, field", [
    ({"id_number": PERSON_ID}, "subject_type"),
    ({"subject_type": "insured"}, "id_number"),
    ({"subject_type": "doctor", "id_number": PERSON_ID}, "subject_type"),
    ({"subject_type": "insured", "id_number": PERSON_ID, "on": 20250501}, "on"),
    ({"subject_type": "insured", "id_number": PERSON_ID, "emergency": "yes"}, "emergency"),
    ({"subject_type": "insured", "id_number": PERSON_ID, "emergency": None}, "emergency"),
    ({"subject_type": "insured", "id_number": PERSON_ID, "extra": 1}, "extra"),
])
def test_finding_9_post_status_query_validates_its_body(client, auth, body, field):
    response = client.post("/api/v1/status/query", json=body, headers=auth("settlement"))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert field in response.json["errors"], response.json


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b"null"])
def test_finding_9_post_status_query_refuses_what_is_not_an_object(client, auth, data):
    response = client.post("/api/v1/status/query", data=data, headers={**auth("settlement"),
                                                                        "Content-Type": "application/json"})
    assert response.status_code in (400, 422) and response.mimetype == PROBLEM


@pytest.mark.parametrize("role", ("admin", "staff-taian", "person", "settlement", "reporter", None))
def test_finding_9_post_records_query_answers_as_the_get_form(client, auth, numbers, role):
    for name in ("suspended", "person", "clean"):
        for year in (2025, 2026, 1989):
            path = f"/api/v1/subjects/insured/{numbers[name]}/record?year={year}"
            by_get = client.get(path, headers=_headers(auth, role))
            by_post = client.post("/api/v1/records/query", headers=_headers(auth, role), json={
                "subject_type": "insured", "id_number": numbers[name], "year": year})
            assert by_post.status_code == by_get.status_code, (role, path, by_post.json)
            if by_get.status_code == 200:
                assert by_post.json == by_get.json
            else:
                assert by_post.json["code"] == by_get.json["code"]


@pytest.mark.parametrize("body, field", [
    ({"subject_type": "insured", "id_number": PERSON_ID}, "year"),
    ({"subject_type": "insured", "id_number": PERSON_ID, "year": "2025"}, "year"),
    ({"subject_type": "insured", "id_number": with_wrong_check_digit(PERSON_ID), "year": 2025}, "id_number"),
    ({"subject_type": "insured", "id_number": PERSON_ID, "year": 2025, "on": "2025-01-01"}, "on"),
])
def test_finding_9_post_records_query_validates_its_body(client, auth, body, field):
    response = client.post("/api/v1/records/query", json=body, headers=auth())
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert field in response.json["errors"], response.json


def test_finding_9_the_openapi_document_shows_both_post_forms(client):
    spec = client.get("/api/openapi.json").json
    for path, fields in (("/api/v1/status/query", {"subject_type", "id_number", "on", "emergency"}),
                         ("/api/v1/records/query", {"subject_type", "id_number", "year"})):
        operation = spec["paths"][path]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        if "$ref" in schema:
            schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        assert set(schema["properties"]) == fields
        assert {"subject_type", "id_number"} <= set(schema["required"])
        assert "200" in operation["responses"] and "422" in operation["responses"]
    # the GET forms stay
    assert "get" in spec["paths"]["/api/v1/subjects/{subject_type}/{id_number}/status"]
    assert "get" in spec["paths"]["/api/v1/subjects/{subject_type}/{id_number}/record"]


def test_finding_9_the_fast_path_serves_post_status_query(client, auth, numbers, app):
    def broken(*args, **kwargs):
        raise AssertionError("the Flask view should not be reached")

    app.view_functions["status.status_query"] = broken
    response = client.post("/api/v1/status/query", headers=auth("settlement"), json={
        "subject_type": "insured", "id_number": numbers["suspended"], "on": "2025-05-01"})
    assert response.status_code == 200 and response.json["settlement_allowed"] is False
    response = client.post("/api/v1/status/query", headers=auth("person"), json={
        "subject_type": "insured", "id_number": PERSON_ID})
    assert response.status_code == 200 and response.json["id_number"] == PERSON_ID[:6] + "********" + PERSON_ID[14:]
