"""The scheduled sweeps (issue: jobs are sweeps, not timers): what is due as of a day is done once,
dated by the rules — so 400 daily runs and one catch-up run leave the same database, and two runners
started together never act twice."""
from __future__ import annotations

import shutil
import threading
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from credit_service.adapters.orm import (MeasureEventRow, MeasureRow, NoticeRow, ObjectionRow, RepairRow,
                                         ViolationRow)
from credit_service.container import build_container
from credit_service.domain.status import status_on
from credit_service.services import procedure, sweeps
from credit_service.settings import PROJECT_ROOT
from credit_service.jobs import runner
from credit_service.jobs.workflow import job_actor
from tests.factories import id_number, stored_key
from tests.workflow import D, record
from tests.unit_helpers import acting

WORKFLOW_JOBS = ["recompute_deadlines", "activate_measures", "end_measures", "close_objection_windows",
                 "flag_overdue"]


def run_all(container, as_of: date) -> None:
    for name in WORKFLOW_JOBS:
        runner.run_job(container, name, as_of)


def measure(container, measure_id: str) -> MeasureRow:
    with container.session_factory() as s:
        return s.get(MeasureRow, measure_id)


def events(container, measure_id: str) -> list[tuple[str, date]]:
    with container.session_factory() as s:
        return [(e.event, e.on) for e in s.scalars(select(MeasureEventRow).where(
            MeasureEventRow.measure_id == measure_id).order_by(MeasureEventRow.id))]


def test_pending_measure_is_activated_on_its_start_day_and_ended_on_restores_on(container):
    person = id_number()
    first = record(container, person, "2026-03-02", "150000.00").measures[0]  # 6 months from 03-02
    queued = record(container, person, "2026-05-04", "60000.00").measures[0]  # +3 from 09-02
    run_all(container, D("2026-05-04"))
    assert measure(container, first.id).activated_on == D("2026-03-02")
    assert measure(container, queued.id).activated_on is None  # pending until 09-02
    run_all(container, D("2026-09-02"))
    m1, m2 = measure(container, first.id), measure(container, queued.id)
    assert (m1.ended_on, m1.credit_state) == (D("2026-09-02"), "unrepaired")
    assert (m2.activated_on, m2.ended_on) == (D("2026-09-02"), None)
    assert events(container, first.id) == [("activated", D("2026-03-02")), ("ended", D("2026-09-02")),
                                           ("credit_unrepaired", D("2026-09-02"))]


@pytest.mark.article("第十二条")
def test_art12_credit_restored_automatically_when_all_three_conditions_are_on_record(container):
    person = id_number()
    m = record(container, person, "2026-03-02", "50000.00").measures[0]  # 3 months: ends 06-02
    w = container.workflow()
    repair = procedure.file_repair(w, acting("person"), m.id, "insured", person, D("2026-04-01"), True, True, True, ["退款凭证"]).row
    procedure.decide_repair(w, acting("staff"), repair.id, "approved", D("2026-04-20"), "核实")
    run_all(container, D("2026-06-02"))
    ended = measure(container, m.id)
    assert (ended.ended_on, ended.credit_state, ended.credit_restored_on, ended.credit_restored_how) == (
        D("2026-06-02"), "restored", D("2026-06-02"), "automatic")


def test_unrepaired_blocks_incentives_until_a_repair_is_approved(container):
    person = id_number()
    m = record(container, person, "2024-09-02", "50000.00").measures[0]  # ends 2024-12-02
    container.index.ensure_ready()
    run_all(container, D("2026-11-26"))
    container.index.poll_once()
    facts = container.index.get("insured", person)
    # 2024 is outside the two complete years before 2027, but credit was never repaired
    assert status_on("insured", facts, D("2027-01-04")).incentives == ()
    assert status_on("insured", facts, D("2027-01-04")).settlement_allowed
    w = container.workflow()
    repair = procedure.file_repair(w, acting("person"), m.id, "insured", person, D("2026-11-02"), True, True, True, []).row
    decision = procedure.decide_repair(w, acting("staff"), repair.id, "approved", D("2026-11-20"), "核实")
    assert decision.restored
    restored = measure(container, m.id)
    assert (restored.credit_state, restored.credit_restored_on, restored.credit_restored_how) == (
        "restored", D("2026-11-20"), "repair")
    container.index.poll_once()
    assert status_on("insured", container.index.get("insured", person), D("2027-01-04")).incentives == (
        "lenient_acceptance",)


