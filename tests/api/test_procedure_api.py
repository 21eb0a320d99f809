"""Notices, objections, repairs, the record and the worklist through the HTTP layer (API.md; Arts 10–12).
Today (the injected clock) is 2026-11-26."""
from __future__ import annotations

import pytest

from tests.conftest import PERSON_ID
from tests.factories import id_number, violation
from tests.workflow import on_day

PROBLEM = "application/problem+json"


def record(client, auth, number=None, **kw):
    body = violation(id_number=number or id_number(), determined_on=kw.pop("determined_on", "2026-10-09"),
                     occurred_on=kw.pop("occurred_on", "2026-09-01"), **kw)
    response = client.post("/api/v1/violations", json=body, headers=auth())
    assert response.status_code == 201, response.json
    return response.json["measures"]


def serve(client, auth, measure_id, received_on="2026-10-13", who="staff-jinan", served_on="2026-10-12"):
    return client.post(f"/api/v1/measures/{measure_id}/notice", json={"served_on": min(served_on, received_on),
                                                                        "received_on": received_on},
                       headers=auth(who))


def object_to(client, auth, measure_id, filed_on, who="staff-jinan"):
    return client.post("/api/v1/objections", json={"measure_id": measure_id, "filed_on": filed_on,
                                                    "reason": "金额计算有误", "evidence": ["费用清单"]},
                       headers=auth(who))


def problem_of(response, status, code):
    assert response.status_code == status, response.json
    assert response.mimetype == PROBLEM
    assert response.json["code"] == code and response.json["detail"]
    return response.json


@pytest.mark.article("第十条")
def test_art10_notice_records_receipt_and_the_15th_working_day(client, auth):
    measure = record(client, auth)[0]
    response = serve(client, auth, measure["id"])
    assert response.status_code == 201
    # 10-14 Wed(1) .. 10-16(3), 10-19(4) .. 10-23(8), 10-26(9) .. 10-30(13), 11-02(14), 11-03(15)
    assert response.json | {"id": None} == {"id": None, "measure_id": measure["id"], "served_on": "2026-10-12",
                                            "received_on": "2026-10-13", "objection_deadline": "2026-11-03",
                                            "provisional": False, "window_closed_on": None}
    problem_of(serve(client, auth, measure["id"]), 409, "notice_exists")


@pytest.mark.article("第十条")
def test_art10_objection_on_the_deadline_day_accepted_next_working_day_refused(client, auth):
    on_time, late = record(client, auth)[0], record(client, auth)[0]
    serve(client, auth, on_time["id"])
    serve(client, auth, late["id"])
    accepted = object_to(client, auth, on_time["id"], "2026-11-03")
    assert accepted.status_code == 201, accepted.json
    # 10-14(1) .. 11-16(15) working days after the filing
    assert (accepted.json["state"], accepted.json["review_due_on"]) == ("open", "2026-11-24")
    refused = problem_of(object_to(client, auth, late["id"], "2026-11-04"), 422, "objection_window_closed")
    assert "2026-11-03" in refused["detail"]


def test_one_open_objection_per_measure_and_no_objection_to_a_revoked_measure(client, auth):
    measure = record(client, auth)[0]
    first = object_to(client, auth, measure["id"], "2026-10-20").json
    problem_of(object_to(client, auth, measure["id"], "2026-10-21"), 409, "objection_open")
    decided = client.post(f"/api/v1/objections/{first['id']}/decision",
                          json={"outcome": "upheld", "decided_on": "2026-11-02", "reason": "材料属实"},
                          headers=auth("staff-jinan"))
    assert decided.status_code == 200, decided.json
    assert [m["id"] for m in decided.json["revoked_measures"]] == [measure["id"]]
    assert decided.json["revoked_measures"][0]["state"] == "revoked"
    problem_of(client.post(f"/api/v1/objections/{first['id']}/decision",
                           json={"outcome": "rejected", "decided_on": "2026-11-03", "reason": "再议"},
                           headers=auth("staff-jinan")), 409, "objection_closed")
    problem_of(object_to(client, auth, measure["id"], "2026-11-05"), 409, "measure_revoked")
    problem_of(serve(client, auth, measure["id"]), 409, "measure_revoked")


def test_upheld_objection_lets_the_subject_settle_on_every_day_from_the_start(client, auth):
    number = id_number()
    measure = record(client, auth, number)[0]
    status = f"/api/v1/subjects/insured/{number}/status?on=2026-10-09"
    assert client.get(status, headers=auth("settlement")).json["settlement_allowed"] is False
    objection = object_to(client, auth, measure["id"], "2026-10-20").json
    client.post(f"/api/v1/objections/{objection['id']}/decision",
                json={"outcome": "upheld", "decided_on": "2026-11-02", "reason": "材料属实"},
                headers=auth("staff-jinan"))
    assert client.get(status, headers=auth("settlement")).json["settlement_allowed"] is True


