"""Issue 11's loose ends through the HTTP API: re-registration (重新登记备案) after a terminated payment
qualification, expert recommendations listed and withdrawn (第八条), and an objection closed because a
recomputation revoked its measure (第十条)."""
from __future__ import annotations

import pytest

from tests.api.test_practitioners_api import physician_violation, record, status
from tests.factories import id_number


def _terminated(client, auth):
    """6 + 6 points in 2025: terminated 2025-05-20, re-registration allowed from 2026-05-20 (1 year)."""
    doctor = id_number()
    record(client, auth, physician_violation(doctor, 6, "moderate", "2025-03-01"))
    (m,) = record(client, auth, physician_violation(doctor, 6, "moderate", "2025-05-20"))["measures"]
    assert (m["kind"], m["reregistration_from"], m["restores_on"]) == ("qualification_termination", "2026-05-20", None)
    return doctor, m["id"]


def _reregister(client, auth, measure_id, registered_on, who="staff-jinan"):
    return client.post(f"/api/v1/measures/{measure_id}/reregistration", headers=auth(who),
                       json={"registered_on": registered_on, "note": "鲁医保备〔2026〕12号"})


@pytest.mark.article("第八条第二项")
def test_art8_item2_staff_record_a_reregistration_and_the_qualification_is_normal_from_that_day(client, auth):
    doctor, measure_id = _terminated(client, auth)
    assert status(client, auth, doctor, "2026-06-15")["qualification"]["status"] == "terminated"
    response = _reregister(client, auth, measure_id, "2026-06-15")
    assert response.status_code == 200, response.json
    measure = response.json["measure"]
    assert (measure["restores_on"], measure["state"], measure["reregistration_from"]) == (
        "2026-06-15", "ended", "2026-05-20")
    assert "重新登记备案" in response.json["article"] and "医保发〔2024〕23号" in response.json["article"]
    before = status(client, auth, doctor, "2026-06-14")
    assert before["settlement_allowed"] is False and before["qualification"]["status"] == "terminated"
    after = status(client, auth, doctor, "2026-06-15")
    assert after["settlement_allowed"] is True and after["qualification"] == {
        "status": "normal", "since": None, "until": None, "reregistration_from": None}
    # audited as a change of the measure, by the staff member
    trail = client.get(f"/api/v1/audit?subject_type=physician&id_number={doctor}", headers=auth()).json["events"]
    (entry,) = [e for e in trail if e["action"] == "measure_reregistered"]
    assert entry["entity_id"] == measure_id and entry["actor"] == "staff-jinan"
    # the points model applies again: 9 points in July 2026 suspend for a month
    (suspension,) = record(client, auth, physician_violation(doctor, 9, "serious", "2026-07-01"))["measures"]
    assert (suspension["kind"], suspension["starts_on"], suspension["restores_on"]) == (
        "qualification_suspension", "2026-07-01", "2026-08-01")
    again = _reregister(client, auth, measure_id, "2026-07-01")
    assert (again.status_code, again.json["code"]) == (409, "already_reregistered")


@pytest.mark.article("第八条第二项")
def test_art8_item2_reregistration_before_the_bar_ends_is_refused_and_changes_nothing(client, auth):
    doctor, measure_id = _terminated(client, auth)
    refused = _reregister(client, auth, measure_id, "2026-05-19")
    assert (refused.status_code, refused.json["code"]) == (422, "reregistration_barred")
    assert "2026-05-20" in refused.json["detail"] and "registered_on" in refused.json["errors"]
    assert status(client, auth, doctor, "2026-11-01")["qualification"]["status"] == "terminated"


@pytest.mark.parametrize(("who", "day", "status_code", "code"), [
    pytest.param("staff-taian", "2026-06-01", 403, "region_not_allowed", id="他区经办人员"),
    pytest.param("settlement", "2026-06-01", 403, "role_not_allowed", id="结算方"),
    pytest.param("reporter", "2026-06-01", 403, "role_not_allowed", id="上报方"),
    pytest.param("admin", "2026-12-01", 422, "registered_in_future", id="晚于今天"),
])
def test_reregistration_refusals(client, auth, who, day, status_code, code):
    doctor, measure_id = _terminated(client, auth)
    response = _reregister(client, auth, measure_id, day, who)
    assert (response.status_code, response.json["code"]) == (status_code, code)
    assert status(client, auth, doctor, "2026-11-01")["qualification"]["status"] == "terminated"


def test_reregistration_of_a_revoked_qualification_or_an_unknown_measure_is_refused(client, auth):
    doctor = id_number()
    body = physician_violation(doctor, None, None, "2025-04-01", handling="criminal", fraud=True)
    revoked = [m for m in record(client, auth, body)["measures"] if m["kind"] == "qualification_revoked"][0]
    response = _reregister(client, auth, revoked["id"], "2026-06-01")
    assert (response.status_code, response.json["code"]) == (422, "reregistration_not_applicable")
    missing = _reregister(client, auth, "0" * 32, "2026-06-01")
    assert (missing.status_code, missing.json["code"]) == (404, "measure_not_found")


# --- expert recommendations: list and withdraw (第八条第一项) -------------------------------------------

def _mark(client, auth, doctor, year=2026, who="staff-jinan", region="370100"):
    response = client.post(f"/api/v1/subjects/physician/{doctor}/expert-recommendations", headers=auth(who),
                           json={"year": year, "region": region, "reason": "合理用药、零违规"})
    assert response.status_code == 201, response.json
    return response.json


