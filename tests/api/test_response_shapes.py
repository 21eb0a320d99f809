"""Responses have exactly the fields their documenting schemas (and so the OpenAPI document) list."""
from __future__ import annotations

from credit_service.schemas.measures import MeasureBriefSchema, MeasureSchema
from credit_service.schemas.status import RestrictionSchema, StatusResultSchema
from credit_service.schemas.violations import ImportRowSchema, ImportSummarySchema, RecordedViolationSchema
from tests.factories import id_number, violation


def fields_of(schema) -> set[str]:
    return set(schema().fields)


def test_violation_and_measure_fields_match_their_schemas(client, auth):
    body = client.post("/api/v1/violations", json=violation(handling="criminal", fraud=True), headers=auth()).json
    assert set(body["violation"]) == fields_of(RecordedViolationSchema)
    assert body["measures"] and all(set(m) == fields_of(MeasureSchema) for m in body["measures"])


def test_import_fields_match_their_schemas(client, auth):
    body = client.post("/api/v1/violations/import", json=[violation(), violation(region="x")], headers=auth()).json
    assert set(body["summary"]) == fields_of(ImportSummarySchema)
    created, rejected = body["results"]
    assert set(created) == fields_of(ImportRowSchema) - {"error"}
    assert set(rejected) == fields_of(ImportRowSchema) - {"violation_id", "measures"}
    assert all(set(m) == fields_of(MeasureBriefSchema) for m in created["measures"])


def test_status_fields_match_their_schema(client, auth):
    number = id_number()
    client.post("/api/v1/violations", json=violation(id_number=number), headers=auth())
    body = client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-05-01", headers=auth()).json
    # qualification: practitioners only; emergency fields: only when the request asks about emergency care
    assert set(body) == fields_of(StatusResultSchema) - {"qualification", "emergency", "emergency_exempted"}
    assert set(body["restrictions"][0]) == fields_of(RestrictionSchema)


def test_practitioner_status_and_claim_fields_match_their_schemas(client, auth):
    from credit_service.schemas.claims import ClaimReasonSchema, ClaimResultSchema
    from credit_service.schemas.status import QualificationSchema
    number, insured = id_number(), id_number()
    client.post("/api/v1/violations", json=violation(id_number=number, subject_type="physician", points=10,
                                                     category="grave"), headers=auth())
    body = client.get(f"/api/v1/subjects/physician/{number}/status?on=2025-05-01&emergency=true",
                      headers=auth()).json
    assert set(body) == fields_of(StatusResultSchema)
    assert set(body["qualification"]) == fields_of(QualificationSchema)
    claim = client.post("/api/v1/claims/check", headers=auth(), json={
        "on": "2025-05-01", "insured": {"subject_type": "insured", "id_number": insured},
        "practitioners": [{"subject_type": "physician", "id_number": number}]}).json
    assert set(claim) == fields_of(ClaimResultSchema)
    assert claim["reasons"] and all(set(r) == fields_of(ClaimReasonSchema) for r in claim["reasons"])


def test_procedure_fields_match_their_schemas(client, auth):
    from credit_service.schemas.procedure import (NoticeSchema, ObjectionDecisionSchema, ObjectionSchema, RecordMeasureSchema,
                                   RecordSchema, RecordViolationSchema, RepairSchema, WorklistItemSchema)
    number = id_number()
    measure = client.post("/api/v1/violations", json=violation(id_number=number, determined_on="2026-10-09",
                                                               occurred_on="2026-09-01"),
                          headers=auth()).json["measures"][0]
    notice = client.post(f"/api/v1/measures/{measure['id']}/notice",
                         json={"served_on": "2026-10-12", "received_on": "2026-10-13"}, headers=auth()).json
    assert set(notice) == fields_of(NoticeSchema)
    objection = client.post("/api/v1/objections", json={"measure_id": measure["id"], "filed_on": "2026-10-20",
                                                        "reason": "异议"}, headers=auth()).json
    assert set(objection) == fields_of(ObjectionSchema)
    decision = client.post(f"/api/v1/objections/{objection['id']}/decision",
                           json={"outcome": "modified", "decided_on": "2026-11-02", "reason": "核减",
                                 "fund_loss": "50000.00"}, headers=auth()).json
    assert set(decision) == fields_of(ObjectionDecisionSchema)
    assert all(set(m) == fields_of(RecordMeasureSchema) for m in decision["revoked_measures"] + decision["new_measures"])
    repair = client.post("/api/v1/repairs", json={
        "subject_type": "insured", "id_number": number, "measure_id": decision["new_measures"][0]["id"],
        "filed_on": "2026-11-02", "corrected": True, "adverse_effects_removed": True, "commitment": True},
        headers=auth()).json
    assert set(repair) == fields_of(RepairSchema)
    record = client.get(f"/api/v1/subjects/insured/{number}/record?year=2026", headers=auth()).json
    assert set(record) == fields_of(RecordSchema)
    assert all(set(v) == fields_of(RecordViolationSchema) for v in record["violations"])
    assert all(set(m) == fields_of(RecordMeasureSchema) for m in record["measures"])
    items = client.get("/api/v1/worklist", headers=auth()).json["items"]
    assert items and all(set(i) == fields_of(WorklistItemSchema) for i in items)
