"""Helpers of the self-service tests: a person with a measure, signing in at the test OIDC provider,
evidence files of each kind, and the staff side through the real console pages (its worklist, the case
page's decide form with its preview and confirmation), as tests/web/test_console_casework.py drives them."""
from __future__ import annotations

import itertools
import re
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from credit_service.adapters.orm import MeasureRow
from credit_service.domain.violations import ViolationInput
from credit_service.services import intake, procedure
from credit_service.services.access import operator
from tests.web.conftest import callback_path
from tests.web.support import csrf_of, sign_in

D = date.fromisoformat
NUMBER = "370102199001011231"  # 张三
OTHER = "370102199001011258"  # 李四
_refs = itertools.count(1)

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def person_app(make_app, provider, **overrides):
    return make_app(oidc_issuer=provider.issuer, oidc_client_id="credit-service", oidc_client_secret="s3cret",
                    **overrides)


def log_in(client, provider, number=NUMBER, name="张三", sub=None, **claims):
    sub = sub or f"u-{number}"
    provider.set_user(sub, id_number=number, name=name, **claims)
    start = client.get("/me/login")
    assert start.status_code == 302
    done = client.get(callback_path(provider.authorize(start.headers["Location"], sub)))
    assert done.status_code == 303, done.get_data(as_text=True)
    return done


def suspended(container, number=NUMBER, determined_on="2026-11-02", loss="150000.00", received_on="2026-11-20",
              subject_type="insured", points=None, region="370100", category=None):
    """A violation → a measure (150,000 yuan: 6 months' suspension, 第九条第三项), its notice served and
    received; returns the measure id."""
    v = ViolationInput(source="test", source_ref=f"ME-{next(_refs):06d}", subject_type=subject_type,
                       id_number=number, name="张三", region=region, occurred_on=D(determined_on),
                       determined_on=D(determined_on), fund_loss=Decimal(loss), handling="administrative",
                       fraud=False, points=points, description="虚构医疗服务", months_override=None,
                       category=category)
    outcomes, _ = intake.record_violations(container.uow(), operator("test"), [v], container.rules, container.clock)
    assert outcomes[0].status == "created", outcomes[0].error
    with container.session_factory() as s:
        measure = s.scalars(select(MeasureRow).where(MeasureRow.violation_id == outcomes[0].violation.id)).first()
    if received_on:
        procedure.serve_notice(container.workflow(), operator("test"), measure.id, D(received_on), D(received_on))
    return measure.id


def staff_worklist(app, username: str):
    """A console user signed in (a test client of the same app and database) and their worklist page."""
    staff = app.test_client()
    signed = sign_in(staff, username)
    assert signed.status_code == 303, signed.get_data(as_text=True)
    page = staff.get("/console/worklist")
    assert page.status_code == 200
    return staff, page.get_data(as_text=True)


def staff_decide_objection(staff, case_url: str, objection_id: str, outcome: str = "upheld",
                           reason: str = "经核实，该费用为真实发生的医疗服务。") -> str:
    """Staff decide the objection on the console's case page: its decide form, the consequences
    previewed (nothing written), then confirmed. Returns the case page after the decision."""
    case = staff.get(case_url)
    assert case.status_code == 200
    html = case.get_data(as_text=True)
    action = re.search(r'action="([^"]*/objections/%s/decision)"' % re.escape(objection_id), html)
    assert action, "the case page has no decide form for this objection"
    fields = {"outcome": outcome, "decided_on": date.today().isoformat(), "reason": reason, "fund_loss": ""}
    decided_on = re.search(r'name="decided_on" value="([0-9-]+)"', html)
    fields["decided_on"] = decided_on.group(1) if decided_on else fields["decided_on"]  # the form's default: today
    preview = staff.post(action.group(1), data={**fields, "csrf_token": csrf_of(html)})
    text = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'value="yes"' in text, text
    done = staff.post(action.group(1), data={**fields, "confirm": "yes", "csrf_token": csrf_of(text)})
    assert done.status_code == 303 and "done=objection_decided" in done.headers["Location"], done.get_data(as_text=True)
    return staff.get(done.headers["Location"]).get_data(as_text=True)
