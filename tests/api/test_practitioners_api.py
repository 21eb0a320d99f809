"""Practitioners through the HTTP layer: points and their status, POST /claims/check, claims in the
batch, criminal fraud, expert_recommendation (第八条; 医保发〔2024〕23号; 济南 2023 第十七条)."""
from __future__ import annotations

import pytest

from tests.factories import id_number, violation, with_wrong_check_digit


def physician_violation(number: str, points: int | None, category: str | None, determined_on: str, **kw) -> dict:
    return violation(id_number=number, subject_type="physician", points=points, category=category,
                     occurred_on=kw.pop("occurred_on", determined_on), determined_on=determined_on,
                     handling=kw.pop("handling", "agreement"), fund_loss=kw.pop("fund_loss", "2000.00"), **kw)


def record(client, auth, body, who="admin"):
    response = client.post("/api/v1/violations", json=body, headers=auth(who))
    assert response.status_code == 201, response.json
    return response.json


def status(client, auth, number, day, subject_type="physician", extra=""):
    response = client.get(f"/api/v1/subjects/{subject_type}/{number}/status?on={day}{extra}",
                          headers=auth("settlement"))
    assert response.status_code == 200, response.json
    return response.json


def claim(number_insured, practitioners, on, emergency=None):
    body = {"on": on, "insured": {"subject_type": "insured", "id_number": number_insured},
            "practitioners": [{"subject_type": t, "id_number": n} for t, n in practitioners]}
    if emergency is not None:
        body["emergency"] = emergency
    return body


def test_the_life_of_a_practitioner_case(client, auth):
    """points → suspension → end → reset next year (the README walks through the same case)."""
    doctor = id_number()
    first = record(client, auth, physician_violation(doctor, 5, "moderate", "2025-03-10"))
    assert first["measures"] == [] and first["violation"]["points"] == 5
    assert first["violation"]["category"] == "moderate" and "累计记分5分" in first["violation"]["notes"]
    second = record(client, auth, physician_violation(doctor, 4, "moderate", "2025-04-01"))
    (m,) = second["measures"]
    assert (m["kind"], m["starts_on"], m["restores_on"], m["months"], m["rule_set"], m["article"]) == (
        "qualification_suspension", "2025-04-01", "2025-05-01", 1, "shandong-practitioners-2024", "累计记分达到9分")
    suspended = status(client, auth, doctor, "2025-04-15")
    assert suspended["settlement_allowed"] is False
    assert suspended["qualification"] == {"status": "suspended", "since": "2025-04-01", "until": "2025-05-01",
                                          "reregistration_from": None}
    assert suspended["restrictions"][0]["kind"] == "qualification_suspension"
    restored = status(client, auth, doctor, "2025-05-01")
    assert restored["settlement_allowed"] is True and restored["qualification"]["status"] == "normal"
    # A new natural year: 9 points of 2025 do not carry over; 8 in 2026 leave the qualification normal.
    third = record(client, auth, physician_violation(doctor, 8, "serious", "2026-01-05"))
    assert third["measures"] == [] and "2026年度累计记分8分" in third["violation"]["notes"]
    assert status(client, auth, doctor, "2026-01-06")["qualification"]["status"] == "normal"


@pytest.mark.parametrize(("rows", "day", "expected"), [
    pytest.param([(4, "moderate", "2025-03-01"), (4, "moderate", "2025-04-01")], "2025-04-02",
                 {"status": "normal", "since": None, "until": None, "reregistration_from": None}, id="8分-正常"),
    pytest.param([(11, "grave", "2025-04-01")], "2025-06-30",
                 {"status": "suspended", "since": "2025-04-01", "until": "2025-07-01", "reregistration_from": None},
                 id="11分-暂停3个月"),
    pytest.param([(6, "moderate", "2025-03-01"), (6, "moderate", "2025-04-01")], "2026-06-01",
                 {"status": "terminated", "since": "2025-04-01", "until": None, "reregistration_from": "2026-04-01"},
                 id="累计12分-终止-1年"),
    pytest.param([(12, "grave", "2025-04-01")], "2025-04-01",
                 {"status": "terminated", "since": "2025-04-01", "until": None, "reregistration_from": "2028-04-01"},
                 id="一次性12分-终止-3年"),
    pytest.param([(6, "moderate", "2025-12-31"), (6, "moderate", "2026-01-01")], "2026-01-02",
                 {"status": "normal", "since": None, "until": None, "reregistration_from": None},
                 id="12月31日与1月1日不累计"),
])
def test_point_thresholds_through_http(client, auth, rows, day, expected):
    doctor = id_number()
    for points, category, determined_on in rows:
        record(client, auth, physician_violation(doctor, points, category, determined_on))
    body = status(client, auth, doctor, day)
    assert body["qualification"] == expected
    assert body["settlement_allowed"] is (expected["status"] == "normal")


