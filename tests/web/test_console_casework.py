"""The console's casework (issue 11): worklist, subject search, case page, actions with a preview, the
letters as PDF — through Flask's test client, as a browser would post them. Today is 2026-11-26."""
from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import func, select

from credit_service.adapters.orm import (AuditEventRow, IssuedDocumentRow, MeasureRow, NoticeRow, ObjectionRow,
                                         RepairRow, ViolationRow)
from credit_service.services import clients, staff_accounts
from credit_service.web import casework
from tests.factories import id_number, violation
from tests.web.support import PASSWORD, csrf_of, sign_in
from tests.web.test_documents import pdf_text

NAME = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def desk(web_app, staff):
    """The app with li (staff 370100), wang (admin), zhao (staff 370200) and an API token per role."""
    c = web_app.extensions["credit_service"]
    staff_accounts.create_user(c.uow(), c.clock, "zhao", "staff", "370200", PASSWORD, "赵经办")
    tokens = {}
    for name, role, region in (("admin", "admin", None), ("staff-jinan", "staff", "370100")):
        _, tokens[name] = clients.create_client(c.uow(), c.clock, name, role, region)
    return Desk(web_app, tokens)


class Desk:
    def __init__(self, app, tokens):
        self.app, self.tokens = app, tokens
        self.api = app.test_client()

    def auth(self, who="admin"):
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def record(self, number=None, name=NAME, fund_loss="150000.00", region="370100", determined_on="2026-11-02"):
        body = violation(id_number=number or id_number(), region=region, occurred_on="2026-10-01",
                         determined_on=determined_on, fund_loss=fund_loss)
        body["subject"]["name"] = name
        response = self.api.post("/api/v1/violations", json=body, headers=self.auth())
        assert response.status_code == 201, response.json
        return body["subject"]["id_number"], response.json["measures"][0]

    def count(self, row) -> int:
        with self.app.extensions["credit_service"].session_factory() as s:
            return s.scalar(select(func.count()).select_from(row))

    def counts(self) -> tuple:
        return tuple(self.count(r) for r in (ViolationRow, MeasureRow, NoticeRow, ObjectionRow, RepairRow,
                                             AuditEventRow, IssuedDocumentRow))