def test_modified_objection_recomputes_with_the_corrected_loss(client, auth):
    number = id_number()
    measure = record(client, auth, number, fund_loss="150000.00")[0]
    objection = object_to(client, auth, measure["id"], "2026-10-20").json
    response = client.post(f"/api/v1/objections/{objection['id']}/decision",
                           json={"outcome": "modified", "decided_on": "2026-11-02", "reason": "核减",
                                 "fund_loss": "50000.00"}, headers=auth("staff-jinan"))
    assert response.status_code == 200, response.json
    new = response.json["new_measures"]
    assert [(m["starts_on"], m["restores_on"], m["months"], m["article"]) for m in new] == [
        ("2026-10-09", "2027-01-09", 3, "第九条第二项")]
    assert response.json["objection"]["fund_loss"] == "50000.00"
    problem_of(client.post(f"/api/v1/objections/{objection['id']}/decision",
                           json={"outcome": "modified", "decided_on": "2026-11-02", "reason": "x"},
                           headers=auth("staff-jinan")), 409, "objection_closed")


@pytest.mark.parametrize(("body", "field"), [
    ({"outcome": "modified", "decided_on": "2026-11-02", "reason": "x"}, "fund_loss"),
    ({"outcome": "upheld", "decided_on": "2026-11-02", "reason": "x", "fund_loss": "1.00"}, "fund_loss"),
    ({"outcome": "withdrawn", "decided_on": "2026-11-02", "reason": "x"}, "outcome"),
    ({"outcome": "upheld", "decided_on": "2026-10-01", "reason": "x"}, "decided_on"),
    ({"outcome": "upheld", "decided_on": "2026-11-27", "reason": "x"}, "decided_on"),
    ({"outcome": "modified", "decided_on": "2026-11-02", "reason": "x", "fund_loss": 1.5}, "fund_loss"),
])
def test_objection_decision_is_validated_field_by_field(client, auth, body, field):
    measure = record(client, auth)[0]
    objection = object_to(client, auth, measure["id"], "2026-10-20").json
    response = client.post(f"/api/v1/objections/{objection['id']}/decision", json=body, headers=auth("staff-jinan"))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert field in response.json["errors"], response.json


def test_decision_after_review_due_is_accepted_and_recorded_as_late(client, auth):
    measure = record(client, auth)[0]
    objection = object_to(client, auth, measure["id"], "2026-10-12").json
    assert objection["review_due_on"] == "2026-11-02"
    decided = client.post(f"/api/v1/objections/{objection['id']}/decision",
                          json={"outcome": "rejected", "decided_on": "2026-11-03", "reason": "维持"},
                          headers=auth("staff-jinan")).json
    assert decided["objection"]["decided_late"] is True and decided["revoked_measures"] == []


def test_evidence_complete_restarts_the_review_clock(client, auth):
    measure = record(client, auth)[0]
    objection = object_to(client, auth, measure["id"], "2026-10-12").json
    response = client.post(f"/api/v1/objections/{objection['id']}/evidence-complete", json={"on": "2026-10-30"},
                           headers=auth("staff-jinan"))
    # 11-02(1) .. 11-20 Fri(15)
    assert response.json["review_due_on"] == "2026-11-20" and response.json["evidence_complete_on"] == "2026-10-30"


def test_person_objects_and_applies_for_repair_only_for_themself(client, auth, clock):
    own = record(client, auth, PERSON_ID)[0]
    other = record(client, auth)[0]
    with on_day(clock, "2026-10-20"):  # a person's filing is dated the day they file (API.md v1.1)
        filed = object_to(client, auth, own["id"], "2026-10-20", who="person")
        assert filed.status_code == 201 and filed.json["id_number"] == "370102********1231"
        problem_of(object_to(client, auth, other["id"], "2026-10-20", who="person"), 403, "not_own_subject")
    with on_day(clock, "2026-11-02"):
        repair = client.post("/api/v1/repairs", json={
            "subject_type": "insured", "id_number": PERSON_ID, "measure_id": own["id"], "filed_on": "2026-11-02",
            "corrected": True, "adverse_effects_removed": True, "commitment": True, "evidence": ["退款凭证"]},
            headers=auth("person"))
    assert repair.status_code == 201, repair.json
    assert repair.json["reply_due_on"] == "2026-11-23"  # 11-03(1) .. 11-23 Mon(15)
    problem_of(client.post(f"/api/v1/repairs/{repair.json['id']}/decision",
                           json={"outcome": "approved", "decided_on": "2026-11-10", "reason": "核实"},
                           headers=auth("person")), 403, "role_not_allowed")


