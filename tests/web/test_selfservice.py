"""Self-service pages (issue 12, Arts 9–12): today's status, the record, the letters, objections and
repairs with evidence files — one person's own only, every view and filing audited as theirs."""
from __future__ import annotations

import io
import re

import pytest
from sqlalchemy import select

from credit_service.adapters.orm import AuditEventRow, EvidenceFileRow, ObjectionRow, RepairRow
from credit_service.services import clients, procedure
from tests.web.selfservice_support import JPEG, NUMBER, OTHER, PDF, PNG, log_in, person_app, suspended
from tests.web.support import csrf_of


@pytest.fixture
def app(make_app, provider):
    return person_app(make_app, provider)


@pytest.fixture
def c(app):
    return app.extensions["credit_service"]


@pytest.fixture
def person(app, provider):
    client = app.test_client()
    log_in(client, provider)
    return client


def _file(client, path, measure_id, files=(), **fields):
    page = client.get("/me/").get_data(as_text=True)
    data = {"measure_id": measure_id, "csrf_token": csrf_of(page), **fields}
    if files:
        data["evidence"] = list(files)
    return client.post(path, data=data, content_type="multipart/form-data")


@pytest.mark.article("第九条")
def test_art9_today_says_suspended_with_the_restore_date_why_and_what_to_do(c, person):
    measure = suspended(c)
    page = person.get("/me/").get_data(as_text=True)
    assert "暂停联网结算" in page and "2027-05-02恢复" in page
    assert "第九条" in page and "虚构医疗服务" in page
    assert "2026年12月" in page and "前提出异议" in page  # the window of 第十条, from the notice's receipt
    assert f"/me/measures/{measure}/object" in page and f"/me/measures/{measure}/repair" in page
    assert "急诊、抢救" in page
    assert NUMBER not in page and "370102********1231" in page


def test_a_clean_person_may_settle(person):
    page = person.get("/me/").get_data(as_text=True)
    assert "可以联网结算" in page and "没有正在执行的信用管理措施" in page


def test_practitioner_sees_qualification_and_points_this_year(make_app, provider):
    app = person_app(make_app, provider, oidc_subject_type_claim="subject_type")
    c = app.extensions["credit_service"]
    suspended(c, subject_type="physician", loss="0.00", points=10, received_on=None, category="grave")
    client = app.test_client()
    log_in(client, provider, subject_type="physician")
    page = client.get("/me/").get_data(as_text=True)
    assert "医保支付资格" in page and "2026年度记分：<strong>10分</strong>" in page


@pytest.mark.article("第七条")
def test_art7_record_by_natural_year_masks_the_number_and_names_the_person(c, person):
    suspended(c)
    page = person.get("/me/record?year=2026").get_data(as_text=True)
    assert "2026年度信用记录" in page and "张三" in page and "370102********1231" in page and NUMBER not in page
    assert "150000.00元" in page and "暂停医疗费用联网结算" in page
    assert person.get("/me/record?year=abc").status_code == 404


@pytest.mark.article("第十条")
def test_art10_notice_pdf_is_the_numbered_letter(c, person):
    measure = suspended(c)
    response = person.get(f"/me/measures/{measure}/notice.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF") and response.headers["Cache-Control"] == "no-store"
    again = person.get(f"/me/measures/{measure}/notice.pdf")
    assert again.status_code == 200