def test_points_out_of_band_is_422_naming_the_band(client, auth):
    response = client.post("/api/v1/violations", json=physician_violation(id_number(), 4, "minor", "2025-04-01"),
                           headers=auth())
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["code"] == "points_out_of_band"
    assert "1至3分" in response.json["detail"] and "1至3分" in response.json["errors"]["points"][0]


def test_unknown_category_is_422(client, auth):
    response = client.post("/api/v1/violations", json=physician_violation(id_number(), 2, "petty", "2025-04-01"),
                           headers=auth())
    assert response.status_code == 422 and response.json["code"] == "unknown_category"
    assert "minor" in response.json["errors"]["category"][0]


def test_import_rejects_an_out_of_band_row_and_keeps_the_others(client, auth):
    doctor = id_number()
    rows = [physician_violation(doctor, 3, "minor", "2025-04-01"), physician_violation(doctor, 13, "grave", "2025-04-02"),
            physician_violation(doctor, 6, "moderate", "2025-04-03")]
    body = client.post("/api/v1/violations/import", json=rows, headers=auth()).json
    assert [r["status"] for r in body["results"]] == ["created", "rejected", "created"]
    assert body["results"][1]["error"]["code"] == "points_out_of_band"
    # 3 + 6 = 9: the rejected row's 13 points were not counted
    assert [m["kind"] for m in body["results"][2]["measures"]] == ["qualification_suspension"]


@pytest.mark.article("第八条第四项")
def test_art8_item4_criminal_fraud_revokes_and_lists(client, auth):
    doctor = id_number()
    body = record(client, auth, physician_violation(doctor, None, None, "2025-04-01", handling="criminal", fraud=True))
    assert {m["kind"] for m in body["measures"]} == {"qualification_revoked", "joint_punishment_listing"}
    after = status(client, auth, doctor, "2030-01-01")
    assert after["listed"] is True and after["settlement_allowed"] is False
    assert after["qualification"] == {"status": "terminated", "since": "2025-04-01", "until": None,
                                      "reregistration_from": None}


def test_status_with_emergency_true_says_so_and_lets_a_suspended_physician_settle(client, auth):
    doctor = id_number()
    record(client, auth, physician_violation(doctor, 10, "grave", "2025-04-01"))
    plain = status(client, auth, doctor, "2025-04-15")
    assert plain["settlement_allowed"] is False and "emergency" not in plain
    urgent = status(client, auth, doctor, "2025-04-15", extra="&emergency=true")
    assert urgent["settlement_allowed"] is True
    assert urgent["emergency"] is True and urgent["emergency_exempted"] is True
    assert urgent["restrictions"] == plain["restrictions"]
    ordinary = status(client, auth, doctor, "2025-04-15", extra="&emergency=false")
    assert ordinary["settlement_allowed"] is False and ordinary["emergency_exempted"] is False
    bad = client.get(f"/api/v1/subjects/physician/{doctor}/status?on=2025-04-15&emergency=yes",
                     headers=auth("settlement"))
    assert bad.status_code == 422 and "emergency" in bad.json["errors"]


def test_emergency_does_not_lift_an_insured_persons_suspension(client, auth):
    person = id_number()
    record(client, auth, violation(id_number=person))  # 150,000 yuan: 6 months from 2025-04-10
    body = status(client, auth, person, "2025-05-01", subject_type="insured", extra="&emergency=true")
    assert body["settlement_allowed"] is False and body["emergency_exempted"] is False


# --- POST /api/v1/claims/check ----------------------------------------------------------------------

@pytest.fixture
def cast(client, auth):
    """A suspended physician, a pharmacist whose service is fine, a suspended insured person, a clean one."""
    people = {"doctor": id_number(), "pharmacist": id_number(), "patient": id_number(), "blocked_patient": id_number()}
    record(client, auth, physician_violation(people["doctor"], 9, "serious", "2025-04-01"))
    record(client, auth, violation(id_number=people["blocked_patient"], occurred_on="2025-03-01",
                                   determined_on="2025-04-01", fund_loss="50000.00"))
    return people