def test_staff_write_only_in_their_region(client, auth):
    measure = record(client, auth)[0]  # region 370100
    problem_of(serve(client, auth, measure["id"], who="staff-taian"), 403, "region_not_allowed")
    problem_of(object_to(client, auth, measure["id"], "2026-10-20", who="staff-taian"), 403, "region_not_allowed")
    problem_of(serve(client, auth, measure["id"], who="settlement"), 403, "role_not_allowed")
    problem_of(serve(client, auth, "nosuchmeasure"), 404, "measure_not_found")


def test_repair_decision_twice_and_incomplete_conditions_are_refused(client, auth):
    number = id_number()
    measure = record(client, auth, number)[0]
    incomplete = client.post("/api/v1/repairs", json={
        "subject_type": "insured", "id_number": number, "measure_id": measure["id"], "filed_on": "2026-11-02",
        "corrected": True, "adverse_effects_removed": False, "commitment": True}, headers=auth("staff-jinan")).json
    problem_of(client.post(f"/api/v1/repairs/{incomplete['id']}/decision",
                           json={"outcome": "approved", "decided_on": "2026-11-10", "reason": "核实"},
                           headers=auth("staff-jinan")), 422, "repair_conditions_incomplete")
    rejected = client.post(f"/api/v1/repairs/{incomplete['id']}/decision",
                           json={"outcome": "rejected", "decided_on": "2026-11-10", "reason": "未退回基金损失"},
                           headers=auth("staff-jinan"))
    assert rejected.status_code == 200 and rejected.json["state"] == "rejected"
    problem_of(client.post(f"/api/v1/repairs/{incomplete['id']}/decision",
                           json={"outcome": "approved", "decided_on": "2026-11-11", "reason": "x"},
                           headers=auth("staff-jinan")), 409, "repair_decided")
    problem_of(client.post("/api/v1/repairs", json={
        "subject_type": "insured", "id_number": id_number(), "measure_id": measure["id"], "filed_on": "2026-11-02",
        "corrected": True, "adverse_effects_removed": True, "commitment": True}, headers=auth("staff-jinan")),
        422, "measure_not_of_subject")


def test_worklist_soonest_first_scoped_to_the_staff_region(client, auth):
    a, b = record(client, auth)[0], record(client, auth)[0]
    taian = record(client, auth, region="370900")[0]
    object_to(client, auth, a["id"], "2026-11-20")                         # review due 12-11
    object_to(client, auth, b["id"], "2026-11-02")                         # review due 11-23: overdue
    object_to(client, auth, taian["id"], "2026-11-03", who="staff-taian")  # other region
    serve(client, auth, a["id"], received_on="2026-11-25")                 # window open until 12-16
    items = client.get("/api/v1/worklist", headers=auth("staff-jinan")).json["items"]
    assert [(i["kind"], i["due_on"], i["overdue"]) for i in items] == [
        ("objection_review", "2026-11-23", True), ("objection_review", "2026-12-11", False),
        ("objection_window", "2026-12-16", False)]
    assert all(i["region"] == "370100" and len(i["id_number"]) == 18 for i in items)
    soon = client.get("/api/v1/worklist?due_before=2026-12-01", headers=auth("staff-jinan")).json["items"]
    assert [i["due_on"] for i in soon] == ["2026-11-23"]
    everything = client.get("/api/v1/worklist", headers=auth("admin")).json["items"]
    assert len(everything) == 4
    problem_of(client.get("/api/v1/worklist?region=370900", headers=auth("staff-jinan")), 403, "region_not_allowed")
    problem_of(client.get("/api/v1/worklist", headers=auth("settlement")), 403, "role_not_allowed")


