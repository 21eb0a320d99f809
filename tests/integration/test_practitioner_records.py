"""Practitioners' points, ended qualifications and recommendations survive the database: the intake
ledger and the status index read them back as they were written (both databases)."""
from __future__ import annotations

from datetime import date

from credit_service.adapters import records
from credit_service.domain.status import status_on
from tests.factories import id_number, violation


def test_ledger_reads_back_year_points_and_the_ended_qualification(client, auth, container):
    doctor = id_number()
    for points, category, day in ((6, "moderate", "2025-03-01"), (6, "moderate", "2025-05-01"),
                                  (2, "minor", "2026-02-01")):
        response = client.post("/api/v1/violations", headers=auth(), json=violation(
            id_number=doctor, subject_type="physician", points=points, category=category, occurred_on=day,
            determined_on=day, handling="agreement"))
        assert response.status_code == 201, response.json
    with container.uow() as uow:
        ledger = records.load_ledgers(uow.session, [("physician", doctor)])[("physician", doctor)]
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
