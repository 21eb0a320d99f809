"""Spec for the monthly statistics (domain/reports.py) and the inline SVG charts (web/charts.py). Pure."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from credit_service.domain.reports import (Month, OpenItem, Reported, build, lines_for, overdue_at, reported)
from credit_service.web.charts import bar_chart, report_charts

D = date.fromisoformat
LINES = lines_for([("第九条第二项", "不满10万元"), ("第九条第三项", "10万元以上、不满20万元")], ["第九条第五项"])
SVG = "{http://www.w3.org/2000/svg}"


def value(report, key, column="month"):
    return next(x[column] for x in report["lines"] if x["key"] == key)


@pytest.mark.parametrize(("text", "ok"), [("2026-10", True), ("2026-1", False), ("2026-13", False), ("26-10", False),
                                          ("2026/10", False), ("２０２６-10", False), ("", False)])
def test_month_is_yyyy_mm(text, ok):
    if ok:
        assert str(Month.parse(text)) == text
    else:
        with pytest.raises(ValueError):
            Month.parse(text)


def test_months_step_over_the_year_and_know_their_last_day():
    assert (Month(2026, 1).previous(), Month(2026, 12).next()) == (Month(2025, 12), Month(2027, 1))
    assert Month(2028, 2).last_day == D("2028-02-29")


def test_the_year_so_far_adds_up_the_months_and_money_is_exact_in_wan_yuan():
    months = {Month(2026, 9): {"violations.insured": 2, "fund_loss": 12_345_678},
              Month(2026, 10): {"violations.insured": 1, "violations.physician": 1, "fund_loss": 1}}
    report = build("370100", Month(2026, 10), LINES, months, {}, None, frozen_at=None, as_of=D("2026-11-26"))
    assert (value(report, "violations.total"), value(report, "violations.total", "year_to_date")) == (2, 4)
    assert value(report, "fund_loss") == "0.000001"  # one fen
    assert value(report, "fund_loss", "year_to_date") == "12.345679"
    assert value(report, "violations.total", "adjustment") == 0
    assert reported(report).year_to_date["fund_loss"] == 12_345_679


def test_corrections_after_freezing_show_as_the_next_months_adjustment():
    frozen = Reported({"violations.insured": 5, "fund_loss": 1_000_000}, {"violations.insured": 7})
    now = {Month(2026, 9): {"violations.insured": 4, "fund_loss": 400_000},  # one voided, a loss lowered
           Month(2026, 10): {"violations.insured": 2}, Month(2025, 3): {"violations.insured": 8}}
    report = build("370100", Month(2026, 10), LINES, now, {}, frozen, frozen_at="x", as_of=D("2026-11-01"))
    assert [value(report, "violations.insured", c) for c in ("month", "adjustment", "year_to_date")] == [2, -1, 6]
    assert value(report, "fund_loss", "adjustment") == "-0.600000"
    assert (value(report, "violations.insured", "prior_year_total"),
            value(report, "violations.insured", "prior_year_adjustment")) == (8, 1)
    assert report["frozen"] is True


def test_january_reconciles_last_years_corrections_with_decembers_report():
    december = Reported({"violations.insured": 10}, {"violations.insured": 3})
    now = {Month(2025, 12): {"violations.insured": 9}, Month(2026, 1): {"violations.insured": 1}}
    report = build("370100", Month(2026, 1), LINES, now, {}, december, frozen_at=None, as_of=D("2026-02-01"))
    assert [value(report, "violations.insured", c) for c in ("month", "adjustment", "year_to_date",
                                                             "prior_year_total", "prior_year_adjustment")] == [
        1, 0, 1, 9, -1]


@settings(database=None, deadline=None, max_examples=200)
@given(before=st.dictionaries(st.integers(1, 12), st.integers(0, 50)),
       after=st.dictionaries(st.integers(1, 12), st.integers(0, 50)), month=st.integers(2, 12))
def test_property_year_to_date_is_previous_plus_adjustment_plus_month(before, after, month):
    def months(counts):
        return {Month(2026, m): {"violations.insured": n} for m, n in counts.items()}
    previous = build("r", Month(2026, month - 1), LINES, months(before), {}, None, frozen_at="x", as_of=D("2027-01-01"))
    report = build("r", Month(2026, month), LINES, months(after), {}, reported(previous), frozen_at="y",
                   as_of=D("2027-01-01"))
    for line in report["lines"]:
        if line["kind"] == "flow" and line["unit"] != "万元":
            prior = next(x for x in previous["lines"] if x["key"] == line["key"])["year_to_date"]
            assert line["year_to_date"] == prior + line["adjustment"] + line["month"]


def test_overdue_at_month_end_counts_open_items_past_a_final_due_date():
    items = [OpenItem("overdue.review", D("2026-10-01"), D("2026-10-30"), None, False),       # overdue
             OpenItem("overdue.review", D("2026-10-01"), D("2026-10-31"), None, False),       # due that day: overdue at its end
             OpenItem("overdue.review", D("2026-10-01"), D("2026-11-02"), None, False),       # not yet due
             OpenItem("overdue.review", D("2026-10-01"), D("2026-10-20"), D("2026-10-31"), False),  # decided that day
             OpenItem("overdue.review", D("2026-10-01"), D("2026-10-20"), D("2026-11-03"), False),  # decided late, after
             OpenItem("overdue.repair_reply", D("2026-10-01"), D("2026-10-20"), None, True),  # provisional: never
             OpenItem("overdue.repair_reply", D("2026-11-01"), D("2026-10-20"), None, False)]  # filed later
    assert overdue_at(items, D("2026-10-31")) == {"overdue.review": 3, "overdue.repair_reply": 0}


def test_measure_keys_the_rules_do_not_name_still_get_a_line():
    lines = lines_for([("第九条第二项", "不满10万元")], [], ["measures.settlement_suspension.某市第三条"])
    assert any(x.key == "measures.settlement_suspension.某市第三条" and "某市第三条" in x.label for x in lines)


# --- charts --------------------------------------------------------------------------------------------

def test_a_bar_chart_is_one_svg_element_with_a_bar_and_a_label_per_value():
    svg = bar_chart([("参保人", 3), ("医保医师<&>", 0), ("调整", -2)], title="违约违法信息", unit="条")
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg" and root.get("aria-label") == "违约违法信息"
    rects = root.findall(f"{SVG}rect")
    assert len(rects) == 3
    widths = [float(r.get("width")) for r in rects]
    assert widths[0] > widths[2] > widths[1] == 0  # proportional; a negative value grows to the left
    assert float(rects[2].get("x")) < float(rects[0].get("x"))
    assert "医保医师&lt;&amp;&gt;" in svg and "3条" in svg
    assert "http" not in svg.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched
    assert bar_chart([("a", 1)], title="t") == bar_chart([("a", 1)], title="t")  # pure


def test_a_chart_of_nothing_but_zeros_still_renders():
    root = ET.fromstring(bar_chart([("a", 0), ("b", 0)], title="空"))
    assert all(float(r.get("width")) == 0 for r in root.findall(f"{SVG}rect"))


def test_report_charts_draw_the_months_measures_and_the_year_so_far():
    months = {Month(2026, 10): {"measures.settlement_suspension.第九条第二项": 2, "violations.insured": 3}}
    report = build("370100", Month(2026, 10), LINES, months, {}, None, frozen_at=None, as_of=D("2026-11-26"))
    measures, year = (ET.fromstring(svg) for svg in report_charts(report))
    assert len(measures.findall(f"{SVG}rect")) == len([x for x in LINES if x.key.startswith("measures.")])
    assert "违约违法信息合计" in ET.tostring(year, encoding="unicode")


def test_an_xlsx_report_is_the_same_bytes_whenever_it_is_written(monkeypatch):
    """The same report gives the same file: the workbook's properties and the zip entries' times are
    fixed (a download a few seconds later, or a frozen report written again, is byte for byte the same)."""
    import time as time_module

    from credit_service.adapters.report_formats import to_xlsx
    report = {"region": "370100", "frozen": True, "title": "医保信用管理月度统计", "month": "2026-10",
              "columns": {c: c for c in ("month", "adjustment", "year_to_date", "prior_year_total",
                                          "prior_year_adjustment")},
              "lines": [], "notes": ["示例"]}
    first = to_xlsx(report)
    later = time_module.time() + 3600
    monkeypatch.setattr(time_module, "time", lambda: later)
    assert to_xlsx(report) == first