@pytest.mark.article("第十条")
def test_art10_objection_with_evidence_files_filed_today(c, person):
    measure = suspended(c)
    response = _file(person, "/me/objections", measure,
                     [(_io(PDF), "收据.pdf"), (_io(PNG), "照片.png"), (_io(JPEG), "scan.jpeg")], reason="该费用为真实发生的治疗")
    assert response.status_code == 303, response.get_data(as_text=True)
    with c.session_factory() as s:
        objection = s.scalars(select(ObjectionRow)).one()
        files = s.scalars(select(EvidenceFileRow).order_by(EvidenceFileRow.filename)).all()
    assert objection.filed_on == c.clock.today() and objection.filed_on_entered is False
    assert sorted((f.filename, f.content_type) for f in files) == [
        ("scan.jpg", "image/jpeg"), ("收据.pdf", "application/pdf"), ("照片.png", "image/png")]
    assert all(len(f.sha256) == 64 and f.case_id == objection.id for f in files)
    page = person.get("/me/applications").get_data(as_text=True)
    assert "复核中" in page and "收据.pdf" in page
    pdf = next(f for f in files if f.content_type == "application/pdf")
    download = person.get(f"/me/evidence/{pdf.id}")
    assert download.status_code == 200 and download.data == PDF and download.mimetype == "application/pdf"


def _io(data: bytes) -> io.BytesIO:
    return io.BytesIO(data)


def test_evidence_whose_content_is_not_pdf_jpeg_or_png_is_refused_whatever_its_name(c, person):
    measure = suspended(c)
    response = _file(person, "/me/objections", measure, [(_io(b"<html><script>alert(1)</script>"), "证明.pdf")],
                     reason="理由")
    assert response.status_code == 422 and "按文件内容判断" in response.get_data(as_text=True)
    with c.session_factory() as s:
        assert s.scalars(select(ObjectionRow)).all() == [] and s.scalars(select(EvidenceFileRow)).all() == []


def test_an_11_mb_evidence_file_is_413(c, person):
    measure = suspended(c)
    big = PDF + b"0" * (11 * 1024 * 1024)
    response = _file(person, "/me/objections", measure, [(_io(big), "big.pdf")], reason="理由")
    assert response.status_code == 413
    with c.session_factory() as s:
        assert s.scalars(select(ObjectionRow)).all() == []


def test_more_than_20_files_in_one_filing_is_refused(c, person):
    measure = suspended(c)
    response = _file(person, "/me/objections", measure, [(_io(PNG), f"{i}.png") for i in range(21)], reason="理由")
    assert response.status_code == 422 and "最多附20个" in response.get_data(as_text=True)


@pytest.mark.article("第十条")
def test_art10_after_the_deadline_the_page_says_so_and_when_it_ended(c, app, provider, moving_clock):
    measure = suspended(c)
    moving_clock.advance(days=30)
    person = app.test_client()
    log_in(person, provider)
    page = person.get(f"/me/measures/{measure}/object").get_data(as_text=True)
    assert "<form method=\"post\" action=\"/me/objections\"" not in page
    assert "异议期限已于" in page and "2026年12月" in page and "结束" in page
    response = _file(person, "/me/objections", measure, reason="理由")
    assert response.status_code == 422 and "objection" not in response.headers.get("Location", "")


@pytest.mark.article("第十一条")
@pytest.mark.article("第十二条")
def test_art11_art12_repair_needs_each_condition_confirmed_and_says_when_the_reply_is_due(c, person):
    measure = suspended(c)
    page = person.get(f"/me/measures/{measure}/repair").get_data(as_text=True)
    for words in ("纠正失信行为", "消除不良影响", "作出修复承诺", "信用修复承诺书", "前答复"):
        assert words in page, words
    partial = _file(person, "/me/repairs", measure, corrected="y", adverse_effects_removed="y")
    assert partial.status_code == 422 and "请阅读并同意信用修复承诺" in partial.get_data(as_text=True)
    done = _file(person, "/me/repairs", measure, [(_io(PDF), "退款凭证.pdf")], corrected="y",
                 adverse_effects_removed="y", commitment="y")
    assert done.status_code == 303
    with c.session_factory() as s:
        repair = s.scalars(select(RepairRow)).one()
        assert (repair.corrected, repair.adverse_effects_removed, repair.commitment) == (True, True, True)
        assert s.scalars(select(EvidenceFileRow.case_kind)).all() == ["repair"]
    page = person.get("/me/applications").get_data(as_text=True)
    assert "待答复" in page and "退款凭证.pdf" in page