def test_claim_by_a_suspended_physician_is_not_settled_with_the_reason(client, auth, cast):
    response = client.post("/api/v1/claims/check", headers=auth("settlement"), json=claim(
        cast["patient"], [("physician", cast["doctor"]), ("pharmacist", cast["pharmacist"])], "2025-04-20"))
    assert response.status_code == 200
    body = response.json
    assert body["settleable"] is False and body["emergency"] is False and body["on"] == "2025-04-20"
    (reason,) = body["reasons"]
    assert reason["code"] == "practitioner_qualification_suspended" and reason["blocking"] is True
    assert reason["subject_type"] == "physician" and reason["id_number"] == cast["doctor"][:6] + "********" + cast["doctor"][14:]
    assert (reason["starts_on"], reason["restores_on"]) == ("2025-04-01", "2025-05-01")
    assert "暂停医保支付资格" in reason["detail"]
    assert [p["subject_type"] for p in body["parties"]] == ["insured", "physician", "pharmacist"]


def test_claim_after_the_suspension_ends_is_settled(client, auth, cast):
    body = client.post("/api/v1/claims/check", headers=auth("settlement"), json=claim(
        cast["patient"], [("physician", cast["doctor"])], "2025-05-01")).json
    assert body == {**body, "settleable": True, "reasons": []}


def test_emergency_claims_pass_for_a_suspended_physician(client, auth, cast):
    body = client.post("/api/v1/claims/check", headers=auth("settlement"), json=claim(
        cast["patient"], [("physician", cast["doctor"])], "2025-04-20", emergency=True)).json
    assert body["settleable"] is True and body["emergency"] is True
    (reason,) = body["reasons"]
    assert reason["blocking"] is False and "急救、抢救" in reason["detail"]


def test_every_reason_is_listed_and_emergency_does_not_help_the_insured(client, auth, cast):
    body = client.post("/api/v1/claims/check", headers=auth("staff-jinan"), json=claim(
        cast["blocked_patient"], [("physician", cast["doctor"])], "2025-04-20", emergency=True)).json
    assert body["settleable"] is False
    assert [(r["code"], r["blocking"]) for r in body["reasons"]] == [
        ("insured_settlement_suspended", True), ("practitioner_qualification_suspended", False)]
    assert body["reasons"][0]["id_number"] == cast["blocked_patient"]  # staff see whole numbers


def test_claim_check_defaults_to_today_and_no_practitioners(client, auth):
    body = client.post("/api/v1/claims/check", headers=auth("settlement"),
                       json={"insured": {"subject_type": "insured", "id_number": id_number()}}).json
    assert body["on"] == "2026-11-26" and body["settleable"] is True and body["emergency"] is False


@pytest.mark.parametrize(("mutate", "code", "field"), [
    pytest.param(lambda b: b["insured"].update(subject_type="physician"), "validation_failed", "insured.subject_type",
                 id="参保人类型错误"),
    pytest.param(lambda b: b["practitioners"][0].update(subject_type="insured"), "validation_failed",
                 "practitioners.0.subject_type", id="医师类型错误"),
    pytest.param(lambda b: b["practitioners"][0].update(id_number=with_wrong_check_digit(b["practitioners"][0]["id_number"])),
                 "invalid_id_number", "practitioners.0.id_number", id="校验码错误"),
    pytest.param(lambda b: b.update(on="2025-02-30"), "validation_failed", "on", id="日期无效"),
    pytest.param(lambda b: b.update(emergency="yes"), "validation_failed", "emergency", id="emergency非布尔"),
    pytest.param(lambda b: b.pop("insured"), "validation_failed", "insured", id="缺参保人"),
    pytest.param(lambda b: b.update(extra=1), "validation_failed", "extra", id="未知字段"),
])
def test_claim_check_bad_input_is_422(client, auth, mutate, code, field):
    body = claim(id_number(), [("physician", id_number())], "2025-04-20")
    mutate(body)
    response = client.post("/api/v1/claims/check", headers=auth("settlement"), json=body)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert response.json["code"] == code and field in response.json["errors"]


@pytest.mark.parametrize(("who", "status_code"), [("person", 403), ("reporter", 403), (None, 401)])
def test_claim_check_roles(client, auth, who, status_code):
    headers = auth(who) if who else {}
    response = client.post("/api/v1/claims/check", headers=headers, json=claim(id_number(), [], "2025-04-20"))
    assert response.status_code == status_code


# --- claims and emergency in the batch status -------------------------------------------------------

