from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from credit_service.domain.violations import ViolationInput

_refs = itertools.count(1)


def violation_input(**overrides) -> ViolationInput:
    values = dict(source="test", source_ref=f"T-{next(_refs)}", subject_type="insured",
                  id_number="370102199001011231", name="张三", region="370100", occurred_on=date(2025, 3, 2),
                  determined_on=date(2025, 4, 10), fund_loss=Decimal("150000.00"), handling="administrative",
                  fraud=False, points=None, description="", months_override=None)
    values.update(overrides)
    return ViolationInput(**values)


def acting(name: str = "test"):
    """The principal a test's use case runs as: an operator, who may do anything (access.operator)."""
    from credit_service.services.access import operator
    return operator(name)
