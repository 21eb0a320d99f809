"""Issue 9, "Done when": no answer contradicts the OpenAPI document. Each test pins one contradiction
schemathesis found (`bench/api_fuzz.py`, `tests/fuzz/test_openapi_fuzz.py`), so that it cannot come back
unnoticed: constraints the service enforces are stated, answers have the documented shape, and every
business-rule code a 422 carries is named in its operation's document."""
from __future__ import annotations

import re

import pytest

from tests.conftest import PERSON_ID
from tests.factories import id_number, violation


@pytest.fixture
def document(client):
    return client.get("/api/openapi.json").json


def operation(document, method: str, path: str) -> dict:
    return document["paths"][path][method]


def parameters(document, method: str, path: str) -> dict[str, dict]:
    item = document["paths"][path]
    return {p["name"]: p["schema"] for p in item.get("parameters", []) + item[method].get("parameters", [])}


def test_identifiers_in_paths_are_documented_as_enforced(document):
    for path in ("/api/v1/subjects/{subject_type}/{id_number}/status",
                 "/api/v1/subjects/{subject_type}/{id_number}/record"):
        params = parameters(document, "get", path)
        assert params["subject_type"]["enum"] == ["insured", "physician", "pharmacist"]
        assert params["id_number"]["format"] == "gb11643-id-number"
        assert re.fullmatch(params["id_number"]["pattern"], " 37010219900101123x ")
        assert not re.fullmatch(params["id_number"]["pattern"], "37010219900101123")
    experts = parameters(document, "post", "/api/v1/subjects/{subject_type}/{id_number}/expert-recommendations")
    assert experts["subject_type"]["enum"] == ["physician", "pharmacist"]


def test_strings_state_their_lengths_and_refuse_nul(document):
    violation_schema = document["components"]["schemas"]["Violation"]["properties"]
    assert (violation_schema["source"]["minLength"], violation_schema["source"]["maxLength"]) == (1, 64)
    assert not re.fullmatch(violation_schema["description"]["pattern"], "a\x00b")
    assert re.fullmatch(violation_schema["description"]["pattern"], "虚构医疗服务")
    assert (violation_schema["points"]["minimum"], violation_schema["points"]["maximum"]) == (0, 1000)
    assert re.fullmatch(violation_schema["fund_loss"]["pattern"], " 150000.00 ")
    assert not re.fullmatch(violation_schema["fund_loss"]["pattern"], "١٥٠")  # not every \d is a digit here


def test_claim_parties_state_their_subject_types(document):
    schemas = document["components"]["schemas"]
    assert schemas["ClaimInsured"]["properties"]["subject_type"]["enum"] == ["insured"]
    assert schemas["ClaimPractitioner"]["properties"]["subject_type"]["enum"] == ["physician", "pharmacist"]
    assert schemas["BatchRequest"]["properties"]["claims"]["items"] == {"$ref": "#/components/schemas/Claim"}


def test_answers_are_documented_by_answer_schemas(document):
    schemas = document["components"]["schemas"]
    decision = schemas["ObjectionDecision"]["properties"]
    assert decision["new_measures"]["items"] == {"$ref": "#/components/schemas/RecordMeasure"}
    assert schemas["RecordedViolation"]["properties"]["subject"] == {"$ref": "#/components/schemas/SubjectView"}
    assert "pattern" not in schemas["SubjectView"]["properties"]["id_number"]  # others see it masked
    replay = operation(document, "post", "/api/v1/violations")["responses"]["200"]
    assert replay["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ViolationResult"}


def test_bulk_import_body_is_documented_as_read(document):
    content = operation(document, "post", "/api/v1/violations/import")["requestBody"]["content"]
    assert content["application/json"]["schema"]["items"] == {}  # a bad row is a rejected row, not a 422
    assert content["multipart/form-data"]["schema"]["required"] == ["file"]
    csv = content["text/csv"]["schema"]["pattern"]
    header = "source,source_ref,subject_type,id_number,name,region,occurred_on,determined_on,fund_loss,handling"
    assert re.fullmatch(csv, header + "\r\nx,y\n") and re.fullmatch(csv, "\ufeff" + header + ",fraud\n")
    assert not re.fullmatch(csv, header + "N\n") and not re.fullmatch(csv, header + "\nx\ry")


BUSINESS_CODES = {  # (method, path): codes the service answers with 422 beyond field validation
    ("post", "/api/v1/violations"): ["determined_in_future", "months_out_of_range", "points_out_of_band",
                                     "unknown_category", "category_not_applicable", "invalid_id_number"],
    ("post", "/api/v1/measures/{measure_id}/notice"): ["received_before_served", "received_in_future"],
    ("post", "/api/v1/objections"): ["objection_window_closed", "filed_on_not_today", "filed_in_future"],
    ("post", "/api/v1/objections/{objection_id}/evidence-complete"): ["evidence_date_out_of_range"],
    ("post", "/api/v1/objections/{objection_id}/decision"): ["decided_before_filed", "decided_in_future",
                                                            "fund_loss_required", "fund_loss_not_allowed"],
    ("post", "/api/v1/repairs"): ["filed_on_not_today", "filed_in_future", "measure_not_of_subject"],
    ("post", "/api/v1/repairs/{repair_id}/decision"): ["repair_conditions_incomplete", "decided_before_filed",
                                                      "decided_in_future"],
    ("post", "/api/v1/subjects/{subject_type}/{id_number}/expert-recommendations"): ["year_in_future"],
}


@pytest.mark.parametrize("method, path", BUSINESS_CODES)
def test_every_business_rule_code_is_named_in_its_422(document, method, path):
    described = operation(document, method, path)["responses"]["422"]["description"]
    assert [c for c in BUSINESS_CODES[(method, path)] if c not in described] == []


def test_audit_filters_by_subject_type_or_number_alone(client, auth):
    doctor = id_number()
    client.post("/api/v1/violations", json=violation(id_number=PERSON_ID), headers=auth())
    client.post("/api/v1/violations", json=violation(id_number=doctor, subject_type="physician", points=2,
                                                     category="minor"), headers=auth())
    by_type = client.get("/api/v1/audit?subject_type=physician", headers=auth()).json["events"]
    assert {e["subject_type"] for e in by_type} == {"physician"} and by_type
    by_number = client.get(f"/api/v1/audit?id_number={PERSON_ID}", headers=auth()).json["events"]
    assert {(e["subject_type"], e["id_number"]) for e in by_number} == {("insured", PERSON_ID)}


def test_a_years_record_to_come_is_empty_not_refused(client, auth):
    body = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/record?year=2031", headers=auth()).json
    assert (body["year"], body["violations"], body["total_fund_loss"]) == (2031, [], "0.00")


def test_rule_codes_of_expert_year_and_evidence_date(client, auth):
    late = client.post(f"/api/v1/subjects/physician/{id_number()}/expert-recommendations", headers=auth(),
                       json={"year": 2028, "region": "370100", "reason": "表现突出"})
    assert (late.status_code, late.json["code"]) == (422, "year_in_future")
    measure = client.post("/api/v1/violations", json=violation(determined_on="2026-10-09", occurred_on="2026-09-01"),
                          headers=auth()).json["measures"][0]["id"]
    objection = client.post("/api/v1/objections", json={"measure_id": measure, "filed_on": "2026-10-20",
                                                        "reason": "有误"}, headers=auth()).json["id"]
    early = client.post(f"/api/v1/objections/{objection}/evidence-complete", json={"on": "2026-10-19"},
                        headers=auth())
    assert (early.status_code, early.json["code"]) == (422, "evidence_date_out_of_range")
