"""Same rules, same answers (issue 11): the same case worked in the console and through the token API
gives identical records, measures, deadlines, audit events (the actor aside) and webhook events —
the console is a door onto the API's use cases, not a second copy of them. Today is 2026-11-26."""
from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import inspect, select

from credit_service.adapters.orm import (AuditEventRow, MeasureEventRow, MeasureRow, NoticeRow, ObjectionRow,
                                         RepairRow, SubjectChangeRow, ViolationRow, WebhookDeliveryRow)
from credit_service.services import webhooks as webhook_service
from tests.factories import id_number
from tests.web.support import csrf_of, sign_in
from tests.web.test_console_casework import _case_url, desk  # noqa: F401 (the fixture)

ACTOR_FIELDS = {"seq", "at", "actor", "role", "actor_region", "request_id", "id_number"}
ROW_SKIP = {"id", "lookup_key", "measure_id", "violation_id", "created_at", "recorded_at", "recorded_by", "filed_by",
            "decided_by", "source", "source_ref", "body_hash", "revoked_by", "voided_by", "ref", "intake_order"}


@pytest.fixture
def make_app(make_app):
    def build(**overrides):
        return make_app(**{"webhook_allowed_hosts": "127.0.0.1", **overrides})
    return build


def _rows(session, row_class, key):
    rows = session.scalars(select(row_class).where(row_class.lookup_key == key)).all()
    out = []
    for row in rows:
        out.append({a.key: getattr(row, a.key) for a in inspect(row).mapper.column_attrs
                    if a.key not in ROW_SKIP and not a.key.endswith("_at")})
    return sorted(out, key=repr)


def _normalised(text: str, ids: dict[str, str], actors: tuple[str, ...]) -> str:
    """Entity ids replaced by their order of first appearance; the acting user's name by ACTOR."""
    for actor in actors:
        text = text.replace(f'"{actor}"', '"ACTOR"')
    text = re.sub(r'"source_ref": "[^"]*"', '"source_ref": "REF"', text)  # the intake's own idempotency key
    return re.sub(r"\b[0-9a-f]{32}\b", lambda m: ids.setdefault(m.group(0), f"ID{len(ids)}"), text)


def snapshot(app, key: str, actors: tuple[str, ...]) -> dict:
    c = app.extensions["credit_service"]
    ids: dict[str, str] = {}
    with c.session_factory() as s:
        measure_ids = [m.id for m in s.scalars(select(MeasureRow).where(MeasureRow.lookup_key == key)
                                               .order_by(MeasureRow.starts_on, MeasureRow.created_at))]
        events = s.scalars(select(AuditEventRow).where(AuditEventRow.lookup_key == key)
                           .order_by(AuditEventRow.seq)).all()
        trail = []
        for event in events:
            payload = {k: v for k, v in json.loads(event.payload).items() if k not in ACTOR_FIELDS}
            trail.append(_normalised(json.dumps(payload, sort_keys=True, ensure_ascii=False), ids, actors))
        steps = s.scalars(select(MeasureEventRow).where(MeasureEventRow.lookup_key == key)
                          .order_by(MeasureEventRow.id)).all()
        seqs = [r.seq for r in s.scalars(select(SubjectChangeRow).where(SubjectChangeRow.lookup_key == key))]
        hooks = s.scalars(select(WebhookDeliveryRow).where(WebhookDeliveryRow.seq.in_(seqs))
                          .order_by(WebhookDeliveryRow.seq)).all()
        return {
            "violations": _rows(s, ViolationRow, key), "measures": _rows(s, MeasureRow, key),
            "notices": _rows(s, NoticeRow, key), "objections": _rows(s, ObjectionRow, key),
            "repairs": _rows(s, RepairRow, key),
            "measure_events": [(e.event, e.on, e.detail, measure_ids.index(e.measure_id)) for e in steps],
            "audit": trail, "feed_entries": len(seqs),
            "webhooks": [(h.event_type, _normalised(json.dumps(json.loads(h.payload)["status"], sort_keys=True), ids,
                                                    actors)) for h in hooks],
        }


