"""The console's monthly-report page (issue 14: 月度统计 with a table and simple charts): the same report
the API gives, for the staff member's own region only, with its downloads."""
from __future__ import annotations

import html
import io
import re

import pytest
from openpyxl import load_workbook

from tests.factories import id_number, violation
from tests.web.support import sign_in


@pytest.fixture
def app(web_app):
    return web_app  # the API's fixtures (tokens, auth) on the console's app


@pytest.fixture
def october(web_client, auth):
    for region, loss in (("370100", "150000.00"), ("370100", "20000.00"), ("370900", "5000.00")):
        body = violation(id_number=id_number(), region=region, occurred_on="2026-09-01", determined_on="2026-10-09",
                         fund_loss=loss)
        assert web_client.post("/api/v1/violations", json=body, headers=auth()).status_code == 201


def rows(page: str) -> dict[str, list[str]]:
    found = re.findall(r'<tr><th scope="row">(.*?)</th><td>.*?</td>\s*(.*?)</tr>', page, re.S)
    return {html.unescape(label): re.findall(r'<td class="num">(.*?)</td>', cells) for label, cells in found}


def test_the_page_shows_the_apis_report_of_the_staff_region_with_charts(web_client, staff, auth, october):
    api = web_client.get("/api/v1/reports/monthly?month=2026-10", headers=auth("staff-jinan")).json
    sign_in(web_client, "li")
    response = web_client.get("/console/reports/monthly?month=2026-10")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "医保信用管理月度统计表" in page and "济南市（370100）" in page
    shown = rows(page)
    assert len(shown) == len(api["lines"])
    for line in api["lines"]:
        expected = ["—" if line[k] is None else str(line[k]) for k in api["columns"]]
        assert shown[line["label"]] == expected, line["key"]
    assert page.count("<svg") == 2 and "<script" not in page


def test_staff_cannot_open_another_regions_report(web_client, staff, october):
    sign_in(web_client, "li")
    response = web_client.get("/console/reports/monthly?month=2026-10&region=370900")
    assert response.status_code == 403
    assert "370900" not in response.get_data(as_text=True).split("<main", 1)[1]


def test_an_admin_sees_the_province(web_client, staff, october, auth):
    api = web_client.get("/api/v1/reports/monthly?month=2026-10", headers=auth("admin")).json
    sign_in(web_client, "wang")
    page = web_client.get("/console/reports/monthly?month=2026-10").get_data(as_text=True)
    assert "全省" in page and rows(page)[api["lines"][0]["label"]][0] == str(api["lines"][0]["month"])


def test_the_xlsx_download_holds_the_same_report(web_client, staff, october, auth):
    api = web_client.get("/api/v1/reports/monthly?month=2026-10&format=xlsx", headers=auth("staff-jinan"))
    sign_in(web_client, "li")
    response = web_client.get("/console/reports/monthly?month=2026-10&format=xlsx")
    assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
    # Not byte-compared: an unfrozen report's workbook carries the second it was written.
    assert cells(response.data) == cells(api.data) and len(cells(api.data)) > 10


def cells(xlsx: bytes) -> list[tuple]:
    return [tuple(c.value for c in row) for row in load_workbook(io.BytesIO(xlsx)).active.iter_rows()]


def test_a_bad_month_is_explained(web_client, staff):
    sign_in(web_client, "li")
    response = web_client.get("/console/reports/monthly?month=2026-13")
    assert response.status_code == 422 and "YYYY-MM" in response.get_data(as_text=True)


def test_signed_out_the_page_sends_to_the_login(web_client):
    response = web_client.get("/console/reports/monthly")
    assert response.status_code == 303 and response.headers["Location"].endswith("/console/login")