def test_objection_window_closes_the_day_after_the_deadline_and_overdue_reviews_are_flagged(container):
    person = id_number()
    m = record(container, person, "2026-09-01", "50000.00").measures[0]
    w = container.workflow()
    notice = procedure.serve_notice(w, acting("staff"), m.id, D("2026-09-29"), D("2026-09-30"))
    assert notice.objection_deadline == D("2026-10-27")
    objection = procedure.file_objection(w, acting("person"), m.id, D("2026-10-27"), "异议", []).row
    assert objection.review_due_on == D("2026-11-17")  # 10-28(1) .. 11-17 Tue(15)
    run_all(container, D("2026-10-27"))
    with container.session_factory() as s:
        assert s.get(NoticeRow, notice.id).window_closed_on is None
        assert s.get(ObjectionRow, objection.id).overdue_on is None
    run_all(container, D("2026-11-26"))
    with container.session_factory() as s:
        assert s.get(NoticeRow, notice.id).window_closed_on == D("2026-10-28")
        assert s.get(ObjectionRow, objection.id).overdue_on == D("2026-11-18")
    decided = procedure.decide_objection(w, acting("staff"), objection.id, "rejected", D("2026-11-26"), "维持", None)
    assert decided.objection.decided_late is True


@pytest.fixture
def config_copy(tmp_path):
    target = tmp_path / "config"
    shutil.copytree(PROJECT_ROOT / "config", target)
    return target


def test_provisional_deadline_in_2027_becomes_final_and_moves_when_the_year_is_loaded(settings, clock, config_copy):
    container = build_container(replace(settings, config_dir=config_copy), clock)
    try:
        clock.current = D("2026-12-21")
        person = id_number()
        m = record(container, person, "2026-12-01", "50000.00").measures[0]
        w = container.workflow()
        notice = procedure.serve_notice(w, acting("staff"), m.id, D("2026-12-18"), D("2026-12-20"))
        assert (notice.objection_deadline, notice.deadline_provisional) == (D("2027-01-08"), True)
        repair = procedure.file_repair(w, acting("person"), m.id, "insured", person, D("2026-12-21"), True, True, True, []).row
        assert repair.reply_due_provisional  # 12-22(1) .. 12-31(8), 2027-01-01(9) .. 01-11(15)
        runner.run_job(container, "recompute_deadlines", D("2026-12-21"))
        with container.session_factory() as s:  # nothing known yet: nothing changes
            assert s.get(NoticeRow, notice.id).deadline_provisional
        # the State Council publishes 2027 (a made-up schedule: 元旦 01-01..01-03)
        (config_copy / "calendar" / "2027.toml").write_text(
            'year = 2027\nsource = "测试用"\nadjusted_working_days = []\n'
            '[[holiday]]\nname = "元旦"\nfrom = 2027-01-01\nto = 2027-01-03\n', encoding="utf-8")
        runner.run_job(container, "recompute_deadlines", D("2026-12-22"))
        with container.session_factory() as s:
            final = s.get(NoticeRow, notice.id)
            assert (final.objection_deadline, final.deadline_provisional) == (D("2027-01-11"), False)
            r = s.get(RepairRow, repair.id)
            assert (r.reply_due_on, r.reply_due_provisional) == (D("2027-01-12"), False)
        assert ("objection_deadline_final", D("2027-01-11")) in events(container, m.id)
        # new deadlines use the loaded year at once
        assert container.calendar.knows_year(2027)
    finally:
        container.index.stop()
        container.engine.dispose()