def _case_url(client, number: str, subject_type: str = "insured") -> str:
    token = csrf_of(client.get("/console/worklist").get_data(as_text=True))
    response = client.post("/console/search", data={"subject_type": subject_type, "id_number": number,
                                                    "csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)
    return response.headers["Location"]


def _post(client, url: str, page_url: str, **data):
    token = csrf_of(client.get(page_url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


# -- worklist ----------------------------------------------------------------------------------

@pytest.mark.article("第十条")
@pytest.mark.article("第十一条")
def test_worklist_lists_the_regions_work_soonest_first_with_links_total_paging_and_filters(desk, web_client,
                                                                                           monkeypatch):
    """第十条/第十一条: reviews within 15 working days, repair replies within 15, open objection windows."""
    measures = [desk.record()[1] for _ in range(3)]
    desk.record(region="370200")
    for m, filed_on in zip(measures, ("2026-11-20", "2026-11-02", "2026-11-24")):
        assert desk.api.post("/api/v1/objections", json={"measure_id": m["id"], "filed_on": filed_on,
                                                          "reason": "金额有误", "evidence": []},
                             headers=desk.auth()).status_code == 201
    sign_in(web_client, "li")
    page = web_client.get("/console/worklist").get_data(as_text=True)
    assert re.search(r'class="total">3<', page)
    dues = re.findall(r"<td>(2026-\d\d-\d\d)</td>", page)
    assert dues == sorted(dues) and len(dues) == 3
    assert "已逾期" in page  # the objection filed on 11-02 was due on 11-23
    links = re.findall(r'href="(/console/subjects/[^"]+)" class="case-link"', page)
    assert len(links) == 3 and all(web_client.get(link).status_code == 200 for link in links)
    monkeypatch.setattr(casework, "PAGE_SIZE", 2)
    first = web_client.get("/console/worklist").get_data(as_text=True)
    second = web_client.get("/console/worklist?page=2").get_data(as_text=True)
    assert len(re.findall("case-link", first)) == 2 and len(re.findall("case-link", second)) == 1
    assert re.search(r'class="total">3<', second) and 'rel="next"' in first
    windows = web_client.get("/console/worklist?kind=objection_window").get_data(as_text=True)
    assert re.search(r'class="total">0<', windows)
    soon = web_client.get("/console/worklist?due_before=2026-12-01").get_data(as_text=True)
    assert re.search(r'class="total">1<', soon)
    assert web_client.get("/console/worklist?kind=nonsense").status_code == 422


# -- search and the case page ------------------------------------------------------------------

@pytest.mark.article("第七条")
def test_search_posts_the_number_and_redirects_to_an_opaque_case_url_never_logging_it(desk, web_client, caplog):
    number, measure = desk.record()
    sign_in(web_client, "li")
    caplog.set_level(logging.DEBUG)
    url = _case_url(web_client, number)
    assert url.startswith("/console/subjects/") and number not in url and number[-6:] not in url
    page = web_client.get(url).get_data(as_text=True)
    assert number in page and ESCAPED in page and NAME not in page
    assert measure["article"] in page and measure["explanation"] in page and "150,000.00" in page
    assert "暂停医疗费用联网结算" in page and "violation_recorded" in page  # the measure and the audit trail
    assert number not in caplog.text
    token = csrf_of(web_client.get("/console/search").get_data(as_text=True))
    unknown = web_client.post("/console/search", data={"subject_type": "insured", "id_number": id_number(),
                                                       "csrf_token": token})
    assert unknown.status_code == 200 and "未找到" in unknown.get_data(as_text=True)
    bad = web_client.post("/console/search", data={"subject_type": "insured", "id_number": "12345",
                                                   "csrf_token": token})
    assert bad.status_code == 422
    assert web_client.get("/console/subjects/not-a-subject").status_code == 404


# -- actions -----------------------------------------------------------------------------------

@pytest.mark.article("第十条")
def test_paper_objection_evidence_and_a_modified_decision_previewed_then_confirmed(desk, web_client, tmp_path):
    """第十条: a paper objection dated by its receipt, its evidence completed, decided 'modified':
    the preview is computed by the use case and writes nothing; the confirmation recomputes the year."""
    number, measure = desk.record()
    sign_in(web_client, "li")
    case = _case_url(web_client, number)
    key = case.rsplit("/", 1)[1]
    ok = _post(web_client, f"/console/subjects/{key}/measures/{measure['id']}/notice", case,
               served_on="2026-11-03", received_on="2026-11-04")
    assert ok.status_code == 303 and "done=notice" in ok.headers["Location"]
    ok = _post(web_client, f"/console/subjects/{key}/measures/{measure['id']}/objections", case,
               filed_on="2026-11-10", reason="损失金额计算有误", evidence="费用清单\n退款凭证")
    assert ok.status_code == 303
    with desk.app.extensions["credit_service"].session_factory() as s:
        objection = s.scalars(select(ObjectionRow)).one()
        assert objection.filed_on.isoformat() == "2026-11-10" and objection.filed_on_entered
        assert objection.filed_by == "li"
        filed = s.scalars(select(AuditEventRow).where(AuditEventRow.action == "objection_filed")).one()
        assert filed.actor == "console:li" and '"filed_on_entered_by":"li"' in filed.payload
    assert _post(web_client, f"/console/subjects/{key}/objections/{objection.id}/evidence-complete", case,
                 on="2026-11-12").status_code == 303
    before = desk.counts()
    preview = _post(web_client, f"/console/subjects/{key}/objections/{objection.id}/decision", case,
                    outcome="modified", decided_on="2026-11-20", reason="经核实损失为6万元", fund_loss="60000.00")
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "撤销措施" in text and "新设措施" in text and 'value="yes"' in text
    assert desk.counts() == before  # the preview wrote nothing
    with desk.app.extensions["credit_service"].session_factory() as s:
        assert s.get(ObjectionRow, objection.id).state == "open"
    confirmed = web_client.post(f"/console/subjects/{key}/objections/{objection.id}/decision",
                                data={"outcome": "modified", "decided_on": "2026-11-20", "reason": "经核实损失为6万元",
                                      "fund_loss": "60000.00", "confirm": "yes", "csrf_token": csrf_of(text)})
    assert confirmed.status_code == 303 and "done=objection_decided" in confirmed.headers["Location"]
    with desk.app.extensions["credit_service"].session_factory() as s:
        assert s.get(ObjectionRow, objection.id).outcome == "modified"
        standing = s.scalars(select(MeasureRow).where(MeasureRow.revoked_on.is_(None))).all()
        assert s.get(MeasureRow, measure["id"]).revoked_on is not None and len(standing) == 1
    page = web_client.get(confirmed.headers["Location"]).get_data(as_text=True)
    assert "已撤销" in page and standing[0].article in page and "60,000.00" in page
    pdf = web_client.get(f"/console/objections/{objection.id}/decision.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    letter = pdf_text(pdf.data, tmp_path)
    for expected in ("济南市医疗保障局", "异议复核决定书", "济医保信复〔2026〕0001号", NAME, "异议部分成立",
                     "经核实损失为6万元", standing[0].article):
        assert expected in letter, expected
    again = web_client.get(f"/console/objections/{objection.id}/decision.pdf")
    assert "济医保信复〔2026〕0001号" in pdf_text(again.data, tmp_path)  # printed again: the same number
    with desk.app.extensions["credit_service"].session_factory() as s:
        issued = s.scalars(select(AuditEventRow).where(AuditEventRow.action == "document_issued")).all()
        assert [(e.actor, e.entity_id) for e in issued] == [("console:li", objection.id)]  # once, by li


@pytest.mark.article("第十一条")
@pytest.mark.article("第十二条")
def test_paper_repair_previewed_and_approved_and_its_reply_and_the_notice_as_pdf(desk, web_client, tmp_path):
    """第十一条、第十二条: a repair received on paper, answered; the notice and the reply as letters."""
    number, measure = desk.record()
    sign_in(web_client, "li")
    case = _case_url(web_client, number)
    key = case.rsplit("/", 1)[1]
    assert _post(web_client, f"/console/subjects/{key}/measures/{measure['id']}/repairs", case,
                 filed_on="2026-11-20", corrected="y", adverse_effects_removed="y", commitment="y").status_code == 303
    with desk.app.extensions["credit_service"].session_factory() as s:
        repair = s.scalars(select(RepairRow)).one()
        assert repair.filed_on_entered and repair.corrected and repair.commitment
    before = desk.counts()
    preview = _post(web_client, f"/console/subjects/{key}/repairs/{repair.id}/decision", case,
                    outcome="approved", decided_on="2026-11-25", reason="已退回违规费用")
    assert preview.status_code == 200 and "期满" in preview.get_data(as_text=True)
    assert desk.counts() == before
    done = web_client.post(f"/console/subjects/{key}/repairs/{repair.id}/decision",
                           data={"outcome": "approved", "decided_on": "2026-11-25", "reason": "已退回违规费用",
                                 "confirm": "yes", "csrf_token": csrf_of(preview.get_data(as_text=True))})
    assert done.status_code == 303
    reply = pdf_text(web_client.get(f"/console/repairs/{repair.id}/reply.pdf").data, tmp_path)
    assert "信用修复回复书" in reply and "济医保信修〔2026〕0001号" in reply and "同意信用修复" in reply and NAME in reply
    notice = web_client.get(f"/console/measures/{measure['id']}/notice.pdf")
    assert notice.status_code == 200 and notice.mimetype == "application/pdf"
    text = pdf_text(notice.data, tmp_path)
    assert "济医保信告〔2026〕0001号" in text and NAME in text and measure["article"] in text and number not in text


@pytest.mark.article("第十条")
def test_a_rule_refusal_is_shown_with_its_reason_and_nothing_is_written(desk, web_client):
    number, measure = desk.record()
    sign_in(web_client, "li")
    case = _case_url(web_client, number)
    key = case.rsplit("/", 1)[1]
    before = desk.counts()
    refused = _post(web_client, f"/console/subjects/{key}/measures/{measure['id']}/notice", case,
                    served_on="2026-11-05", received_on="2026-11-04")
    assert refused.status_code == 422 and "未做任何更改" in refused.get_data(as_text=True)
    assert desk.counts() == before
    assert web_client.get("/console/objections/nope/decision.pdf").status_code == 404


@pytest.mark.article("第九条")
def test_recording_a_violation_in_the_console_uses_the_intake_rules(desk, web_client):
    """第九条: the same tiers as POST /api/v1/violations."""
    number, _ = desk.record(fund_loss="1000.00")
    sign_in(web_client, "li")
    case = _case_url(web_client, number)
    key = case.rsplit("/", 1)[1]
    done = _post(web_client, f"/console/subjects/{key}/violations", case, source_ref="济医保罚〔2026〕12号",
                 region="370100", occurred_on="2026-10-02", determined_on="2026-11-20", fund_loss="150000.00",
                 handling="administrative", description="虚构医疗服务")
    assert done.status_code == 303, done.get_data(as_text=True)
    with desk.app.extensions["credit_service"].session_factory() as s:
        recorded = s.scalars(select(ViolationRow).where(ViolationRow.source == "console")).one()
        assert recorded.recorded_by == "li" and recorded.region == "370100"
    page = web_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "虚构医疗服务" in page
    other_region = _post(web_client, f"/console/subjects/{key}/violations", case, source_ref="X-2",
                         region="370200", occurred_on="2026-10-02", determined_on="2026-11-20",
                         fund_loss="1.00", handling="administrative")
    assert other_region.status_code == 403


@pytest.mark.article("第八条第二项")
def test_art8_item2_reregistration_recorded_in_the_console_refused_before_the_bar_then_normal_from_that_day(
        desk, web_client):
    """Issue 11 item 4: 重新登记备案 in the console, through the API's use case (6 + 6 points in 2025:
    terminated 2025-05-20, re-registration allowed from 2026-05-20)."""
    doctor = id_number()
    for points, day in ((6, "2025-03-01"), (6, "2025-05-20")):
        body = violation(id_number=doctor, subject_type="physician", points=points, category="moderate",
                         occurred_on=day, determined_on=day, handling="agreement", fund_loss="2000.00")
        response = desk.api.post("/api/v1/violations", json=body, headers=desk.auth())
        assert response.status_code == 201, response.json
    (termination,) = [m for m in response.json["measures"] if m["kind"] == "qualification_termination"]
    sign_in(web_client, "li")
    case = _case_url(web_client, doctor, "physician")
    key = case.rsplit("/", 1)[1]
    page = web_client.get(f"{case}?year=2025").get_data(as_text=True)
    assert "登记重新登记备案" in page and "2026-05-20" in page
    url = f"/console/subjects/{key}/measures/{termination['id']}/reregistration"
    before = desk.counts()
    barred = _post(web_client, url, case, registered_on="2026-05-19", note="鲁医保备〔2026〕12号")
    assert barred.status_code == 422 and "2026-05-20" in barred.get_data(as_text=True)
    assert desk.counts() == before
    other_region = web_client.application.test_client()
    sign_in(other_region, "zhao")
    assert _post(other_region, url, "/console/worklist", registered_on="2026-06-15").status_code in (403, 404)
    done = _post(web_client, url, case, registered_on="2026-06-15", note="鲁医保备〔2026〕12号")
    assert done.status_code == 303, done.get_data(as_text=True)
    assert "已登记重新登记备案" in web_client.get(done.headers["Location"]).get_data(as_text=True)
    with desk.app.extensions["credit_service"].session_factory() as s:
        assert s.get(MeasureRow, termination["id"]).restores_on.isoformat() == "2026-06-15"
        (entry,) = s.scalars(select(AuditEventRow).where(AuditEventRow.action == "measure_reregistered")).all()
        assert entry.actor == "console:li"
    status = desk.api.get(f"/api/v1/subjects/physician/{doctor}/status?on=2026-06-15", headers=desk.auth())
    assert status.json["settlement_allowed"] is True and status.json["qualification"]["status"] == "normal"
