"""GET /api/v1/reports/monthly (API.md v1.1): the month's statistics, frozen on the 1st (Jinan 2020:
每月累加统计，次月3日前报送), as JSON, CSV and XLSX."""
from __future__ import annotations

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from credit_service.jobs.runner import run_job
from tests.factories import id_number, violation

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def post(client, auth, body, who="admin"):
    response = client.post("/api/v1/violations", json=body, headers=auth(who))
    assert response.status_code == 201, response.json
    return response.json


def report(client, auth, who="staff-jinan", accept="application/json", **query):
    query.setdefault("month", "2026-10")
    url = "/api/v1/reports/monthly?" + "&".join(f"{k}={v}" for k, v in query.items())
    return client.get(url, headers={**auth(who), "Accept": accept})


def line(body, key):
    return next(x for x in body["lines"] if x["key"] == key)


@pytest.fixture
def october(client, auth):
    """Jinan, October 2026: three violations (one a practitioner's with points), a notice, an objection
    decided late, a repair approved; Tai'an: one violation (another region)."""
    insured, doctor, other = id_number(), id_number(), id_number()
    a = post(client, auth, violation(id_number=insured, occurred_on="2026-09-01", determined_on="2026-10-09",
                                     fund_loss="150000.00"))
    post(client, auth, violation(id_number=id_number(), occurred_on="2026-09-01", determined_on="2026-10-20",
                                 fund_loss="20000.00", handling="criminal", fraud=True))
    post(client, auth, violation(id_number=doctor, subject_type="physician", points=5, category="moderate",
                                 occurred_on="2026-10-01", determined_on="2026-10-12", fund_loss="1000.00",
                                 handling="agreement"))
    post(client, auth, violation(id_number=other, region="370900", occurred_on="2026-10-01",
                                 determined_on="2026-10-15", fund_loss="5000.00"))
    measure = a["measures"][0]["id"]
    assert client.post(f"/api/v1/measures/{measure}/notice", json={"served_on": "2026-10-12", "received_on": "2026-10-13"},
                       headers=auth("staff-jinan")).status_code == 201
    objection = client.post("/api/v1/objections", json={"measure_id": measure, "filed_on": "2026-10-14",
                                                         "reason": "金额有误"}, headers=auth("staff-jinan")).json
    repair = client.post("/api/v1/repairs", json={
        "subject_type": "insured", "id_number": insured, "measure_id": measure, "filed_on": "2026-10-16",
        "corrected": True, "adverse_effects_removed": True, "commitment": True}, headers=auth("staff-jinan")).json
    assert client.post(f"/api/v1/repairs/{repair['id']}/decision", json={
        "outcome": "approved", "decided_on": "2026-10-30", "reason": "核实"}, headers=auth("staff-jinan")).status_code == 200
    return {"insured": insured, "measure": measure, "objection": objection["id"]}


def test_a_months_report_counts_every_line_of_the_region_and_the_year_so_far(client, auth, october):
    body = report(client, auth).json
    assert (body["region"], body["month"], body["frozen"]) == ("370100", "2026-10", False)
    expected = {"violations.insured": 2, "violations.physician": 1, "violations.total": 3,
                "fund_loss": "17.100000",  # 150,000 + 20,000 + 1,000 yuan in 万元
                "measures.settlement_suspension.第九条第三项": 1, "measures.settlement_suspension.第九条第二项": 1,
                "measures.joint_punishment_listing.第九条第五项": 1, "points.total": 5, "points.violations": 1,
                "notices.served": 1, "objections.filed": 1, "repairs.filed": 1, "repairs.approved": 1}
    for key, value in expected.items():
        assert (key, line(body, key)["month"], line(body, key)["year_to_date"]) == (key, value, value)
    assert line(body, "objections.upheld")["month"] == 0
    # the objection filed 10-14 is due 15 working days later (2026-11-04): not overdue at the end of October
    assert line(body, "overdue.review")["month"] == 0 and line(body, "overdue.review")["kind"] == "stock"
    november = report(client, auth, month="2026-11").json
    assert line(november, "overdue.review")["month"] == 1  # still open on 2026-11-26, the data's last day
    assert line(november, "violations.total")["year_to_date"] == 3 and line(november, "violations.total")["month"] == 0
    assert any("2026-11-26" in note for note in november["notes"])


def test_staff_read_only_their_region_and_admin_reads_any_or_the_province(client, auth, october):
    assert line(report(client, auth, "staff-taian").json, "violations.total")["month"] == 1  # its own: Tai'an
    refused = report(client, auth, "staff-taian", region="370100")
    assert (refused.status_code, refused.json["code"]) == (403, "region_not_allowed")
    for who in ("settlement", "reporter", "person"):
        assert report(client, auth, who).status_code == 403
    assert line(report(client, auth, "admin", region="370900").json, "violations.total")["month"] == 1
    province = report(client, auth, "admin").json
    assert (province["region"], line(province, "violations.total")["month"]) == ("all", 4)
    assert line(report(client, auth, "admin", region="all").json, "fund_loss")["month"] == "17.600000"


