"""GET /subjects/{type}/{id}/status and POST /status/batch (API.md; Arts 5 and 9)."""
from __future__ import annotations

import pytest

from tests.conftest import PERSON_ID
from tests.factories import id_number, violation, with_wrong_check_digit


def record(client, auth, **kw):
    response = client.post("/api/v1/violations", json=violation(**kw), headers=auth())
    assert response.status_code == 201, response.json
    return response.json


def test_a_subject_never_heard_of_is_allowed_unlisted_with_clean_incentives(client, auth):
    number = id_number()
    response = client.get(f"/api/v1/subjects/insured/{number}/status?on=2026-01-05", headers=auth("settlement"))
    assert response.status_code == 200
    assert response.json == {"subject_type": "insured", "id_number": number[:6] + "********" + number[14:],
                             "on": "2026-01-05", "settlement_allowed": True, "restrictions": [],
                             "listed": False, "incentives": ["lenient_acceptance"], "score": 100, "grade": "A"}


@pytest.mark.parametrize("day,allowed", [("2025-04-09", True), ("2025-04-10", False), ("2025-10-09", False),
                                         ("2025-10-10", True)])
def test_status_covers_starts_on_up_to_but_not_including_restores_on(client, auth, day, allowed):
    number = id_number()
    measure = record(client, auth, id_number=number)["measures"][0]
    body = client.get(f"/api/v1/subjects/insured/{number}/status?on={day}", headers=auth("settlement")).json
    assert body["settlement_allowed"] is allowed
    if not allowed:
        assert body["restrictions"] == [{"measure_id": measure["id"], "kind": "settlement_suspension",
                                         "region": "370100", "starts_on": "2025-04-10",
                                         "restores_on": "2025-10-10"}]


def test_default_day_is_today_from_the_injected_clock(client, auth, clock):
    from datetime import date
    number = id_number()
    record(client, auth, id_number=number, occurred_on="2026-10-01", determined_on="2026-11-20")
    body = client.get(f"/api/v1/subjects/insured/{number}/status", headers=auth("settlement")).json
    assert body["on"] == "2026-11-26" and body["settlement_allowed"] is False
    clock.current = date(2027, 6, 1)
    body = client.get(f"/api/v1/subjects/insured/{number}/status", headers=auth("settlement")).json
    assert body["on"] == "2027-06-01" and body["settlement_allowed"] is True


@pytest.mark.article("第五条")
def test_art5_a_measure_from_one_region_applies_when_another_region_asks(client, auth):
    number = id_number()
    record(client, auth, id_number=number, region="370900")  # Tai'an
    body = client.get(f"/api/v1/subjects/insured/{number}/status?on=2025-05-01", headers=auth("staff-jinan")).json
    assert body["settlement_allowed"] is False
    assert body["restrictions"][0]["region"] == "370900"
    assert body["id_number"] == number  # staff see the whole number


@pytest.mark.article("第九条第一项")
def test_art9_item1_lenient_acceptance_needs_two_clean_previous_years(client, auth):
    number = id_number()
    record(client, auth, id_number=number, fund_loss="0.00", occurred_on="2024-09-01", determined_on="2024-09-10")
    url = f"/api/v1/subjects/insured/{number}/status?on="
    assert client.get(url + "2026-06-01", headers=auth()).json["incentives"] == []
    assert client.get(url + "2027-01-01", headers=auth()).json["incentives"] == ["lenient_acceptance"]


def test_person_reads_only_their_own_status(client, auth):
    assert client.get(f"/api/v1/subjects/insured/{PERSON_ID}/status", headers=auth("person")).status_code == 200
    other = client.get(f"/api/v1/subjects/insured/{id_number()}/status", headers=auth("person"))
    assert other.status_code == 403 and other.json["code"] == "not_own_subject"


def test_reporter_may_not_read_status(client, auth):
    assert client.get(f"/api/v1/subjects/insured/{PERSON_ID}/status", headers=auth("reporter")).status_code == 403


@pytest.mark.parametrize("path,code", [
    (f"/api/v1/subjects/insured/{with_wrong_check_digit(PERSON_ID)}/status", "invalid_id_number"),
    (f"/api/v1/subjects/doctor/{PERSON_ID}/status", "validation_failed"),
    (f"/api/v1/subjects/insured/{PERSON_ID}/status?on=2025-13-01", "validation_failed"),
    (f"/api/v1/subjects/insured/{PERSON_ID}/status?on=20250101", "validation_failed"),
])
def test_status_bad_input_is_422(client, auth, path, code):
    response = client.get(path, headers=auth("settlement"))
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == code


def test_batch_answers_in_request_order(client, auth):
    blocked, clean = id_number(), id_number()
    record(client, auth, id_number=blocked)
    subjects = [{"subject_type": "insured", "id_number": n} for n in (clean, blocked, clean)]
    response = client.post("/api/v1/status/batch", json={"on": "2025-05-01", "subjects": subjects},
                           headers=auth("settlement"))
    assert response.status_code == 200
    results = response.json["results"]
    assert [r["settlement_allowed"] for r in results] == [True, False, True]
    assert results[1]["id_number"] == blocked[:6] + "********" + blocked[14:]
    assert all(r["on"] == "2025-05-01" for r in results)


def test_batch_matches_the_single_check(client, auth):
    numbers = [id_number() for _ in range(5)]
    record(client, auth, id_number=numbers[2], handling="criminal", fraud=True)
    subjects = [{"subject_type": "insured", "id_number": n} for n in numbers]
    batch = client.post("/api/v1/status/batch", json={"on": "2025-06-01", "subjects": subjects},
                        headers=auth("settlement")).json["results"]
    singles = [client.get(f"/api/v1/subjects/insured/{n}/status?on=2025-06-01", headers=auth("settlement")).json
               for n in numbers]
    assert batch == singles


def test_batch_over_1000_and_bad_items_are_422(client, auth):
    too_many = [{"subject_type": "insured", "id_number": PERSON_ID}] * 1001
    response = client.post("/api/v1/status/batch", json={"subjects": too_many}, headers=auth("settlement"))
    assert response.status_code == 422 and response.json["code"] == "too_many_subjects"
    bad = [{"subject_type": "insured", "id_number": PERSON_ID},
           {"subject_type": "insured", "id_number": with_wrong_check_digit(PERSON_ID)}]
    response = client.post("/api/v1/status/batch", json={"subjects": bad}, headers=auth("settlement"))
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["subjects.1.id_number"]
    response = client.post("/api/v1/status/batch", json={"subjects": "x"}, headers=auth("settlement"))
    assert response.status_code == 422


def test_person_may_not_use_the_batch(client, auth):
    response = client.post("/api/v1/status/batch", json={"subjects": []}, headers=auth("person"))
    assert response.status_code == 403
