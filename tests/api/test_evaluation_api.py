"""GET /api/v1/subjects/{type}/{id}/evaluation and POST /api/v1/evaluation/query (API.md v1.1); score and
grade in the status, the batch, the claims check and the record."""
from __future__ import annotations

import pytest

from tests.conftest import PERSON_ID
from tests.factories import id_number, violation


def post(client, auth, **kw):
    response = client.post("/api/v1/violations", json=violation(**kw), headers=auth())
    assert response.status_code == 201, response.json
    return response.json


def test_a_subject_never_recorded_has_the_full_score_and_top_grade(client, auth):
    number = id_number()
    body = client.get(f"/api/v1/subjects/insured/{number}/evaluation?on=2026-05-01", headers=auth("settlement")).json
    assert (body["score"], body["grade"], body["grade_title"], body["contributions"]) == (100, "A", "守信", [])
    assert body["unlocks"] == ["credit_payment", "lenient_acceptance"] and body["credit_payment"] is True
    assert body["id_number"] == number[:6] + "********" + number[14:] and body["inspection"] is None
    assert body["rule_set"] == "shandong-evaluation-2024"


@pytest.mark.article("第九条第三项")
def test_every_contribution_says_what_moved_the_score_by_how_much_under_which_rule(client, auth):
    number = id_number()
    post(client, auth, id_number=number)  # 150,000.00 determined 2025-04-10: 第九条第三项, 6 months
    body = client.post("/api/v1/evaluation/query", headers=auth("staff-jinan"),
                       json={"subject_type": "insured", "id_number": number, "on": "2025-05-01"}).json
    assert (body["score"], body["grade"], body["id_number"]) == (70, "C", number)
    assert [(c["change"], c["article"], c["rule_set"]) for c in body["contributions"]] == [
        (-15, "第七条", "shandong-evaluation-2024"), (-15, "第九条第三项", "shandong-evaluation-2024")]
    assert all(c["reason"] for c in body["contributions"])
    status = client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-05-01", headers=auth("settlement")).json
    assert (status["score"], status["grade"], status["incentives"]) == (70, "C", [])
    batch = client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": number}]}).json
    assert (batch["results"][0]["score"], batch["results"][0]["grade"]) == (70, "C")
    claim = client.post("/api/v1/claims/check", headers=auth("settlement"), json={
        "on": "2025-05-01", "insured": {"subject_type": "insured", "id_number": number}, "practitioners": []}).json
    assert claim["parties"][0]["grade"] == "C"
    later = client.get(f"/api/v1/subjects/insured/{number}/evaluation?on=2025-10-10", headers=auth()).json
    assert (later["score"], later["grade"], later["unlocks"]) == (85, "B", ["credit_payment"])


@pytest.mark.article("第九条第一项")
def test_art9_item1_a_person_suspended_since_2025_04_10_has_no_lenient_acceptance_on_2025_05_01(client, auth):
    """The issue's case, through the API (fast path and Flask alike)."""
    number = id_number()
    post(client, auth, id_number=number)
    for path in (f"/api/v1/subjects/insured/{number}/status?on=2025-05-01",):
        assert client.get(path, headers=auth("settlement")).json["incentives"] == []
    batch = client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "on": "2025-05-01", "subjects": [{"subject_type": "insured", "id_number": number}],
        "emergency": False}).json  # `emergency` sends the batch through Flask
    assert batch["results"][0]["incentives"] == []


def test_a_practitioners_evaluation_names_the_inspection_level(client, auth):
    doctor = id_number()
    post(client, auth, id_number=doctor, subject_type="physician", points=6, category="moderate",
         handling="agreement", occurred_on="2026-10-01", determined_on="2026-10-09")
    body = client.get(f"/api/v1/subjects/physician/{doctor}/evaluation?on=2026-11-01", headers=auth()).json
    assert (body["score"], body["grade"]) == (73, "C")  # record year −15, 6 points × 2
    assert body["inspection"] == {"level": "increased", "words": "失信：提高检查频次"}


def test_a_person_reads_only_their_own_evaluation(client, auth):
    own = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/evaluation", headers=auth("person"))
    assert own.status_code == 200 and own.json["on"] == "2026-11-26"
    other = client.post("/api/v1/evaluation/query", headers=auth("person"),
                        json={"subject_type": "insured", "id_number": id_number()})
    assert (other.status_code, other.json["code"]) == (403, "not_own_subject")
    assert client.get(f"/api/v1/subjects/insured/{PERSON_ID}/evaluation", headers=auth("reporter")).status_code == 403


@pytest.mark.parametrize(("body", "field"), [
    ({"subject_type": "insured", "id_number": "370102199001011232"}, "id_number"),
    ({"subject_type": "doctor", "id_number": PERSON_ID}, "subject_type"),
    ({"subject_type": "insured", "id_number": PERSON_ID, "on": "2026-02-30"}, "on"),
    ({"subject_type": "insured", "id_number": PERSON_ID, "x": 1}, "x"),
])
def test_a_bad_query_is_422_naming_the_field(client, auth, body, field):
    response = client.post("/api/v1/evaluation/query", headers=auth(), json=body)
    assert response.status_code == 422 and field in response.json["errors"]


def test_the_record_shows_the_score_and_grade(client, auth):
    number = id_number()
    post(client, auth, id_number=number, occurred_on="2026-10-01", determined_on="2026-10-09")
    record = client.get(f"/api/v1/subjects/insured/{number}/record?year=2026", headers=auth()).json
    assert record["evaluation"] == {"on": "2026-11-26", "score": 70, "grade": "C"}
    past = client.get(f"/api/v1/subjects/insured/{number}/record?year=2025", headers=auth()).json
    assert past["evaluation"] == {"on": "2025-12-31", "score": 100, "grade": "A"}


def test_evaluation_fields_match_the_schema(client, auth):
    from credit_service.schemas.evaluation import ContributionSchema, EvaluationSchema
    number = id_number()
    post(client, auth, id_number=number)
    body = client.get(f"/api/v1/subjects/insured/{number}/evaluation?on=2025-05-01", headers=auth()).json
    assert set(body) == set(EvaluationSchema().fields)
    assert all(set(c) == set(ContributionSchema().fields) for c in body["contributions"])


def test_a_day_before_any_model_took_effect_is_404_naming_it(client, auth):
    response = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/evaluation?on=2024-08-09", headers=auth())
    assert (response.status_code, response.json["code"]) == (404, "no_evaluation_model")
    status = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/status?on=2024-08-09", headers=auth()).json
    assert (status["score"], status["grade"]) == (None, None)