def test_batch_status_checks_claims_too(client, auth, cast):
    response = client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "on": "2025-04-20",
        "subjects": [{"subject_type": "physician", "id_number": cast["doctor"]}],
        "claims": [claim(cast["patient"], [("physician", cast["doctor"])], None),
                   {**claim(cast["patient"], [("physician", cast["doctor"])], None), "emergency": True},
                   claim(cast["patient"], [("physician", cast["doctor"])], "2025-06-01")]})
    assert response.status_code == 200
    body = response.json
    assert body["results"][0]["qualification"]["status"] == "suspended"
    single = [client.post("/api/v1/claims/check", headers=auth("settlement"), json={**c, "on": c["on"] or "2025-04-20"}).json
              for c in (claim(cast["patient"], [("physician", cast["doctor"])], None),
                        {**claim(cast["patient"], [("physician", cast["doctor"])], None), "emergency": True},
                        claim(cast["patient"], [("physician", cast["doctor"])], "2025-06-01"))]
    assert body["claims"] == single
    assert [c["settleable"] for c in body["claims"]] == [False, True, True]


def test_batch_emergency_applies_to_its_subjects(client, auth, cast):
    body = client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "on": "2025-04-20", "emergency": True,
        "subjects": [{"subject_type": "physician", "id_number": cast["doctor"]}]}).json
    (result,) = body["results"]
    assert result["settlement_allowed"] is True and result["emergency_exempted"] is True
    assert "claims" not in body


def test_batch_claim_errors_name_the_claim(client, auth):
    response = client.post("/api/v1/status/batch", headers=auth("settlement"), json={
        "subjects": [], "claims": [claim(id_number(), [], None),
                                   claim(with_wrong_check_digit(id_number()), [], None)]})
    assert response.status_code == 422 and response.json["code"] == "invalid_id_number"
    assert list(response.json["errors"]) == ["claims.1.insured.id_number"]
    too_many = {"subjects": [{"subject_type": "insured", "id_number": id_number()}] * 600,
                "claims": [claim(id_number(), [], None)] * 401}
    response = client.post("/api/v1/status/batch", headers=auth("settlement"), json=too_many)
    assert response.status_code == 422 and response.json["code"] == "too_many_subjects"


# --- expert_recommendation (第八条第一项) and lenient_acceptance (第九条第一项) ---------------------

@pytest.mark.article("第八条第一项")
def test_staff_mark_an_outstanding_practitioner_for_a_year(client, auth):
    doctor = id_number()
    url = f"/api/v1/subjects/physician/{doctor}/expert-recommendations"
    response = client.post(url, headers=auth("staff-jinan"),
                           json={"year": 2026, "region": "370100", "reason": "合理用药、零违规，群众评价好"})
    assert response.status_code == 201, response.json
    assert response.json["year"] == 2026 and response.json["marked_by"] == "staff-jinan"
    assert status(client, auth, doctor, "2026-06-01")["incentives"] == ["expert_recommendation"]
    assert status(client, auth, doctor, "2025-06-01")["incentives"] == []
    assert status(client, auth, doctor, "2027-01-01")["incentives"] == []
    again = client.post(url, headers=auth("admin"), json={"year": 2026, "region": "370100", "reason": "再次"})
    assert again.status_code == 409 and again.json["code"] == "already_recommended"


@pytest.mark.article("第八条第一项")
def test_a_practitioner_with_a_violation_that_year_is_not_shown_as_recommended(client, auth):
    doctor = id_number()
    client.post(f"/api/v1/subjects/physician/{doctor}/expert-recommendations", headers=auth(),
                json={"year": 2026, "region": "370100", "reason": "表现突出"})
    record(client, auth, physician_violation(doctor, 1, "minor", "2026-03-01"))
    assert status(client, auth, doctor, "2026-06-01")["incentives"] == []


@pytest.mark.parametrize(("who", "subject_type", "body", "status_code", "code"), [
    pytest.param("staff-taian", "physician", {"year": 2026, "region": "370100", "reason": "x"}, 403,
                 "region_not_allowed", id="他区经办人员"),
    pytest.param("reporter", "physician", {"year": 2026, "region": "370100", "reason": "x"}, 403,
                 "role_not_allowed", id="上报方"),
    pytest.param("settlement", "pharmacist", {"year": 2026, "region": "370100", "reason": "x"}, 403,
                 "role_not_allowed", id="结算方"),
    pytest.param("admin", "insured", {"year": 2026, "region": "370100", "reason": "x"}, 422,
                 "validation_failed", id="参保人不适用"),
    pytest.param("admin", "physician", {"year": 2026, "region": "370100"}, 422, "validation_failed", id="缺理由"),
    pytest.param("admin", "physician", {"year": 1999, "region": "370100", "reason": "x"}, 422,
                 "validation_failed", id="年度超出范围"),
])
def test_expert_recommendation_refusals(client, auth, who, subject_type, body, status_code, code):
    response = client.post(f"/api/v1/subjects/{subject_type}/{id_number()}/expert-recommendations",
                           headers=auth(who), json=body)
    assert (response.status_code, response.json["code"]) == (status_code, code)


