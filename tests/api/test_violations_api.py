"""POST /api/v1/violations through the HTTP layer (API.md), on SQLite and PostgreSQL."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from credit_service.adapters.orm import MeasureRow, SubjectChangeRow, ViolationRow
from tests.factories import id_number, violation, with_wrong_check_digit


def count_rows(container, model) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(model))


@pytest.mark.article("第九条第三项")


def test_api_md_example_art9_item3_records_a_six_month_suspension(client, auth):
    body = violation(fund_loss="150000.00", occurred_on="2025-03-02", determined_on="2025-04-10")
    response = client.post("/api/v1/violations", json=body, headers=auth("admin"))
    assert response.status_code == 201, response.json
    measures = response.json["measures"]
    assert len(measures) == 1
    m = measures[0]
    assert (m["kind"], m["starts_on"], m["restores_on"], m["months"]) == (
        "settlement_suspension", "2025-04-10", "2025-10-10", 6)
    assert (m["rule_set"], m["article"], m["region"], m["subject_type"]) == (
        "shandong-2024-trial", "第九条第三项", "370100", "insured")
    assert m["state"] == "ended"  # the test clock says 2026-11-26
    assert "150000.00元" in m["explanation"] and "10万元以上、不满20万元" in m["explanation"]
    assert "暂停医疗费用联网结算" in m["explanation"] and "6个月" in m["explanation"]
    assert response.json["violation"]["record_year"] == 2025
    assert response.json["violation"]["fund_loss"] == "150000.00"


@pytest.mark.article("第六条")
def test_same_body_again_returns_the_first_result_with_200(client, auth, container):
    body = violation()
    first = client.post("/api/v1/violations", json=body, headers=auth())
    again = client.post("/api/v1/violations", json=body, headers=auth())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json == first.json
    assert count_rows(container, ViolationRow) == 1
    assert count_rows(container, MeasureRow) == 1


@pytest.mark.article("第六条")
def test_same_source_ref_with_a_different_body_is_409_and_writes_nothing(client, auth, container):
    body = violation()
    client.post("/api/v1/violations", json=body, headers=auth())
    response = client.post("/api/v1/violations", json=dict(body, fund_loss="1.00"), headers=auth())
    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert response.json["code"] == "duplicate_source_ref"
    assert count_rows(container, ViolationRow) == 1


@pytest.mark.parametrize("subject_type", ["insured", "physician"])
def test_same_source_ref_for_another_person_is_409_in_one_request_and_across_requests(client, auth, container,
                                                                                        subject_type):
    """The fingerprint leaves the identity number out (it could be guessed back); the subject is
    compared by its lookup key instead, so another person's body under the same ref is still a conflict."""
    from tests.factories import id_number
    body = violation(subject_type=subject_type)
    other = violation(subject_type=subject_type, id_number=id_number(), source_ref=body["source_ref"])
    assert client.post("/api/v1/violations", json=body, headers=auth()).status_code == 201
    response = client.post("/api/v1/violations", json=other, headers=auth())
    assert response.status_code == 409 and response.json["code"] == "duplicate_source_ref"
    fresh = violation(subject_type=subject_type)
    twin = violation(subject_type=subject_type, id_number=id_number(), source_ref=fresh["source_ref"])
    rows = client.post("/api/v1/violations/import", json=[fresh, twin], headers=auth()).json["results"]
    assert [r["status"] for r in rows] == ["created", "rejected"]
    assert rows[1]["error"]["code"] == "duplicate_source_ref"
    assert count_rows(container, ViolationRow) == 2


def _bad(**changes):
    body = violation()
    for key, value in changes.items():
        if key == "id_number":
            body["subject"]["id_number"] = value
        elif value is KeyError:
            del body[key]
        else:
            body[key] = value
    return body


