"""The three letters as PDF (信用结果告知书, 异议复核决定书, 信用修复回复书): built from real records,
rendered by WeasyPrint with the project's CJK fonts, read back with pdftotext; numbered per region,
kind and year without gaps."""
from __future__ import annotations

import shutil
import subprocess
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from credit_service.adapters.orm import (DocumentCounterRow, IssuedDocumentRow, MeasureRow, ObjectionRow, RepairRow,
                                         ViolationRow)
from credit_service.documents import DocumentNotConfigured, issue, load_document_settings, render_html, render_pdf
from credit_service.documents import build
from credit_service.documents.model import from_json, to_json
from credit_service.services import procedure
from credit_service.settings import PROJECT_ROOT
from tests.factories import id_number
from tests.workflow import record
from tests.unit_helpers import acting

NAME = "<script>alert(1)</script>"
D = date.fromisoformat


def pdf_text(pdf: bytes, tmp_path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.fail("pdftotext is missing: ./dev test installs Debian's poppler-utils")
    path = tmp_path / "letter.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(path), "-"], check=True, capture_output=True,
                          text=True).stdout
    return "".join(text.split())  # CJK lines wrap anywhere: compare without the breaks


@pytest.fixture
def documents():
    return load_document_settings(PROJECT_ROOT / "config")


@pytest.fixture
def case(container):
    """A violation of 张三 (named NAME) → a 6-month suspension, its notice, an objection decided
    'modified' (loss corrected), and a repair of the measure that stands, decided."""
    number = id_number()
    violation = record(container, number, "2026-11-02", "150000.00")
    with container.session_factory() as s:
        s.get(ViolationRow, violation.id).name = NAME
        s.commit()
        measure = s.scalars(select(MeasureRow).where(MeasureRow.violation_id == violation.id)).one()
    w = container.workflow()
    notice = procedure.serve_notice(w, acting("test"), measure.id, D("2026-11-03"), D("2026-11-04"))
    objection = procedure.file_objection(w, acting("test"), measure.id, D("2026-11-10"), "损失金额计算有误", []).row
    procedure.decide_objection(w, acting("test"), objection.id, "modified", D("2026-11-20"), "经核实损失为6万元",
                               Decimal("60000.00"))
    with container.session_factory() as s:
        standing = s.scalars(select(MeasureRow).where(MeasureRow.lookup_key == measure.lookup_key,
                                                      MeasureRow.revoked_on.is_(None))).all()
    repair = procedure.file_repair(w, acting("test"), standing[0].id, standing[0].subject_type, number,
                                   D("2026-11-21"), True, True, True, []).row
    procedure.decide_repair(w, acting("test"), repair.id, "approved", D("2026-11-25"), "已退回违规费用")
    with container.session_factory() as s:
        return {"number": number, "notice": notice,
                "measure": s.get(MeasureRow, measure.id), "violation": s.get(ViolationRow, violation.id),
                "objection": s.get(ObjectionRow, objection.id), "standing": standing,
                "repair": s.get(RepairRow, repair.id)}


def _issue(container, documents, kind, entity_id, build_model, region="370100", on=D("2026-11-26")):
    with container.session_factory() as s:
        issued = issue(s, documents, kind, region, entity_id, on, build_model, "console:li", container.clock.now())
        s.commit()
    return issued


def test_credit_result_notice_pdf_names_the_person_the_number_and_the_article(container, documents, case, tmp_path):
    c = case
    issued = _issue(container, documents, "credit_result_notice", c["measure"].id, lambda head: build.credit_result_notice(
        head, c["measure"], c["violation"], c["notice"], container.rules, c["number"]))
    assert issued.number == "济医保信告〔2026〕0001号"
    text = pdf_text(render_pdf(issued.model), tmp_path)
    for expected in ("济南市医疗保障局", "信用结果告知书", "济医保信告〔2026〕0001号", NAME, c["measure"].article,
                     "第十条", "第十一条", "第十二条", "15个工作日", "暂停医疗费用联网结算"):
        assert expected in text, expected
    assert c["number"] not in text and c["number"][:6] + "********" + c["number"][-4:] in text