def test_lenient_acceptance_is_computed_from_records_and_shown_in_claims(client, auth):
    clean, recorded = id_number(), id_number()
    record(client, auth, violation(id_number=recorded, fund_loss="0.00", occurred_on="2025-02-01",
                                   determined_on="2025-02-10"))
    for number, expected in ((clean, ["lenient_acceptance"]), (recorded, [])):
        body = client.post("/api/v1/claims/check", headers=auth("settlement"),
                           json=claim(number, [], "2026-06-01")).json
        assert body["parties"][0]["incentives"] == expected


# --- the same notices, objections and record as the insured (第十至十二条) ----------------------------

def test_a_practitioners_measure_has_the_same_notice_objection_and_record(client, auth):
    doctor = id_number()
    body = record(client, auth, physician_violation(doctor, 10, "grave", "2026-10-09", occurred_on="2026-09-01"))
    (measure,) = body["measures"]
    notice = client.post(f"/api/v1/measures/{measure['id']}/notice", headers=auth("staff-jinan"),
                         json={"served_on": "2026-10-12", "received_on": "2026-10-13"})
    assert notice.status_code == 201 and notice.json["objection_deadline"] == "2026-11-03"  # 15 working days
    page = client.get(f"/api/v1/measures/{measure['id']}/notice", headers=auth()).get_data(as_text=True)
    for text in ("暂停医保支付资格", "医保医师", "医保发〔2024〕23号", "累计记分达到9分"):
        assert text in page, text
    year = client.get(f"/api/v1/subjects/physician/{doctor}/record?year=2026", headers=auth()).json
    assert [(v["points"], v["category"]) for v in year["violations"]] == [(10, "grave")]
    assert [m["kind"] for m in year["measures"]] == ["qualification_suspension"]
    objection = client.post("/api/v1/objections", headers=auth(), json={
        "measure_id": measure["id"], "filed_on": "2026-10-20", "reason": "记分档次有误"})
    assert objection.status_code == 201, objection.json
    decided = client.post(f"/api/v1/objections/{objection.json['id']}/decision", headers=auth(), json={
        "outcome": "upheld", "decided_on": "2026-11-02", "reason": "复核成立"})
    assert decided.status_code == 200, decided.json
    after = status(client, auth, doctor, "2026-10-15")
    assert after["settlement_allowed"] is True and after["qualification"]["status"] == "normal"


# --- a second region's agreement file, through the HTTP layer ---------------------------------------

@pytest.fixture
def weihai_client(settings, clock, tmp_path):
    """The service started with the shipped config plus the example agreement for 3710xx."""
    import shutil
    from dataclasses import replace

    from credit_service import create_app
    from credit_service.services.clients import create_client
    config = tmp_path / "config"
    shutil.copytree(settings.config_dir, config)
    examples = settings.config_dir.parent / "examples" / "rules"
    shutil.copy(examples / "weihai-practitioners-example.toml", config / "rules")
    app = create_app(replace(settings, config_dir=config), clock=clock)
    container = app.extensions["credit_service"]
    _, token = create_client(container.uow(), clock, "admin-weihai-test", "admin")
    yield app.test_client(), {"Authorization": f"Bearer {token}"}
    container.index.stop()
    container.engine.dispose()


@pytest.mark.parametrize(("region", "kinds_months", "rule_set"), [
    pytest.param("371000", [("qualification_suspension", 2)], "weihai-practitioners-example", id="威海示例-8分暂停2个月"),
    pytest.param("370100", [], None, id="济南-8分不处理"),
    pytest.param("370900", [], None, id="泰安-8分不处理"),
])
def test_a_second_regions_agreement_file_changes_only_that_region(weihai_client, region, kinds_months, rule_set):
    client, headers = weihai_client
    body = client.post("/api/v1/violations", headers=headers, json=physician_violation(
        id_number(), 8, "serious", "2025-04-01", region=region))
    assert body.status_code == 201, body.json
    assert [(m["kind"], m["months"]) for m in body.json["measures"]] == kinds_months
    assert {m["rule_set"] for m in body.json["measures"]} == ({rule_set} if rule_set else set())