def test_formats_follow_accept_or_format_and_hold_the_same_numbers(client, auth, october):
    body = report(client, auth).json
    as_csv = report(client, auth, accept="text/csv")
    assert as_csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in as_csv.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(as_csv.get_data().decode("utf-8-sig"))))
    by_key = {r[-1]: r for r in rows if len(r) == 9}
    assert by_key["fund_loss"][3] == "17.100000" and by_key["violations.total"][5] == "3"
    as_xlsx = report(client, auth, accept=XLSX)
    assert as_xlsx.headers["Content-Type"] == XLSX
    assert report(client, auth, format="xlsx").get_data() == as_xlsx.get_data()
    sheet = load_workbook(io.BytesIO(as_xlsx.get_data())).active
    cells = {row[8]: row for row in sheet.iter_rows(min_row=3, values_only=True) if row[8]}
    for x in body["lines"]:
        for i, column in enumerate(("month", "adjustment", "year_to_date", "prior_year_total",
                                    "prior_year_adjustment"), start=3):
            got, want = cells[x["key"]][i], x[column]
            assert (None if want is None else Decimal(str(want))) == (None if got is None else Decimal(str(got))), (
                x["key"], column)
    refused = report(client, auth, accept="text/html")
    assert (refused.status_code, refused.json["code"]) == (406, "not_acceptable")


@pytest.mark.parametrize(("month", "code"), [("2026-13", "validation_failed"), ("2026-1", "validation_failed"),
                                             ("2027-01", "month_in_future")])
def test_a_bad_or_future_month_is_refused(client, auth, month, code):
    response = report(client, auth, month=month)
    assert (response.status_code, response.json["code"]) == (422, code)


def test_a_bad_region_is_refused(client, auth):
    response = report(client, auth, "admin", region="3701")
    assert response.status_code == 422 and "region" in response.json["errors"]


def test_a_frozen_report_is_byte_identical_after_corrections_which_show_in_the_next_month(
        client, auth, container, clock, october):
    """Frozen on 1 November; then an objection lowers October's loss and a violation determined in October
    is recorded late: October stays as frozen, November shows both as adjustments."""
    assert run_job(container, "freeze_monthly_reports", date(2026, 11, 1), force=True).startswith("已冻结")
    frozen = {fmt: report(client, auth, accept=media) for fmt, media in
              (("json", "application/json"), ("csv", "text/csv"), ("xlsx", XLSX))}
    assert all(r.headers["X-Report-Frozen"] == "true" for r in frozen.values())
    body = frozen["json"].json
    assert body["frozen"] and body["frozen_at"]
    decided = client.post(f"/api/v1/objections/{october['objection']}/decision", headers=auth("staff-jinan"), json={
        "outcome": "modified", "decided_on": "2026-11-20", "reason": "核减", "fund_loss": "50000.00"})
    assert decided.status_code == 200, decided.json
    post(client, auth, violation(id_number=id_number(), occurred_on="2026-10-01", determined_on="2026-10-28",
                                 fund_loss="3000.00"))
    for fmt, first in frozen.items():
        again = report(client, auth, accept=first.headers["Content-Type"].split(";")[0])
        assert again.get_data() == first.get_data(), fmt
    assert run_job(container, "freeze_monthly_reports", date(2026, 11, 1), force=True) == "无待冻结的月度统计报表"
    clock.current = date(2026, 12, 1)
    run_job(container, "freeze_monthly_reports", date(2026, 12, 1), force=True)
    november = report(client, auth, month="2026-11").json
    assert november["frozen"]
    loss, total = line(november, "fund_loss"), line(november, "violations.total")
    assert (loss["month"], loss["adjustment"], loss["year_to_date"]) == ("0.000000", "-9.700000", "7.400000")
    assert (total["month"], total["adjustment"], total["year_to_date"]) == (0, 1, 4)
    assert line(november, "objections.modified")["month"] == 1
    # the tier moved: 150,000 → 50,000 (第九条第三项 → 第九条第二项), an adjustment of October's measures
    assert line(november, "measures.settlement_suspension.第九条第三项")["adjustment"] == -1
    october_body = json.loads(frozen["json"].get_data())
    for x in november["lines"]:  # year_to_date = previous year_to_date + adjustment + month
        if x["kind"] == "flow":
            before = line(october_body, x["key"])["year_to_date"]
            assert Decimal(str(x["year_to_date"])) == (Decimal(str(before)) + Decimal(str(x["adjustment"]))
                                                       + Decimal(str(x["month"]))), x["key"]


def test_the_report_json_has_the_documented_fields(client, auth, october):
    from credit_service.schemas.reports import MonthlyReportSchema, ReportLineSchema
    body = report(client, auth).json
    assert set(body) == set(MonthlyReportSchema().fields)
    assert all(set(x) == set(ReportLineSchema().fields) for x in body["lines"])


def test_a_runner_that_was_down_freezes_every_missed_month_in_order(client, auth, container, clock, october):
    """Nothing ran on 1 November: on 1 December both October and November are frozen, November
    reconciled with the October just frozen; frozen reports are left alone by later runs."""
    clock.current = date(2026, 12, 1)
    summary = run_job(container, "freeze_monthly_reports", date(2026, 12, 1))
    assert "2025-01至2026-11" in summary
    assert run_job(container, "freeze_monthly_reports", date(2026, 12, 1)) is None  # that day is done
    assert run_job(container, "freeze_monthly_reports", date(2026, 12, 2)) == "无待冻结的月度统计报表"
    oct_, nov = (report(client, auth, month=m).json for m in ("2026-10", "2026-11"))
    assert oct_["frozen"] and nov["frozen"]
    assert line(nov, "violations.total")["year_to_date"] == line(oct_, "violations.total")["year_to_date"] == 3
    assert line(nov, "violations.total")["adjustment"] == 0
    january = report(client, auth, month="2025-01").json  # last year's months are frozen too (all zero here)
    assert january["frozen"] and line(january, "violations.total")["month"] == 0
