"""Bulk import of violation rows: `POST /api/v1/violations/import` and `credit-service import FILE`.

Both doors read the same formats (a JSON array of violation bodies, or a CSV file in UTF-8 or GBK with
the columns of CSV_COLUMNS), judge each row with the same parser (schemas/violation_rows.py) and record
them through the same use case (intake.record_violations) as the same kind of Principal: a row that
fails is rejected with its reason, the others are recorded. The API takes one request as one
transaction (at most `import_max_rows` rows); the command line takes a file of any length in batches of
that size, each its own transaction, and reports progress between them.
"""
from __future__ import annotations

import csv
import io
from dataclasses import replace
from typing import Callable

import orjson

from credit_service.schemas.violation_rows import parse_violation

from ..domain.violations import ViolationInput
from ..gc_pause import gc_paused
from . import access, intake
from .clients import Principal
from .errors import Invalid, ServiceError, invalid_fields

CSV_COLUMNS = ("source", "source_ref", "subject_type", "id_number", "name", "region", "occurred_on",
               "determined_on", "fund_loss", "handling", "fraud", "points", "description", "months", "category")
CSV_REQUIRED = ("source", "source_ref", "subject_type", "id_number", "region", "occurred_on", "determined_on",
                "fund_loss", "handling")


def read_json(data: bytes | str) -> list:
    """A JSON array of violation bodies; each item is judged on its own later (U+0000 included)."""
    try:
        payload = orjson.loads(data)
    except ValueError:
        raise Invalid("请求体不是有效的JSON。", code="malformed_import") from None
    if not isinstance(payload, list):
        raise Invalid("JSON导入的请求体须为违约违法信息数组。", code="malformed_import")
    return payload


def read_csv(data: bytes) -> list[dict]:
    """The CSV's rows as JSON-shaped bodies (strings kept, so the same parser judges both formats)."""
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China often saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise Invalid("CSV文件编码无法识别，请使用UTF-8。", code="malformed_import")
    if "\x00" in text:  # no text column can store it (PostgreSQL refuses U+0000)
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise Invalid(f"CSV文件第{line}行包含空字符（U+0000），请检查文件。", code="malformed_import")
    reader = csv.DictReader(io.StringIO(text))
    try:
        missing = [c for c in CSV_REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise Invalid(f"CSV表头缺少列：{', '.join(missing)}。", code="malformed_import",
                          errors={"header": [f"缺少 {c}" for c in missing]})
        return [_csv_row(r) for r in reader]
    except csv.Error as exc:  # a stray carriage return, a field over the reader's limit (128 KiB), …
        # line_num counts the lines read whole: the one that failed is the next
        raise Invalid(f"CSV文件第{reader.line_num + 1}行无法解析（{exc}），请检查引号、换行和字段长度。",
                      code="malformed_import") from None


def _csv_row(r: dict) -> dict:
    """Flat CSV columns → the nested JSON body, keeping strings so the same schema judges both."""
    row = {k: v for k, v in r.items() if k in CSV_COLUMNS and k not in ("subject_type", "id_number", "name")
           and v not in (None, "")}
    if None in r:  # more cells than header columns
        row["_extra_cells"] = r[None]
    row["subject"] = {"subject_type": r.get("subject_type"), "id_number": r.get("id_number"),
                      "name": r.get("name") or None}
    if "fraud" in row:
        row["fraud"] = {"true": True, "1": True, "是": True, "false": False, "0": False, "否": False}.get(
            row["fraud"].strip().lower(), row["fraud"])
    for key in ("points", "months"):
        if key in row:
            try:
                row[key] = int(row[key])
            except ValueError:
                pass  # the schema reports it
    return row


def judge(raw_rows: list) -> list[ViolationInput | ServiceError]:
    """Each raw body as a valid row, or the error that rejects it."""
    rows: list[ViolationInput | ServiceError] = []
    for raw in raw_rows:
        row, errors = parse_violation(raw)
        rows.append(row if row is not None else invalid_fields(errors, "本行未通过校验"))
    return rows


def import_rows(uow_factory: Callable, principal: Principal, raw_rows: list, rules, clock, dates,
                batch: int | None = None, progress: Callable[[int], None] | None = None) -> list[intake.RowOutcome]:
    """Judge and record the rows; the outcome of each, in order, `index` counted from the first row.

    `batch`: rows per transaction (None: all in one, as the API does). A later batch sees what the
    earlier ones committed, so the outcomes are those of one transaction: a repeated source_ref is a
    duplicate, a person's rows aggregate in order. `progress(rows done)` is called after each batch."""
    access.scope_for(principal, access.VIOLATION_WRITE)
    size = batch or max(len(raw_rows), 1)
    outcomes: list[intake.RowOutcome] = []
    for start in range(0, len(raw_rows), size):
        with gc_paused():  # per batch: a long file's batches leave their garbage to be collected between them
            rows = judge(raw_rows[start:start + size])
            done, _ = intake.record_violations(uow_factory(), principal, rows, rules, clock, dates=dates)
        outcomes.extend(replace(o, index=o.index + start) for o in done) if start else outcomes.extend(done)
        if progress is not None:
            progress(len(outcomes))
    return outcomes
