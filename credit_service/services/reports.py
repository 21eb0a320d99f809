"""Monthly statistics (月度统计报表): a month's report for a region, and the sweep that freezes each month's
reports on the 1st (Jinan: 次月3日前报送). A frozen report is handed out as the bytes stored when it was
frozen; a month not yet frozen is computed from the record as it stands."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from ..adapters.report_formats import XLSX, to_csv, to_xlsx
from ..clock import Clock
from ..domain.reports import (PROVINCE_ALL, Month, OpenItem, add, build, lines_for, overdue_at, reported)
from ..domain.identity import region_problem
from ..domain.rules import CREDIT, RuleBook
from . import access
from .clients import Principal
from .errors import Invalid

FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8", "xlsx": XLSX}


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    media_type: str
    filename: str
    frozen: bool


def month_asked(text: str | None, today: date) -> Month:
    """The month a caller asked for (YYYY-MM); none asked: last month, the one frozen on the 1st."""
    if text is None:
        return Month.of(today).previous()
    try:
        return Month.parse(text)
    except ValueError:
        raise Invalid("month 应为 YYYY-MM，如 2026-10。", errors={"month": ["应为 YYYY-MM。"]}) from None


def region_asked(text: str | None) -> str | None:
    """A region code as asked; none or "all": the province (for those the policy lets see it). An empty
    value is not "none": it is refused like any other bad value."""
    if text is None or text == "all":
        return None
    if problem := region_problem(text):
        raise Invalid(problem, errors={"region": [problem + "（全省合计为 all）"]})
    return text


def monthly_report(uow, principal: Principal, region: str | None, month: Month, fmt: str, *, rules: RuleBook,
                   clock: Clock) -> ReportFile:
    """Staff: their own region; admin: any region, or the province (region omitted or "all")."""
    region = access.region_for(principal, access.REPORT_READ, region) or PROVINCE_ALL
    today = clock.today()
    if month.first_day > today:
        raise Invalid(f"{month}尚未开始，没有统计数据。", code="month_in_future", errors={"month": ["不能晚于本月。"]})
    uow = uow.reading()  # shows data only (the freeze, freeze_due, writes: on the primary)
    with uow:
        row = uow.frozen_reports.get(region, month)
        if row is not None:
            stored = {"json": row.body_json, "csv": row.body_csv, "xlsx": row.body_xlsx}[fmt]
            return ReportFile(bytes(stored), FORMATS[fmt], _filename(region, month, fmt), frozen=True)
        counts = uow.report_facts.monthly_counts(date(month.year - 1, 1, 1), min(month.last_day, today),
                                                 None if region == PROVINCE_ALL else region)
        items = uow.report_facts.open_items(month.first_day, month.last_day,
                                            None if region == PROVINCE_ALL else region)
        previous = uow.frozen_reports.get(region, month.previous())
        report = _build(rules, region, month, _per_month(counts, region), _items_of(items, region),
                        reported(json.loads(previous.body_json)) if previous else None, today, None)
    return ReportFile(render(report, fmt), FORMATS[fmt], _filename(region, month, fmt), frozen=False)


def freeze_due(uow_factory, rules: RuleBook, clock: Clock, as_of: date) -> str:
    """Freeze every report due as of `as_of`: each complete month of this year and the last one, for the
    province and every region with facts or staff, that is not frozen yet — in month order, so that each
    report reconciles with the one before. A runner that was down catches up; frozen ones are left alone."""
    last = Month.of(as_of).previous()
    first = Month(as_of.year - 1, 1)
    months = []
    m = first
    while m <= last:
        months.append(m)
        m = m.next()
    frozen_count = 0
    with uow_factory() as uow:
        regions = sorted(uow.report_facts.regions(first.first_day)) + [PROVINCE_ALL]
        done = uow.frozen_reports.frozen_months(regions, first, last)
        due = [(m, r) for m in months for r in regions if (r, str(m)) not in done]
        if not due:
            return "无待冻结的月度统计报表"
        counts = uow.report_facts.monthly_counts(date(first.year - 1, 1, 1), last.last_day)
        items = uow.report_facts.open_items(first.first_day, last.last_day)
    bodies: dict[tuple[str, str], dict] = {}
    for month in months:
        todo = [r for m, r in due if m == month]
        if not todo:
            continue
        with uow_factory() as uow:
            now = clock.now()
            for region in todo:
                prior_key = (region, str(month.previous()))
                if prior_key in bodies:
                    previous = reported(bodies[prior_key])
                else:
                    row = uow.frozen_reports.get(region, month.previous())
                    previous = reported(json.loads(row.body_json)) if row else None
                report = _build(rules, region, month, _per_month(counts, region), _items_of(items, region), previous,
                                as_of, now.isoformat(timespec="seconds"))
                body = render(report, "json")
                uow.frozen_reports.add(region, month, now, body, render(report, "csv"), render(report, "xlsx"),
                                       hashlib.sha256(body).hexdigest())
                bodies[(region, str(month))] = report
                frozen_count += 1
            uow.commit()
    return f"已冻结{frozen_count}份月度统计报表（{due[0][0]}至{due[-1][0]}，{len(regions)}个统计范围）"


def render(report: dict, fmt: str) -> bytes:
    if fmt == "json":
        return json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    if fmt == "csv":
        return to_csv(report)
    return to_xlsx(report)


def _build(rules: RuleBook, region: str, month: Month, per_month: dict, items: list[OpenItem], previous,
           as_of: date, frozen_at: str | None) -> dict:
    keys = {k for figures in per_month.values() for k in figures}
    lines = lines_for(_tiers(rules), _listings(rules), keys)
    stocks = overdue_at(items, min(month.last_day, as_of))
    return build(region, month, lines, per_month, stocks, previous, frozen_at=frozen_at, as_of=as_of)


def _per_month(counts: dict, region: str) -> dict[Month, dict[str, int]]:
    out: dict[Month, dict[str, int]] = defaultdict(dict)
    for (r, month), figures in counts.items():
        if region == PROVINCE_ALL or r == region:
            add(out[month], figures)
    return out


def _items_of(items: dict[str, list[OpenItem]], region: str) -> list[OpenItem]:
    if region == PROVINCE_ALL:
        return [i for found in items.values() for i in found]
    return items.get(region, [])


def _tiers(rules: RuleBook) -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for rs in rules.rule_sets:
        if rs.kind == CREDIT:
            for tier in rs.tiers:
                seen.setdefault(tier.article, tier.band_words)
    return list(seen.items())


def _listings(rules: RuleBook) -> list[str]:
    seen: list[str] = []
    for rs in rules.rule_sets:
        for rule in (rs.insured_criminal_fraud, rs.practitioner_criminal_fraud):
            if rule is not None and rule.article not in seen:
                seen.append(rule.article)
    return seen


def _filename(region: str, month: Month, fmt: str) -> str:
    return f"monthly-report-{region}-{month}.{fmt}"
