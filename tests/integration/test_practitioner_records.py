"""Practitioners' points, ended qualifications and recommendations survive the database: the intake
ledger and the status index read them back as they were written (both databases)."""
from __future__ import annotations

from datetime import date

from credit_service.adapters import records
from credit_service.domain.status import status_on
from tests.factories import id_number, stored_key, violation
from tests.unit_helpers import acting


def test_ledger_reads_back_year_points_and_the_ended_qualification(client, auth, container):
    doctor = id_number()
    for points, category, day in ((6, "moderate", "2025-03-01"), (6, "moderate", "2025-05-01"),
                                  (2, "minor", "2026-02-01")):
        response = client.post("/api/v1/violations", headers=auth(), json=violation(
            id_number=doctor, subject_type="physician", points=points, category=category, occurred_on=day,
            determined_on=day, handling="agreement"))
        assert response.status_code == 201, response.json
    with container.uow() as uow:
        key = ("physician", stored_key(doctor, "physician"))
        ledger = records.load_ledgers(uow.session, [key])[key]
    assert (ledger.position(2025).points, ledger.position(2026).points, ledger.position(2027).points) == (12, 2, 0)
    assert ledger.position(2026).qualification_barred_until == date(2026, 5, 1)


def test_a_rebuilt_index_answers_as_the_live_one(client, auth, container):
    doctor, expert = id_number(), id_number()
    client.post("/api/v1/violations", headers=auth(), json=violation(
        id_number=doctor, subject_type="pharmacist", points=12, category="grave", occurred_on="2025-03-01",
        determined_on="2025-03-01", handling="agreement"))
    client.post(f"/api/v1/subjects/physician/{expert}/expert-recommendations", headers=auth(),
                json={"year": 2025, "region": "370100", "reason": "表现突出"})
    keys = [("pharmacist", doctor), ("physician", expert)]
    live = [status_on(t, container.index.get(t, n), date(2025, 6, 1)) for t, n in keys]
    container.index.rebuild()
    rebuilt = [status_on(t, container.index.get(t, n), date(2025, 6, 1)) for t, n in keys]
    assert rebuilt == live
    assert rebuilt[0].qualification.status == "terminated"
    assert rebuilt[0].qualification.reregistration_from == date(2028, 3, 1)
    assert rebuilt[1].incentives == ("expert_recommendation",)


# --- 第十条 for practitioners: the same objections, and the recomputation counts points ---------------

def test_an_upheld_objection_recomputes_the_years_points(container):
    from credit_service.services import procedure
    from tests.workflow import D, record, standing_measures
    doctor = id_number()
    record(container, doctor, "2026-03-02", "1000.00", handling="agreement", subject_type="physician",
           points=9, category="serious")                     # 9 points: suspended 1 month
    second = record(container, doctor, "2026-04-01", "1000.00", handling="agreement", subject_type="physician",
                    points=2, category="minor")              # 11 points: 2 more months
    record(container, doctor, "2026-05-04", "1000.00", handling="agreement", subject_type="physician",
           points=1, category="minor")                       # 12 points: terminated
    assert [m[0] for m in standing_measures(container, doctor)] == [
        "qualification_suspension", "qualification_suspension", "qualification_termination"]
    w = container.workflow()
    objection = procedure.file_objection(w, acting("staff"), second.measures[0].id, D("2026-06-01"), "记分有误", ["病历"]).row
    procedure.decide_objection(w, acting("staff"), objection.id, "upheld", D("2026-06-10"), "复核成立", None)
    # Without the second violation the year holds 9 + 1 = 10 points: 2 months in all, no termination.
    assert standing_measures(container, doctor) == [
        ("qualification_suspension", "2026-03-02", "2026-04-02", 1),
        ("qualification_suspension", "2026-05-04", "2026-06-04", 1)]
    with container.uow() as uow:
        key = ("physician", stored_key(doctor, "physician"))
        ledger = records.load_ledgers(uow.session, [key])[key]
    assert ledger.position(2026).points == 10 and ledger.position(2026).qualification_barred_until is None