def test_filing_needs_the_csrf_token(c, person):
    measure = suspended(c)
    response = person.post("/me/objections", data={"measure_id": measure, "reason": "x"})
    assert response.status_code == 400


def test_another_subjects_pages_files_and_letters_cannot_be_reached_by_changing_an_id(c, app, provider):
    mine = suspended(c)
    theirs = suspended(c, number=OTHER)
    zhang = app.test_client()
    log_in(zhang, provider)
    li = app.test_client()
    log_in(li, provider, number=OTHER, name="李四")
    assert _file(li, "/me/objections", theirs, [(_io(PDF), "李四.pdf")], reason="李四的异议").status_code == 303
    with c.session_factory() as s:
        their_objection = s.scalars(select(ObjectionRow)).one()
        their_file = s.scalars(select(EvidenceFileRow)).one()
    procedure.decide_objection(c.workflow(), clients.Principal("x", "staff", "admin"), their_objection.id, "rejected",
                               c.clock.today(), "维持", None)  # set-up: decided, so its letter exists
    for url in (f"/me/measures/{theirs}/notice.pdf", f"/me/measures/{theirs}/object", f"/me/measures/{theirs}/repair",
                f"/me/evidence/{their_file.id}", f"/me/objections/{their_objection.id}/decision.pdf"):
        response = zhang.get(url)
        assert response.status_code in (403, 404), url
        assert b"%PDF" not in response.data and "李四" not in response.get_data(as_text=True), url
    # … nor by changing the measure id in a form
    assert _file(zhang, "/me/objections", theirs, reason="冒名").status_code in (403, 404)
    assert _file(zhang, "/me/repairs", theirs, corrected="y", adverse_effects_removed="y",
                 commitment="y").status_code in (403, 404)
    with c.session_factory() as s:
        assert len(s.scalars(select(ObjectionRow)).all()) == 1 and s.scalars(select(RepairRow)).all() == []
    assert "李四" not in zhang.get("/me/applications").get_data(as_text=True)
    assert zhang.get(f"/me/measures/{mine}/notice.pdf").status_code == 200
    assert li.get(f"/me/evidence/{their_file.id}").status_code == 200


def test_no_identity_number_in_any_url_of_the_pages(c, person):
    measure = suspended(c)
    _file(person, "/me/objections", measure, [(_io(PDF), "a.pdf")], reason="理由")
    for path in ("/me/", "/me/record", "/me/applications", f"/me/measures/{measure}/object"):
        page = person.get(path).get_data(as_text=True)
        urls = re.findall(r'(?:href|action)="([^"]+)"', page)
        assert urls and not any(NUMBER in u for u in urls), path


def test_every_view_and_filing_is_audited_with_the_person_as_actor(c, person):
    measure = suspended(c)
    person.get("/me/")
    person.get("/me/record")
    person.get(f"/me/measures/{measure}/notice.pdf")
    _file(person, "/me/objections", measure, [(_io(PDF), "a.pdf")], reason="理由")
    key = c.keys.lookup_key("insured", NUMBER)
    with c.session_factory() as s:
        rows = s.scalars(select(AuditEventRow).order_by(AuditEventRow.seq)).all()
    mine = [(r.action, r.actor) for r in rows if r.actor == f"person:{key}"]
    actions = [a for a, _ in mine]
    assert actions.count("person_viewed") >= 4  # today (twice: before filing), record, notice
    assert "objection_filed" in actions and "evidence_added" in actions
    assert all(NUMBER not in (r.actor or "") for r in rows)


def test_pages_are_no_store_and_work_without_a_session(c, person, app):
    assert person.get("/me/record").headers["Cache-Control"] == "no-store"
    stranger = app.test_client()
    assert stranger.get("/me/record").status_code == 303
    assert stranger.get("/me/applications").status_code == 303


