"""Issue 10 (one seam): the audit actor arrives only as a parameter — from the Principal a door names,
the job that runs a sweep, or the operator at the command line — never from ambient state. So a use
case run by itself, outside any door (a test, a future door that forgot a wrapper), still records who
acted; and one running inside another's context cannot borrow its actor."""
from __future__ import annotations

import json
import threading
from decimal import Decimal

from click.testing import CliRunner
from sqlalchemy import select

from credit_service.adapters.orm import AuditEventRow
from credit_service.cli import main as cli
from credit_service.jobs import runner
from credit_service.services import procedure
from credit_service.services.access import operator
from credit_service.services.clients import Principal
from tests.factories import id_number
from tests.unit_helpers import acting
from tests.workflow import D, record


def _payloads(container, action: str) -> list[dict]:
    with container.session_factory() as s:
        return [json.loads(e.payload) for e in s.scalars(select(AuditEventRow).where(AuditEventRow.action == action)
                                                          .order_by(AuditEventRow.seq))]


def test_a_use_case_called_directly_records_its_principal_as_the_actor(container):
    person = id_number()
    recorded_violation = record(container, person, "2026-03-02", "150000.00")
    m, violation_id = recorded_violation.measures[0], recorded_violation.id
    staff = Principal(client_id="c1", name="li", role="staff", region="370100", request_id="req-7")
    objection = procedure.file_objection(container.workflow(), staff, m.id, D("2026-06-01"), "有误", []).row
    procedure.decide_objection(container.workflow(), staff, objection.id, "modified", D("2026-06-10"), "核减",
                               Decimal("50000.00"))
    for action in ("objection_filed", "objection_modified", "violation_corrected", "measure_revoked"):
        (payload,) = [p for p in _payloads(container, action) if p["entity_id"] in (objection.id, m.id, violation_id)]
        assert (payload["actor"], payload["role"], payload["actor_region"], payload["request_id"]) == (
            "li", "staff", "370100", "req-7"), action
    (recorded,) = [p for p in _payloads(container, "violation_recorded") if p["entity_id"] == violation_id]
    assert (recorded["actor"], recorded["role"]) == ("test", "admin")  # tests.workflow.record: acting("test")


def test_two_use_cases_in_parallel_threads_each_record_their_own_actor(container):
    people = [id_number(), id_number()]
    measures = [record(container, p, "2026-03-02", "150000.00").measures[0] for p in people]
    names = ["zhang", "wang"]
    barrier = threading.Barrier(2)

    def file(i):
        barrier.wait()
        procedure.file_objection(container.workflow(), operator(names[i]), measures[i].id, D("2026-06-01"), "有误", [])

    threads = [threading.Thread(target=file, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_measure = {p["after"]["measure_id"]: p["actor"] for p in _payloads(container, "objection_filed")}
    assert [by_measure[m.id] for m in measures] == names


def test_a_sweep_records_its_job_and_a_command_its_operator(container, settings, monkeypatch):
    person = id_number()
    record(container, person, "2026-03-02", "50000.00")  # 3 months: ends 2026-06-02
    runner.run_job(container, "end_measures", D("2026-11-26"), force=True)
    ended = _payloads(container, "measure_ended")
    assert ended and {(p["actor"], p["role"]) for p in ended} == {("job:end_measures", "system")}
    monkeypatch.setenv("CREDIT_SERVICE_DATABASE_URL", settings.database_url)
    result = CliRunner().invoke(cli, ["clients", "create", "--name", "his-actor-test", "--role", "settlement"])
    assert result.exit_code == 0, result.output
    (created,) = [p for p in _payloads(container, "client_created") if p["after"]["name"] == "his-actor-test"]
    assert created["actor"].startswith("cli:") and created["role"] == "operator"


def test_no_ambient_actor_is_left_to_read():
    import importlib.util
    assert importlib.util.find_spec("credit_service.audit_context") is None
