"""The monthly report as files people open: CSV (UTF-8 with BOM, as Excel in China expects) and XLSX
(openpyxl). Both are laid out from the report's JSON body, so they hold the same numbers."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

from ..domain.reports import MONEY

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = ("month", "adjustment", "year_to_date", "prior_year_total", "prior_year_adjustment")
_FIXED_TIME = datetime(2024, 8, 10)  # document properties: the bytes depend on the report only


def _title(report: dict) -> str:
    where = "全省合计" if report["region"] == "all" else f"统筹区{report['region']}"
    state = "（已冻结）" if report["frozen"] else "（未冻结）"
    return f"{report['title']}　{where}　{report['month']}{state}"


def to_csv(report: dict) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_title(report)])
    writer.writerow(["分类", "项目", "单位", *(report["columns"][c] for c in COLUMNS), "key"])
    for line in report["lines"]:
        writer.writerow([line["section"], line["label"], line["unit"],
                         *("" if line[c] is None else line[c] for c in COLUMNS), line["key"]])
    for note in report["notes"]:
        writer.writerow([f"注：{note}"])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(report: dict) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = report["month"]
    ws.append([_title(report)])
    ws["A1"].font = Font(bold=True, size=13)
    header = ["分类", "项目", "单位", *(report["columns"][c] for c in COLUMNS), "key"]
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
    for line in report["lines"]:
        values = []
        for c in COLUMNS:
            value = line[c]
            values.append(None if value is None else (Decimal(value) if line["unit"] == MONEY else value))
        ws.append([line["section"], line["label"], line["unit"], *values, line["key"]])
        if line["unit"] == MONEY:
            for cell in ws[ws.max_row][3:8]:
                cell.number_format = "0.0000"
    for note in report["notes"]:
        ws.append([f"注：{note}"])
    for column, width in zip("ABCDEFGHI", (22, 40, 8, 12, 12, 12, 12, 12, 44)):
        ws.column_dimensions[column].width = width
    wb.properties.creator = "credit-service"
    wb.properties.created = wb.properties.modified = _FIXED_TIME
    buffer = io.BytesIO()
    wb.save(buffer)
    return _with_fixed_entry_times(buffer.getvalue())


def _with_fixed_entry_times(xlsx: bytes) -> bytes:
    """openpyxl stamps each zip entry with the time of writing: the same report written two seconds
    apart would differ. The entries are written again with the fixed time, in the same order."""
    import zipfile
    written = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as fixed:
        for entry in written.infolist():
            info = zipfile.ZipInfo(entry.filename, date_time=_FIXED_TIME.timetuple()[:6])
            info.compress_type, info.external_attr = entry.compress_type, entry.external_attr
            fixed.writestr(info, written.read(entry.filename))
    return out.getvalue()