def test_the_name_is_escaped_in_the_html_never_markup(container, documents, case):
    c = case
    model = build.credit_result_notice(build.Letterhead("局", "号", D("2026-11-26")), c["measure"], c["violation"],
                                       c["notice"], container.rules, c["number"])
    html = render_html(model)
    assert NAME not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_objection_decision_pdf(container, documents, case, tmp_path):
    c = case
    issued = _issue(container, documents, "objection_decision", c["objection"].id,
                    lambda head: build.objection_decision(head, c["objection"], c["measure"], c["violation"],
                                                          c["standing"], container.rules, c["number"]))
    text = pdf_text(render_pdf(issued.model), tmp_path)
    for expected in ("异议复核决定书", "济医保信复〔2026〕0001号", NAME, "异议部分成立", "经核实损失为6万元",
                     "60000.00元", "第十条", "第十一条", c["standing"][0].article):
        assert expected in text, expected


def test_repair_reply_pdf(container, documents, case, tmp_path):
    c = case
    standing = c["standing"][0]
    issued = _issue(container, documents, "repair_reply", c["repair"].id,
                    lambda head: build.repair_reply(head, c["repair"], standing, c["violation"], container.rules,
                                                    c["number"]))
    text = pdf_text(render_pdf(issued.model), tmp_path)
    for expected in ("信用修复回复书", "济医保信修〔2026〕0001号", NAME, "同意信用修复", "第十一条", "第十二条",
                     standing.article, "纠正失信行为"):
        assert expected in text, expected


def test_numbers_run_per_region_kind_and_year_without_gaps(container, documents, case):
    c = case

    def notice_for(entity, region="370100", on=D("2026-11-26")):
        return _issue(container, documents, "credit_result_notice", entity, lambda head: build.credit_result_notice(
            head, c["measure"], c["violation"], c["notice"], container.rules, c["number"]), region, on).number

    assert [notice_for(f"m{i}") for i in range(3)] == [f"济医保信告〔2026〕000{i}号" for i in (1, 2, 3)]
    assert notice_for("t1", "370900") == "泰医保信告〔2026〕0001号"
    assert notice_for("n1", on=D("2027-01-04")) == "济医保信告〔2027〕0001号"
    assert notice_for("m1") == "济医保信告〔2026〕0002号"  # the same letter again: the same number


def test_a_rolled_back_issue_leaves_no_gap(container, documents, case):
    c = case

    def model(head):
        return build.credit_result_notice(head, c["measure"], c["violation"], c["notice"], container.rules,
                                          c["number"])

    with container.session_factory() as s:
        assert issue(s, documents, "credit_result_notice", "370100", "a", D("2026-11-26"), model, "x",
                     container.clock.now()).number.endswith("0001号")
        s.rollback()  # the use case that issued it failed
    assert _issue(container, documents, "credit_result_notice", "b", model).number == "济医保信告〔2026〕0001号"
    with container.session_factory() as s:
        assert s.scalars(select(DocumentCounterRow.last_number)).all() == [1]
        assert s.scalars(select(IssuedDocumentRow.seq)).all() == [1]


def test_a_region_without_configuration_gets_no_made_up_number(container, documents, case):
    with container.session_factory() as s, pytest.raises(DocumentNotConfigured):
        issue(s, documents, "credit_result_notice", "110100", "x", D("2026-11-26"), lambda head: None, "x",
              container.clock.now())


def test_an_issued_letter_prints_again_from_what_was_stored(container, documents, case):
    c = case
    model = build.repair_reply(build.Letterhead("局", "号", D("2026-11-26")), c["repair"], c["standing"][0],
                               c["violation"], container.rules, c["number"])
    assert from_json(to_json(model)) == model
