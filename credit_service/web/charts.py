"""Inline SVG charts for server-rendered pages: no script, no CDN, nothing fetched (intranets have no
internet). Pure functions of their input; the console's monthly-report page embeds them."""
from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Sequence

Number = int | float | Decimal


def bar_chart(bars: Sequence[tuple[str, Number]], *, title: str, unit: str = "", width: int = 640,
              bar_height: int = 22, label_width: int = 260) -> str:
    """Horizontal bars (Chinese labels are long), one per (label, value), with the value written at its
    end; negative values (adjustments) grow to the left of the zero line. Returns an <svg> element."""
    gap, top, value_width = 6, 30, 90
    plot = max(width - label_width - value_width, 40)
    values = [Decimal(str(v)) for _, v in bars]
    low, high = min([Decimal(0), *values]), max([Decimal(0), *values])
    span = (high - low) or Decimal(1)
    zero = label_width + float((-low) / span * plot)
    height = top + len(bars) * (bar_height + gap) + gap
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{escape(title)}" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
           f"<title>{escape(title)}</title>",
           f'<text x="0" y="18" font-size="14" font-weight="bold">{escape(title)}</text>',
           f'<line x1="{zero:.1f}" y1="{top - 4}" x2="{zero:.1f}" y2="{height - gap}" stroke="#888"/>']
    for i, ((label, _), value) in enumerate(zip(bars, values)):
        y = top + i * (bar_height + gap)
        length = float(abs(value) / span * plot)
        x = zero - length if value < 0 else zero
        text = f"{_number(value)}{unit}"
        out.append(f'<text x="{label_width - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end">{escape(label)}</text>')
        out.append(f'<rect x="{x:.1f}" y="{y}" width="{length:.1f}" height="{bar_height}" '
                   f'fill="{"#c0392b" if value < 0 else "#2c7fb8"}"><title>{escape(label)}：{escape(text)}</title></rect>')
        out.append(f'<text x="{zero + float(max(value, 0) / span * plot) + 6:.1f}" y="{y + bar_height * 0.7:.1f}">'
                   f"{escape(text)}</text>")
    out.append("</svg>")
    return "".join(out)


def report_charts(report: dict) -> list[str]:
    """The charts of a monthly report page: this month's measures, and the year so far of every flow
    counted in items (money and points have their own scales and stay in the table)."""
    measures = [(line["label"], line["month"]) for line in report["lines"] if line["key"].startswith("measures.")]
    counted = [(line["label"], line["year_to_date"]) for line in report["lines"]
               if line["kind"] == "flow" and line["unit"] in ("条", "件", "份")]
    return [bar_chart(measures, title=f"{report['month']} 信用管理措施（人次）"),
            bar_chart(counted, title=f"{report['year']}年累计（至{report['month']}）")]


def _number(value: Decimal) -> str:
    return f"{value:,}" if value == value.to_integral_value() else f"{value:,.2f}"
