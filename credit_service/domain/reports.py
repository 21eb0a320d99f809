"""The bureau's monthly statistics (月度统计报表): per pooling region and month, accumulated over the year
as Jinan's table is (济医保字〔2020〕1号：本表…每月累加统计，次月3日前报送).

Pure: the figures come in as plain counts per month (the adapter counts them in SQL); this module lays
out the lines, adds up the year, and reconciles with what earlier frozen reports said. A frozen report
never changes: a correction made after a month was frozen (an objection that voids or lowers a loss, a
violation recorded late, a measure revoked) shows as the `adjustment` of the next report, so that
    year_to_date = previous report's year_to_date + adjustment + month
holds in every report; corrections to last year's figures show as `prior_year_adjustment`.

How each fact is dated: a violation, its fund loss, its points and the measures it caused by the day
the violation was determined (认定日期; measures revoked since are not counted); notices by the day they
were served; objections and repairs by the day they were filed and, for their outcomes, decided.
Overdue reviews and repair replies are counted at the end of the month (a stock, not a flow).
Money is counted in fen and shown in 万元 with six decimals (exact to the fen).
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Iterable, Mapping

from .kinds import measure_words

PROVINCE_ALL = "all"  # the report of every pooling region together (全省合计)
BY_ARTICLE = ("settlement_suspension", "joint_punishment_listing")  # measures counted per article (tier)
PRACTITIONER_MEASURES = ("service_suspension", "qualification_suspension", "qualification_termination",
                         "qualification_revoked")
MONEY = "万元"
_MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")

Figures = Mapping[str, int]  # line key → count (money: fen)


@dataclass(frozen=True)
class Line:
    key: str
    section: str
    label: str
    unit: str
    stock: bool = False  # a figure at the end of the month (not added up over the year)


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> "Month":
        """YYYY-MM; ValueError otherwise."""
        # [0-9], not isdigit(): full-width digits are not digits here
        if not (isinstance(text, str) and _MONTH.fullmatch(text) and 1 <= int(text[5:]) <= 12
                and int(text[:4]) >= 1900):
            raise ValueError(text)
        return cls(int(text[:4]), int(text[5:]))

    @classmethod
    def of(cls, day: date) -> "Month":
        return cls(day.year, day.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def previous(self) -> "Month":
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def next(self) -> "Month":
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)


S1, S2, S3, S4, S5, S6 = ("一、违约违法信息", "二、信用管理措施", "三、医保医（药）师记分", "四、告知、异议与复核",
                          "五、信用修复", "六、月末逾期（时点数）")


def lines_for(tiers: Iterable[tuple[str, str]], listings: Iterable[str], extra_keys: Iterable[str] = ()) -> tuple[Line, ...]:
    """The lines of the report: `tiers` are (article, band words) of the insured suspension tiers in the
    rule book, `listings` the articles that list a subject; keys found in the data but not named by the
    rules (another region's articles, a rule set since replaced) are added so that nothing is dropped."""
    lines = [
        Line("violations.insured", S1, "参保人违约违法信息", "条"),
        Line("violations.physician", S1, "医保医师违约违法信息", "条"),
        Line("violations.pharmacist", S1, "医保药师违约违法信息", "条"),
        Line("violations.total", S1, "违约违法信息合计", "条"),
        Line("fund_loss", S1, "造成医保基金损失", MONEY),
    ]
    for article, band in tiers:
        lines.append(Line(f"measures.settlement_suspension.{article}", S2,
                          f"暂停医疗费用联网结算（{band}，{article}）", "人次"))
    for article in listings:
        lines.append(Line(f"measures.joint_punishment_listing.{article}", S2,
                          f"纳入失信联合惩戒对象名单（{article}）", "人次"))
    for kind in PRACTITIONER_MEASURES:
        lines.append(Line(f"measures.{kind}", S2, measure_words(kind), "人次"))
    known = {line.key for line in lines}
    for key in sorted(k for k in extra_keys if k.startswith("measures.") and k not in known):
        _, kind, *article = key.split(".", 2)
        lines.append(Line(key, S2, measure_words(kind) + (f"（{article[0]}）" if article else ""), "人次"))
    lines += [
        Line("points.total", S3, "记分合计", "分"),
        Line("points.violations", S3, "记分的违约违法信息", "条"),
        Line("notices.served", S4, "送达信用结果告知书", "份"),
        Line("objections.filed", S4, "受理异议申请", "件"),
        Line("objections.upheld", S4, "复核决定：异议成立（撤销）", "件"),
        Line("objections.modified", S4, "复核决定：变更", "件"),
        Line("objections.rejected", S4, "复核决定：维持", "件"),
        Line("objections.decided_late", S4, "其中：逾期作出复核决定", "件"),
        Line("repairs.filed", S5, "受理信用修复申请", "件"),
        Line("repairs.approved", S5, "核准修复", "件"),
        Line("repairs.rejected", S5, "不予修复", "件"),
        Line("overdue.review", S6, "逾期未复核的异议申请", "件", stock=True),
        Line("overdue.repair_reply", S6, "逾期未答复的信用修复申请", "件", stock=True),
    ]
    return tuple(lines)


def measure_key(kind: str, article: str) -> str:
    return f"measures.{kind}.{article}" if kind in BY_ARTICLE else f"measures.{kind}"


def add(into: dict[str, int], figures: Figures) -> dict[str, int]:
    for key, value in figures.items():
        into[key] = into.get(key, 0) + value
    return into


def with_totals(figures: Figures) -> dict[str, int]:
    out = dict(figures)
    out["violations.total"] = sum(out.get(f"violations.{t}", 0) for t in ("insured", "physician", "pharmacist"))
    return out


@dataclass(frozen=True)
class OpenItem:
    """An objection awaiting review or a repair awaiting a reply, for the month-end stock."""

    key: str  # "overdue.review" | "overdue.repair_reply"
    opened_on: date
    due_on: date
    closed_on: date | None
    provisional: bool  # its due date counts a day of a year whose holidays are not loaded: never overdue


def overdue_at(items: Iterable[OpenItem], day: date) -> dict[str, int]:
    """Items open at the end of `day` whose due date has passed by then (flag_overdue's reading)."""
    counts = {"overdue.review": 0, "overdue.repair_reply": 0}
    for item in items:
        if (not item.provisional and item.opened_on <= day and item.due_on <= day
                and (item.closed_on is None or item.closed_on > day)):
            counts[item.key] += 1
    return counts


@dataclass(frozen=True)
class Reported:
    """What an earlier frozen report said, read back exactly (for the reconciliation)."""

    year_to_date: Figures
    prior_year_total: Figures


def build(region: str, month: Month, lines: tuple[Line, ...], months: Mapping[Month, Figures],
          stocks: Figures, previous: Reported | None, *, frozen_at: str | None, as_of: date) -> dict:
    """The report of `month` for `region` (a dict in the order it is shown). `months` holds the figures
    of every month of this year and the last one, as the data stands now; `previous` what the last
    frozen report said (None: nothing was frozen before, so there is nothing to adjust)."""
    year = month.year
    this = with_totals(months.get(month, {}))
    ytd: dict[str, int] = {}
    for m in range(1, month.month + 1):
        add(ytd, months.get(Month(year, m), {}))
    ytd = with_totals(ytd)
    prior: dict[str, int] = {}
    for m in range(1, 13):
        add(prior, months.get(Month(year - 1, m), {}))
    prior = with_totals(prior)
    if previous is None:  # nothing reported before: the year so far is this report's to state
        before_ytd = {k: ytd.get(k, 0) - this.get(k, 0) for k in ytd}
        before_prior = prior
    elif month.month == 1:  # the year starts afresh; last year's corrections are reconciled below
        before_ytd, before_prior = {}, previous.year_to_date
    else:
        before_ytd, before_prior = previous.year_to_date, previous.prior_year_total
    out_lines = []
    for line in lines:
        if line.stock:
            out_lines.append({"key": line.key, "section": line.section, "label": line.label, "unit": line.unit,
                              "kind": "stock", "month": stocks.get(line.key, 0), "adjustment": None,
                              "year_to_date": None, "prior_year_total": None, "prior_year_adjustment": None})
            continue
        k = line.key
        adjustment = ytd.get(k, 0) - before_ytd.get(k, 0) - this.get(k, 0)
        show = _money if line.unit == MONEY else int
        out_lines.append({
            "key": k, "section": line.section, "label": line.label, "unit": line.unit, "kind": "flow",
            "month": show(this.get(k, 0)), "adjustment": show(adjustment), "year_to_date": show(ytd.get(k, 0)),
            "prior_year_total": show(prior.get(k, 0)),
            "prior_year_adjustment": show(prior.get(k, 0) - before_prior.get(k, 0))})
    end = min(month.last_day, as_of)
    notes = ["本表按统筹区、自然月统计，本年累计自1月1日起逐月累加；冻结后的更正计入下月报表的“更正调整”，"
             "上年数据的更正计入“上年更正”。",
             "违约违法信息、基金损失、记分及其引起的措施按认定日期计入（已撤销的措施不计）；告知书按送达日期，"
             "异议、修复申请按提出日期，复核与修复决定按决定日期计入；逾期件数为月末时点数。"]
    if end < month.last_day:
        notes.append(f"本月尚未结束：数据截至{end.isoformat()}。")
    if frozen_at is None and end == month.last_day:
        notes.append("本表尚未冻结（每月1日冻结上月报表），内容可能随更正而变化。")
    return {
        "title": "医保信用管理月度统计表", "region": region, "month": str(month), "year": year,
        "period": {"from": month.first_day.isoformat(), "to": month.last_day.isoformat(),
                   "year_from": date(year, 1, 1).isoformat(), "stock_on": end.isoformat()},
        "frozen": frozen_at is not None, "frozen_at": frozen_at,
        "columns": {"month": "本月", "adjustment": "更正调整", "year_to_date": "本年累计",
                    "prior_year_total": "上年全年", "prior_year_adjustment": "上年更正"},
        "lines": out_lines, "notes": notes,
    }


def reported(report: dict) -> Reported:
    """The exact figures a report states (money back to fen), to reconcile the next one with."""
    ytd, prior = {}, {}
    for line in report["lines"]:
        if line["kind"] != "flow":
            continue
        read = _fen if line["unit"] == MONEY else int
        ytd[line["key"]] = read(line["year_to_date"])
        prior[line["key"]] = read(line["prior_year_total"])
    return Reported(ytd, prior)


def _money(fen: int) -> str:
    """万元, six decimals: exact to the fen."""
    return f"{Decimal(fen).scaleb(-6):.6f}"


def _fen(text: str) -> int:
    return int(Decimal(text).scaleb(6))
