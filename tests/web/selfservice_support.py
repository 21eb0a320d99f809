"""Helpers of the self-service tests: a person with a measure, signing in at the test OIDC provider,
evidence files of each kind, and the staff decision (one function, switched to the console form once
the console's case page exists)."""
from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from sqlalchemy import select

from credit_service.adapters.orm import MeasureRow
from credit_service.domain.violations import ViolationInput
from credit_service.services import intake, procedure
from credit_service.services.access import operator
from tests.web.conftest import callback_path

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


def staff_decide_objection(container, staff_principal, objection_id: str, outcome: str = "upheld",
                           reason: str = "经核实，该费用为真实发生的医疗服务。"):
    """Staff decide the objection. For now through the staff use case (the same the API and the console
    call); after merging the console (issue 11) the lead switches this to its case page's form."""
    return procedure.decide_objection(container.workflow(), staff_principal, objection_id, outcome,
                                      container.clock.today(), reason, None)