BAD_INPUTS = [
    ("wrong-check-digit", _bad(id_number=with_wrong_check_digit(id_number())), "invalid_id_number", "subject.id_number"),
    ("id-17-chars", _bad(id_number="37010219900101123"), "invalid_id_number", "subject.id_number"),
    ("id-bad-birth-date", _bad(id_number="370102199002301231"), "invalid_id_number", "subject.id_number"),
    ("date-30-feb", _bad(occurred_on="2025-02-30"), "validation_failed", "occurred_on"),
    ("date-slashes", _bad(determined_on="2025/04/10"), "validation_failed", "determined_on"),
    ("determined-before-occurred", _bad(occurred_on="2025-04-11", determined_on="2025-04-10"),
     "validation_failed", "determined_on"),
    ("region-5-digits", _bad(region="37010"), "validation_failed", "region"),
    ("region-letters", _bad(region="SD0100"), "validation_failed", "region"),
    ("money-as-float", _bad(fund_loss=150000.5), "validation_failed", "fund_loss"),
    ("money-as-int", _bad(fund_loss=150000), "validation_failed", "fund_loss"),
    ("money-3-places", _bad(fund_loss="1.234"), "validation_failed", "fund_loss"),
    ("money-negative", _bad(fund_loss="-1.00"), "validation_failed", "fund_loss"),
    ("money-exponent", _bad(fund_loss="1e5"), "validation_failed", "fund_loss"),
    ("handling-unknown", _bad(handling="civil"), "validation_failed", "handling"),
    ("missing-source-ref", _bad(source_ref=KeyError), "validation_failed", "source_ref"),
    ("unknown-field", _bad(extra_field="x"), "validation_failed", "extra_field"),
    ("subject-type-unknown", {**violation(), "subject": {"subject_type": "doctor", "id_number": id_number()}},
     "validation_failed", "subject.subject_type"),
    ("months-as-string", _bad(months="5"), "validation_failed", "months"),
]