@pytest.mark.article("第八条第一项")
def test_art8_item1_marks_are_listed_and_a_withdrawn_mark_no_longer_gives_the_incentive(client, auth):
    doctor = id_number()
    first = _mark(client, auth, doctor, 2026)
    _mark(client, auth, doctor, 2025)
    listed = client.get(f"/api/v1/subjects/physician/{doctor}/expert-recommendations", headers=auth("staff-jinan"))
    assert listed.status_code == 200
    assert [(r["year"], r["state"], r["id_number"]) for r in listed.json["recommendations"]] == [
        (2026, "active", doctor), (2025, "active", doctor)]
    assert status(client, auth, doctor, "2026-06-01")["incentives"] == ["expert_recommendation"]

    withdrawn = client.post(f"/api/v1/expert-recommendations/{first['id']}/withdrawal", headers=auth("staff-jinan"),
                            json={"reason": "发现其存在违规线索，暂不推荐"})
    assert withdrawn.status_code == 200, withdrawn.json
    assert (withdrawn.json["state"], withdrawn.json["withdrawn_on"], withdrawn.json["withdrawn_by"]) == (
        "withdrawn", "2026-11-26", "staff-jinan")
    assert status(client, auth, doctor, "2026-06-01")["incentives"] == []
    assert status(client, auth, doctor, "2025-06-01")["incentives"] == ["expert_recommendation"]
    queried = client.post("/api/v1/expert-recommendations/query", headers=auth(),
                          json={"subject_type": "physician", "id_number": doctor})
    assert [(r["year"], r["state"]) for r in queried.json["recommendations"]] == [(2026, "withdrawn"), (2025, "active")]
    twice = client.post(f"/api/v1/expert-recommendations/{first['id']}/withdrawal", headers=auth(),
                        json={"reason": "再次"})
    assert (twice.status_code, twice.json["code"]) == (409, "recommendation_withdrawn")
    # marked again later: the same mark, active again
    again = _mark(client, auth, doctor, 2026)
    assert again["id"] == first["id"]
    assert status(client, auth, doctor, "2026-06-01")["incentives"] == ["expert_recommendation"]
    trail = client.get(f"/api/v1/audit?subject_type=physician&id_number={doctor}", headers=auth()).json["events"]
    assert [e["action"] for e in trail if e["entity"] == "expert_recommendation"] == [
        "expert_recommended", "expert_recommended", "expert_recommendation_withdrawn", "expert_recommended"]


@pytest.mark.parametrize(("who", "status_code", "code"), [
    pytest.param("staff-taian", 403, "region_not_allowed", id="他区经办人员"),
    pytest.param("settlement", 403, "role_not_allowed", id="结算方"),
    pytest.param("person", 403, "role_not_allowed", id="本人"),
])
def test_only_the_marking_region_or_admin_withdraws(client, auth, who, status_code, code):
    doctor = id_number()
    mark = _mark(client, auth, doctor)
    response = client.post(f"/api/v1/expert-recommendations/{mark['id']}/withdrawal", headers=auth(who),
                           json={"reason": "x"})
    assert (response.status_code, response.json["code"]) == (status_code, code)
    assert status(client, auth, doctor, "2026-06-01")["incentives"] == ["expert_recommendation"]


def test_listing_is_limited_to_the_staff_members_region_and_withdrawing_nothing_is_404(client, auth):
    doctor = id_number()
    _mark(client, auth, doctor, 2026, who="admin", region="370900")
    _mark(client, auth, doctor, 2025)
    listed = client.get(f"/api/v1/subjects/physician/{doctor}/expert-recommendations", headers=auth("staff-taian"))
    assert [(r["year"], r["region"]) for r in listed.json["recommendations"]] == [(2026, "370900")]
    refused = client.get(f"/api/v1/subjects/physician/{doctor}/expert-recommendations", headers=auth("settlement"))
    assert (refused.status_code, refused.json["code"]) == (403, "role_not_allowed")
    insured = client.post("/api/v1/expert-recommendations/query", headers=auth(),
                          json={"subject_type": "insured", "id_number": doctor})
    assert insured.status_code == 422
    missing = client.post(f"/api/v1/expert-recommendations/{'0' * 32}/withdrawal", headers=auth(), json={"reason": "x"})
    assert (missing.status_code, missing.json["code"]) == (404, "recommendation_not_found")


# --- 第十条: a closed objection as the API shows it -------------------------------------------------------

@pytest.mark.article("第十条")
def test_art10_an_objection_on_a_measure_revoked_by_recomputation_reads_closed_with_its_reason(client, auth):
    from tests.factories import violation
    person = id_number()
    measures = []
    for ref, day, loss in (("LE-1", "2026-03-02", "120000.00"), ("LE-2", "2026-05-04", "100000.00")):
        body = violation(id_number=person, source_ref=f"{ref}-{person}", determined_on=day, occurred_on=day,
                         fund_loss=loss)
        measures.append(client.post("/api/v1/violations", json=body, headers=auth()).json["measures"][0]["id"])
    objections = [client.post("/api/v1/objections", headers=auth("staff-jinan"),
                              json={"measure_id": m, "filed_on": "2026-06-01", "reason": "有误"}).json["id"]
                  for m in measures]
    decided = client.post(f"/api/v1/objections/{objections[0]}/decision", headers=auth("staff-jinan"),
                          json={"outcome": "upheld", "decided_on": "2026-06-10", "reason": "证据不足"})
    assert decided.status_code == 200 and measures[1] in [m["id"] for m in decided.json["revoked_measures"]]
    closed = client.get(f"/api/v1/objections/{objections[1]}", headers=auth("staff-jinan")).json
    assert (closed["state"], closed["decided_on"], closed["outcome"], closed["overdue"]) == (
        "closed", "2026-06-10", None, False)
    assert objections[0] in closed["decision_reason"]
    worklist = client.get("/api/v1/worklist", headers=auth("staff-jinan")).json
    assert objections[1] not in str(worklist)