def test_record_of_a_natural_year(client, auth):
    first = record(client, auth, PERSON_ID, fund_loss="120000.00", determined_on="2026-03-02",
                   occurred_on="2026-02-01")[0]
    record(client, auth, PERSON_ID, fund_loss="100000.00", determined_on="2026-05-04", occurred_on="2026-04-01")
    record(client, auth, PERSON_ID, fund_loss="1.00", determined_on="2025-05-04", occurred_on="2025-04-01")
    serve(client, auth, first["id"], received_on="2026-03-05")
    body = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/record?year=2026", headers=auth("person")).json
    assert body["year"] == 2026 and body["total_fund_loss"] == "220000.00"
    assert body["id_number"] == "370102********1231"
    assert [v["fund_loss"] for v in body["violations"]] == ["120000.00", "100000.00"]
    assert [(m["months"], m["state"]) for m in body["measures"]] == [(6, "ended"), (3, "active")]
    assert len(body["notices"]) == 1 and body["objections"] == [] and body["repairs"] == []
    staff = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/record?year=2025", headers=auth("staff-jinan")).json
    assert staff["id_number"] == PERSON_ID and staff["total_fund_loss"] == "1.00"
    # another region's staff: the case files are Jinan's (issue 9 finding 6, tests/api/test_finding6_*.py)
    other = client.get(f"/api/v1/subjects/insured/{PERSON_ID}/record?year=2025", headers=auth("staff-taian")).json
    assert (other["violations"], other["total_fund_loss"], other["partial"]) == ([], "0.00", True)
    problem_of(client.get(f"/api/v1/subjects/insured/{id_number()}/record", headers=auth("person")), 403,
               "not_own_subject")
    problem_of(client.get(f"/api/v1/subjects/insured/{PERSON_ID}/record?year=26", headers=auth("admin")), 422,
               "validation_failed")


def test_printable_notice_is_chinese_html_with_the_subject_masked(client, auth):
    measure = record(client, auth, PERSON_ID)[0]
    serve(client, auth, measure["id"])
    page = client.get(f"/api/v1/measures/{measure['id']}/notice", headers=auth("person"))
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for text in ("信用结果告知书", "370102********1231", "第九条第三项", "2026-11-03", "150000.00",
                 "15个工作日", "第十二条", "鲁医保发〔2024〕25号"):
        assert text in html, text
    assert PERSON_ID not in html and "张三" not in html


@pytest.mark.article("第十条")
def test_worklist_pages_with_a_total_filters_by_kind_and_counts_working_days_left(client, auth):
    """第十条: the review is due within 15 working days; the worklist no longer stops silently at 500."""
    measures = [record(client, auth)[0] for _ in range(5)]
    for m, filed_on in zip(measures, ("2026-11-20", "2026-11-02", "2026-11-23", "2026-11-24", "2026-11-25")):
        object_to(client, auth, m["id"], filed_on)
    serve(client, auth, measures[0]["id"], received_on="2026-11-25")
    whole = client.get("/api/v1/worklist", headers=auth("staff-jinan")).json
    assert whole["total"] == 6 and len(whole["items"]) == 6
    first = client.get("/api/v1/worklist?limit=2", headers=auth("staff-jinan")).json
    second = client.get("/api/v1/worklist?limit=2&offset=2", headers=auth("staff-jinan")).json
    assert first["total"] == second["total"] == 6 and (first["offset"], second["offset"]) == (0, 2)
    assert [i["id"] for i in first["items"] + second["items"]] == [i["id"] for i in whole["items"][:4]]
    assert [i["due_on"] for i in whole["items"]] == sorted(i["due_on"] for i in whole["items"])
    reviews = client.get("/api/v1/worklist?kind=objection_review", headers=auth("staff-jinan")).json
    assert reviews["total"] == 5 and {i["kind"] for i in reviews["items"]} == {"objection_review"}
    overdue = whole["items"][0]
    assert overdue["overdue"] and overdue["working_days_left"] < 0
    assert whole["items"][1]["working_days_left"] > 0
    problem_of(client.get("/api/v1/worklist?kind=everything", headers=auth("staff-jinan")), 422, "validation_failed")
    problem_of(client.get("/api/v1/worklist?limit=501", headers=auth("staff-jinan")), 422, "validation_failed")
    problem_of(client.get("/api/v1/worklist?offset=-1", headers=auth("staff-jinan")), 422, "validation_failed")
    problem_of(client.get("/api/v1/worklist?offset=1000000001", headers=auth("staff-jinan")), 422, "validation_failed")
    assert client.get("/api/v1/worklist?offset=1000000000", headers=auth("staff-jinan")).json["items"] == []


def test_worklist_total_counts_beyond_the_page_cap(container, client, auth):
    from datetime import date
    from credit_service.services.record_queries import worklist
    from tests.unit_helpers import acting
    for _ in range(3):
        object_to(client, auth, record(client, auth)[0]["id"], "2026-11-20")
    page = worklist(container.uow(), acting("admin"), date(2026, 11, 26), None, None, limit=2)
    assert page.total == 3 and len(page.items) == 2