def test_two_runners_started_together_never_double_restore_or_double_notify(settings, clock):
    containers = [build_container(settings, clock) for _ in range(2)]
    try:
        people = [id_number() for _ in range(30)]
        ids = [record(containers[0], p, "2026-03-02", "50000.00").measures[0].id for p in people]
        barrier = threading.Barrier(4)

        def via_runner(c):
            barrier.wait()
            runner.run_job(c, "end_measures", D("2026-11-26"), force=True)

        def bypassing_the_lock(c):  # even without the runner lock, each row is claimed once
            barrier.wait()
            sweeps.end_measures(c.workflow(), D("2026-11-26"), job_actor("end_measures"))

        threads = [threading.Thread(target=f, args=(c,)) for c in containers for f in (via_runner, bypassing_the_lock)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with containers[0].session_factory() as s:
            counts = dict(s.execute(select(MeasureEventRow.event, func.count()).where(
                MeasureEventRow.measure_id.in_(ids)).group_by(MeasureEventRow.event)).all())
            assert counts == {"ended": 30, "credit_unrepaired": 30}
            assert all(s.get(MeasureRow, i).ended_on == D("2026-06-02") for i in ids)
    finally:
        for c in containers:
            c.index.stop()
            c.engine.dispose()


# --- 400 days: daily runs vs one catch-up run --------------------------------------------------------

START = D("2025-10-01")
DAYS = 400


def scenario(container, people: list[str]) -> dict[date, list]:
    """What happens on which day, whatever the jobs do: intake, notices, objections, repairs."""
    a, b, c, d = people
    w = container.workflow()
    state: dict = {}

    def intake(person, loss, key, **extra):
        def act(day):
            state[key] = record(container, person, day.isoformat(), loss, **extra).measures
        return act

    def notice(key, served_delay=0):
        def act(day):
            procedure.serve_notice(w, acting("staff"), state[key][0].id, day - timedelta(days=served_delay), day)
        return act

    def objection(key, name):
        def act(day):
            state[name] = procedure.file_objection(w, acting("person"), state[key][0].id, day, "异议", ["材料"]).row
        return act

    def decide(name, outcome, loss=None):
        def act(day):
            procedure.decide_objection(w, acting("staff"), state[name].id, outcome, day, "复核",
                                       Decimal(loss) if loss else None)
        return act

    def repair(key, name, person, complete=True):
        def act(day):
            state[name] = procedure.file_repair(w, acting("person"), state[key][0].id, "insured", person, day, complete,
                                                complete, complete, []).row
        return act

    def approve(name, outcome="approved"):
        def act(day):
            procedure.decide_repair(w, acting("staff"), state[name].id, outcome, day, "核实")
        return act

    return {
        D("2025-10-09"): [intake(a, "50000.00", "a1")],          # 3 months: 10-09 .. 2026-01-09
        D("2025-10-13"): [notice("a1", 2)],
        D("2025-11-03"): [repair("a1", "ra", a)],
        D("2025-11-20"): [approve("ra")],                          # → restored automatically on 01-09
        D("2025-12-01"): [intake(b, "150000.00", "b1")],           # 6 months: 12-01 .. 2026-06-01
        D("2025-12-03"): [notice("b1")],
        D("2025-12-10"): [objection("b1", "ob")],
        D("2026-01-20"): [decide("ob", "modified", "60000.00")],   # late (due 2025-12-31); → 3 months
        D("2026-02-02"): [intake(c, "210000.00", "c1", months=10)],  # 10 months: .. 2026-12-02
        D("2026-02-03"): [notice("c1")],                           # window never used: closes
        D("2026-03-02"): [intake(d, "20000.00", "d1")],            # 3 months: .. 06-02, no repair
        D("2026-07-01"): [repair("d1", "rd", d)],
        D("2026-07-06"): [approve("rd")],                          # after the end: restored 07-06 by repair
        D("2026-07-10"): [intake(d, "90000.00", "d2")],            # 2026 total 110,000: +3 months from 07-10
        D("2026-07-13"): [objection("d2", "od")],                  # no notice: accepted, review overdue
    }


def snapshot(container, people: list[str]) -> dict:
    """Every workflow field, keyed by what is stable across runs (ids are random)."""
    def key_of(m):
        return (keys.index(m.lookup_key), m.kind, m.starts_on, m.restores_on)

    keys = [stored_key(p) for p in people]
    with container.session_factory() as s:
        measures = s.scalars(select(MeasureRow).where(MeasureRow.lookup_key.in_(keys))).all()
        by_id = {m.id: key_of(m) for m in measures}
        snap = {
            "measures": sorted((key_of(m), m.months, m.revoked_on, m.activated_on, m.ended_on, m.credit_state,
                                m.credit_restored_on, m.credit_restored_how) for m in measures),
            "violations": sorted((keys.index(v.lookup_key), v.determined_on, v.fund_loss, v.voided_on,
                                  v.reported_fund_loss) for v in s.scalars(
                select(ViolationRow).where(ViolationRow.lookup_key.in_(keys)))),
            "notices": sorted((by_id[n.measure_id], n.objection_deadline, n.deadline_provisional,
                               n.window_closed_on) for n in s.scalars(select(NoticeRow))),
            "objections": sorted((by_id[o.measure_id], o.state, o.outcome, o.review_due_on, o.overdue_on,
                                  o.decided_late) for o in s.scalars(select(ObjectionRow))),
            "repairs": sorted((by_id[r.measure_id], r.state, r.reply_due_on, r.overdue_on)
                              for r in s.scalars(select(RepairRow))),
        }
    return snap


def play(container, clock, daily: bool) -> dict:
    people = [id_number() for _ in range(4)]
    plan = scenario(container, people)
    for offset in range(DAYS):
        day = START + timedelta(days=offset)
        clock.current = day
        for act in plan.get(day, []):
            act(day)
        if daily:
            run_all(container, day)
    if not daily:
        run_all(container, clock.current)  # the runner comes back after 400 days
    return snapshot(container, people)


def test_400_days_of_daily_runs_and_one_catch_up_run_end_in_the_same_state(settings, clock):
    container = build_container(settings, clock)
    try:
        daily = play(container, clock, daily=True)
    finally:
        container.index.stop()
        container.engine.dispose()
    settings_cleanup(settings)
    container = build_container(settings, clock)
    try:
        catch_up = play(container, clock, daily=False)
    finally:
        container.index.stop()
        container.engine.dispose()
    for table in daily:  # rows that differ, shown one by one
        assert [r for r in daily[table] if r not in catch_up[table]] == [], table
        assert [r for r in catch_up[table] if r not in daily[table]] == [], table
    assert daily == catch_up
    # and the state is the one the articles give
    measures = {(m[0][0], m[0][2]): m for m in daily["measures"]}
    assert measures[(0, D("2025-10-09"))][5:] == ("restored", D("2026-01-09"), "automatic")
    assert measures[(3, D("2026-03-02"))][5:] == ("restored", D("2026-07-06"), "repair")
    assert measures[(2, D("2026-02-02"))][4] is None  # 10 months: still running on 2026-11-04
    assert len(daily["objections"]) == 2 and daily["notices"][0][3] is not None


def settings_cleanup(settings):
    from sqlalchemy import create_engine
    from credit_service.adapters.orm import Base
    engine = create_engine(settings.database_url)
    with engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            connection.execute(table.delete())
    engine.dispose()


def test_every_process_picks_up_a_newly_published_year_and_ignores_a_malformed_file(
        settings, clock, config_copy, monkeypatch):
    import credit_service.container as container_module
    monkeypatch.setattr(container_module, "CALENDAR_CHECK_SECONDS", 0.0)
    container = build_container(replace(settings, config_dir=config_copy), clock)
    try:
        assert not container.workflow().calendar.knows_year(2027)
        (config_copy / "calendar" / "2028.toml").write_text("year = 2028\n[[holiday]]\nname = 1\n", encoding="utf-8")
        assert not container.workflow().calendar.knows_year(2028)  # malformed: logged, old calendar kept
        (config_copy / "calendar" / "2028.toml").unlink()
        (config_copy / "calendar" / "2027.toml").write_text(
            'year = 2027\nsource = "测试用"\nadjusted_working_days = []\n'
            '[[holiday]]\nname = "元旦"\nfrom = 2027-01-01\nto = 2027-01-03\n', encoding="utf-8")
        calendar = container.workflow().calendar
        assert calendar.knows_year(2027) and not calendar.is_working_day(D("2027-01-01"))
    finally:
        container.index.stop()
        container.engine.dispose()