@pytest.mark.article("第十条")
@pytest.mark.article("第十一条")
@pytest.mark.article("第十二条")
def test_same_rules_same_answers_console_and_api_give_identical_records_audit_and_webhooks(desk, web_client):
    """第十条、第十一条、第十二条 through both doors: notice, paper objection, evidence, a modified
    decision with its recomputation, a paper repair approved."""
    app = desk.app
    hook = desk.api.post("/api/v1/webhooks", headers=desk.auth(), json={
        "url": "http://127.0.0.1:9/hook", "secret": "s" * 20, "events": ["status.changed"],
        "scope": {"regions": ["370100"]}})
    assert hook.status_code == 201, hook.json
    console_number, console_measure = desk.record(number=id_number(), name="甲")
    api_number, api_measure = desk.record(number=id_number(), name="甲")

    # The console (li, staff of 370100)
    sign_in(web_client, "li")
    case = _case_url(web_client, console_number)
    key = case.rsplit("/", 1)[1]

    def post(url, **data):
        response = web_client.post(url, data={**data, "csrf_token": csrf_of(web_client.get(case).get_data(as_text=True))})
        assert response.status_code == 303, response.get_data(as_text=True)

    post(f"/console/subjects/{key}/measures/{console_measure['id']}/notice", served_on="2026-11-03",
         received_on="2026-11-04")
    post(f"/console/subjects/{key}/measures/{console_measure['id']}/objections", filed_on="2026-11-10",
         reason="损失金额计算有误", evidence="费用清单")
    with app.extensions["credit_service"].session_factory() as s:
        objection_id = s.scalar(select(ObjectionRow.id).where(ObjectionRow.measure_id == console_measure["id"]))
    post(f"/console/subjects/{key}/objections/{objection_id}/evidence-complete", on="2026-11-12")
    post(f"/console/subjects/{key}/objections/{objection_id}/decision", outcome="modified", decided_on="2026-11-20",
         reason="经核实损失为6万元", fund_loss="60000.00", confirm="yes")
    with app.extensions["credit_service"].session_factory() as s:
        standing = s.scalar(select(MeasureRow.id).where(MeasureRow.lookup_key == key, MeasureRow.revoked_on.is_(None)))
    post(f"/console/subjects/{key}/measures/{standing}/repairs", filed_on="2026-11-21", corrected="y",
         adverse_effects_removed="y", commitment="y", evidence="退款凭证")
    with app.extensions["credit_service"].session_factory() as s:
        repair_id = s.scalar(select(RepairRow.id).where(RepairRow.measure_id == standing))
    post(f"/console/subjects/{key}/repairs/{repair_id}/decision", outcome="approved", decided_on="2026-11-25",
         reason="已退回违规费用", confirm="yes")

    # The token API (a staff client of 370100)
    def api(url, body, status=200):
        response = desk.api.post(url, json=body, headers=desk.auth("staff-jinan"))
        assert response.status_code == status, response.json
        return response.json

    api(f"/api/v1/measures/{api_measure['id']}/notice", {"served_on": "2026-11-03", "received_on": "2026-11-04"}, 201)
    objection = api("/api/v1/objections", {"measure_id": api_measure["id"], "filed_on": "2026-11-10",
                                           "reason": "损失金额计算有误", "evidence": ["费用清单"]}, 201)
    api(f"/api/v1/objections/{objection['id']}/evidence-complete", {"on": "2026-11-12"})
    decided = api(f"/api/v1/objections/{objection['id']}/decision", {
        "outcome": "modified", "decided_on": "2026-11-20", "reason": "经核实损失为6万元", "fund_loss": "60000.00"})
    new_measure = decided["new_measures"][0]["id"]
    repair = api("/api/v1/repairs", {"measure_id": new_measure, "subject_type": "insured", "id_number": api_number,
                                     "filed_on": "2026-11-21", "corrected": True, "adverse_effects_removed": True,
                                     "commitment": True, "evidence": ["退款凭证"]}, 201)
    api(f"/api/v1/repairs/{repair['id']}/decision", {"outcome": "approved", "decided_on": "2026-11-25",
                                                     "reason": "已退回违规费用"})

    c = app.extensions["credit_service"]
    assert webhook_service.enqueue_changes(c.uow(), c.clock) > 0
    api_key = c.keys.lookup_key("insured", api_number)
    by_console = snapshot(app, key, ("li",))
    by_api = snapshot(app, api_key, ("staff-jinan",))
    assert by_console["measures"] and len(by_console["measures"]) == 2 and by_console["audit"]
    assert by_console["webhooks"] and len(by_console["objections"]) == 1 and len(by_console["repairs"]) == 1
    for part in by_console:
        assert by_console[part] == by_api[part], part
    with c.session_factory() as s:  # the actor is the console user, as the API's is its client
        actors = {e.actor for e in s.scalars(select(AuditEventRow).where(AuditEventRow.lookup_key.in_([key, api_key])))}
    assert {"console:li", "staff-jinan"} <= actors
