"""A re-registration (重新登记备案) is staff's record, not the rules' decision: when a later objection's
review recomputes the year and the termination comes out the same, it is kept with its re-registration
(第八条第二项; 第十条)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from credit_service.services import procedure
from credit_service.services.qualification import record_reregistration
from tests.factories import id_number
from tests.unit_helpers import acting
from tests.workflow import D, record, standing_measures


@pytest.mark.article("第八条第二项")
def test_art8_item2_a_recomputation_keeps_the_reregistration_of_a_termination_that_stands(container):
    doctor = id_number()
    kw = dict(subject_type="physician", handling="agreement", category="moderate")
    record(container, doctor, "2025-03-01", "2000.00", points=6, **kw)
    (termination,) = record(container, doctor, "2025-05-20", "2000.00", points=6, **kw).measures
    done = record_reregistration(container.workflow(), acting("staff"), termination.id, D("2026-06-01"))
    assert done.measure.restores_on == D("2026-06-01")
    w = container.workflow()
    objection = procedure.file_objection(w, acting("staff"), termination.id, D("2026-06-05"), "金额有误", []).row
    decided = procedure.decide_objection(w, acting("staff"), objection.id, "modified", D("2026-06-10"), "核减",
                                         Decimal("1000.00"))
    assert decided.revoked == [] and decided.created == []
    assert standing_measures(container, doctor) == [("qualification_termination", "2025-05-20", "2026-06-01", None)]