def test_the_console_partial_lists_a_cases_files_and_staff_of_the_deciding_region_download_them(c, person, app):
    from flask import render_template
    from credit_service.services import evidence, staff_accounts
    from tests.web.support import PASSWORD, sign_in
    measure = suspended(c)
    _file(person, "/me/objections", measure, [(_io(PDF), "收据.pdf")], reason="理由")
    with c.session_factory() as s:
        objection = s.scalars(select(ObjectionRow)).one()
        file_id = s.scalars(select(EvidenceFileRow.id)).one()
    li, _ = staff_accounts.create_user(c.uow(), c.clock, "li", "staff", "370100", PASSWORD, "李经办")
    staff_accounts.create_user(c.uow(), c.clock, "zhao", "staff", "370900", PASSWORD, "赵经办")
    principal = clients.Principal(f"staff:{li.id}", "li", "staff", "370100")
    files = evidence.evidence_of(c.uow(), principal, "objection", objection.id)
    with app.test_request_context("/console/x"):
        html = render_template("console/evidence_files.html", files=files)
    assert "收据.pdf" in html and f"/console/evidence/{file_id}" in html
    staff = app.test_client()
    sign_in(staff, "li")
    got = staff.get(f"/console/evidence/{file_id}")
    assert got.status_code == 200 and got.data == PDF
    # … and the case page (issue 11) includes the partial under the objection it belongs to
    case_url = re.search(r'href="(/console/subjects/[^"]+)" class="case-link">异议复核<',
                         staff.get("/console/worklist").get_data(as_text=True)).group(1)
    case = staff.get(case_url).get_data(as_text=True)
    item = case[case.index('class="case-item objection'):]
    assert f'href="/console/evidence/{file_id}">收据.pdf</a>' in item[:item.index("</div>")]
    other = app.test_client()
    sign_in(other, "zhao")
    assert other.get(f"/console/evidence/{file_id}").status_code == 403
    assert app.test_client().get(f"/console/evidence/{file_id}").status_code == 303  # not signed in
    assert person.get(f"/console/evidence/{file_id}").status_code == 303  # the person's session is not the console's


@pytest.mark.article("第十条")
def test_art10_a_letter_not_yet_ready_or_not_configured_is_one_conflict_code_at_both_doors(c, person, app):
    """One letters use case (services/letters.py) for the console and the person: the decision letter of an
    objection under review is `letter_not_ready` (409) at both doors; a region without a letterhead is
    `letter_not_configured` (409) and numbers nothing."""
    from credit_service.adapters.orm import IssuedDocumentRow
    from credit_service.documents.config import DocumentSettings
    from credit_service.services import letters, staff_accounts
    from credit_service.services.errors import Conflict
    from tests.web.support import PASSWORD, sign_in
    measure = suspended(c)
    assert _file(person, "/me/objections", measure, reason="理由").status_code == 303
    with c.session_factory() as s:
        objection = s.scalars(select(ObjectionRow)).one()
    assert person.get(f"/me/objections/{objection.id}/decision.pdf").status_code == 409
    staff_accounts.create_user(c.uow(), c.clock, "li", "staff", "370100", PASSWORD, "李经办")
    staff = app.test_client()
    sign_in(staff, "li")
    refused = staff.get(f"/console/objections/{objection.id}/decision.pdf")
    assert refused.status_code == 409 and b"%PDF" not in refused.data
    admin = clients.Principal("x", "staff", "admin")
    with pytest.raises(Conflict) as not_ready:
        letters.letter(c.uow(), admin, app.extensions["credit_service_web"].documents, c.rules, "objection",
                       objection.id, c.clock.today(), c.clock.now())
    assert not_ready.value.code == "letter_not_ready"
    with pytest.raises(Conflict) as not_configured:
        letters.letter(c.uow(), admin, DocumentSettings(), c.rules, "measure", measure, c.clock.today(), c.clock.now())
    assert not_configured.value.code == "letter_not_configured"
    with c.session_factory() as s:
        assert s.scalars(select(IssuedDocumentRow)).all() == []