@pytest.mark.parametrize("body,code,field", [b[1:] for b in BAD_INPUTS], ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_a_422_problem_naming_the_field_and_writes_nothing(client, auth, container, body, code, field):
    response = client.post("/api/v1/violations", json=body, headers=auth())
    assert response.status_code == 422, response.json
    assert response.mimetype == "application/problem+json"
    problem = response.json
    assert problem["code"] == code
    assert problem["status"] == 422 and problem["title"] and problem["type"]
    assert field in problem["errors"], problem
    assert any("\u4e00" <= ch <= "\u9fff" for ch in problem["detail"]), "detail must be Chinese"
    assert count_rows(container, ViolationRow) == 0
    assert count_rows(container, SubjectChangeRow) == 0


def test_determined_after_today_is_refused(client, auth, container):
    response = client.post("/api/v1/violations", json=violation(occurred_on="2026-11-01",
                                                                determined_on="2026-11-27"), headers=auth())
    assert response.status_code == 422
    assert response.json["code"] == "determined_in_future"
    assert count_rows(container, ViolationRow) == 0


@pytest.mark.parametrize("data,content_type", [("{not json", "application/json"), ("", "application/json"),
                                               ("[1, 2]", "application/json")])
def test_unparseable_body_is_a_problem_not_a_500(client, auth, data, content_type):
    response = client.post("/api/v1/violations", data=data, content_type=content_type, headers=auth())
    assert response.status_code in (400, 422)
    assert response.mimetype == "application/problem+json"


def test_no_token_is_401_and_unknown_token_is_401(client):
    assert client.post("/api/v1/violations", json=violation()).status_code == 401
    response = client.post("/api/v1/violations", json=violation(), headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.json["code"] == "invalid_token"


@pytest.mark.parametrize("role", ["settlement", "person"])
def test_roles_that_only_read_cannot_record(client, auth, role):
    response = client.post("/api/v1/violations", json=violation(), headers=auth(role))
    assert response.status_code == 403
    assert response.json["code"] == "role_not_allowed"


def test_staff_write_only_in_their_own_region(client, auth, container):
    assert client.post("/api/v1/violations", json=violation(region="370100"),
                       headers=auth("staff-jinan")).status_code == 201
    response = client.post("/api/v1/violations", json=violation(region="370900"), headers=auth("staff-jinan"))
    assert response.status_code == 403
    assert response.json["code"] == "region_not_allowed"
    assert count_rows(container, ViolationRow) == 1


def test_reporter_sees_the_id_number_masked_and_staff_sees_it_whole(client, auth):
    number = id_number()
    as_reporter = client.post("/api/v1/violations", json=violation(id_number=number), headers=auth("reporter"))
    assert as_reporter.json["violation"]["subject"]["id_number"] == number[:6] + "********" + number[14:]
    as_staff = client.post("/api/v1/violations", json=violation(id_number=number), headers=auth("staff-jinan"))
    assert as_staff.json["violation"]["subject"]["id_number"] == number


def test_staff_override_within_the_band_and_422_outside_it(client, auth):
    ok = client.post("/api/v1/violations", json=violation(fund_loss="150000.00", months=8), headers=auth("staff-jinan"))
    assert ok.status_code == 201
    assert ok.json["measures"][0]["months"] == 8
    assert ok.json["measures"][0]["restores_on"] == "2025-12-10"
    bad = client.post("/api/v1/violations", json=violation(fund_loss="150000.00", months=9), headers=auth("staff-jinan"))
    assert bad.status_code == 422
    assert bad.json["code"] == "months_out_of_range"
    assert "6至8" in bad.json["detail"]


def test_reporter_may_not_choose_the_months(client, auth):
    response = client.post("/api/v1/violations", json=violation(months=6), headers=auth("reporter"))
    assert response.status_code == 403
    assert response.json["code"] == "override_not_allowed"


@pytest.mark.article("第九条")
def test_art9_escalation_through_the_api_adds_the_difference_after_the_running_suspension(client, auth):
    person = id_number()
    first = client.post("/api/v1/violations", json=violation(id_number=person, fund_loss="60000.00",
                                                             determined_on="2025-04-10"), headers=auth())
    assert first.json["measures"][0]["months"] == 3
    second = client.post("/api/v1/violations", json=violation(id_number=person, fund_loss="40000.00",
                                                              determined_on="2025-05-20"), headers=auth())
    [extra] = second.json["measures"]
    assert (extra["starts_on"], extra["months"], extra["restores_on"]) == ("2025-07-10", 3, "2025-10-10")
    assert "追加暂停3个月" in extra["explanation"]
    status = client.get(f"/api/v1/subjects/insured/{person}/status?on=2025-09-30", headers=auth("settlement"))
    assert status.json["settlement_allowed"] is False
    assert client.get(f"/api/v1/subjects/insured/{person}/status?on=2025-10-10",
                      headers=auth("settlement")).json["settlement_allowed"] is True


def test_zero_loss_is_recorded_without_a_measure(client, auth, container):
    response = client.post("/api/v1/violations", json=violation(fund_loss="0.00"), headers=auth())
    assert response.status_code == 201
    assert response.json["measures"] == []
    assert "未达到暂停联网结算的条件" in response.json["violation"]["notes"]
    assert count_rows(container, ViolationRow) == 1


@pytest.mark.article("第九条第五项")
def test_art9_item5_criminal_fraud_lists_the_person(client, auth):
    person = id_number()
    response = client.post("/api/v1/violations", json=violation(
        id_number=person, handling="criminal", fraud=True, fund_loss="250000.00"), headers=auth())
    kinds = {m["kind"]: m for m in response.json["measures"]}
    assert set(kinds) == {"settlement_suspension", "joint_punishment_listing"}
    assert kinds["joint_punishment_listing"]["article"] == "第九条第五项"
    assert kinds["joint_punishment_listing"]["restores_on"] is None
    status = client.get(f"/api/v1/subjects/insured/{person}/status?on=2025-05-01", headers=auth("settlement"))
    assert status.json["listed"] is True


def test_decision_past_the_rule_sets_expiry_says_so(client, auth):
    response = client.post("/api/v1/violations", json=violation(occurred_on="2026-09-01",
                                                                determined_on="2026-10-10"), headers=auth())
    [m] = response.json["measures"]
    assert m["past_expiry"] is True
    assert "有效期至2026-08-09" in m["explanation"]
