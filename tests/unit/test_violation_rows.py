"""The bulk-import parser and the documented marshmallow schema judge every row the same way."""
from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings, strategies as st
from marshmallow import ValidationError

from credit_service.api.problems import _flatten
from credit_service.api.violations import _to_input
from credit_service.schemas.violation_rows import parse_violation
from credit_service.schemas.violations import ViolationSchema
from tests.factories import violation

SCHEMA = ViolationSchema()
ODD_VALUES = [None, "", "x" * 3000, 0, 1, -1, 1.5, True, False, [], {}, "2025-02-30", "2025-04-10", "1e5",
              "150000.00", "-1.00", "1.234", "370100", "insured", "criminal", "370102199001011231",
              "370102199001011237", "２０２５-04-10", "a\x00"]
FIELDS = ["source", "source_ref", "region", "occurred_on", "determined_on", "fund_loss", "handling", "fraud",
          "points", "category", "description", "months", "subject"]
SUBJECT_FIELDS = ["subject_type", "id_number", "name"]


def judged_by_schema(raw):
    try:
        return _to_input(SCHEMA.load(raw)), {}
    except ValidationError as exc:
        return None, _flatten(exc.messages)


def assert_same(raw):
    assert parse_violation(copy.deepcopy(raw)) == judged_by_schema(copy.deepcopy(raw))


def mutations():
    base = violation(source_ref="R-1", id_number="370102199001011231")
    yield "valid", base
    for field in FIELDS:
        missing = copy.deepcopy(base)
        missing.pop(field, None)
        yield f"{field}-missing", missing
        for i, value in enumerate(ODD_VALUES):
            changed = copy.deepcopy(base)
            changed[field] = value
            yield f"{field}-{i}", changed
    for field in SUBJECT_FIELDS:
        missing = copy.deepcopy(base)
        del missing["subject"][field]
        yield f"subject.{field}-missing", missing
        for i, value in enumerate(ODD_VALUES):
            changed = copy.deepcopy(base)
            changed["subject"][field] = value
            yield f"subject.{field}-{i}", changed
    yield "extra-field", {**base, "extra": 1}
    yield "extra-subject-field", {**base, "subject": {**base["subject"], "age": 3}}
    yield "dates-reversed", {**base, "occurred_on": "2025-04-11", "determined_on": "2025-04-10"}
    yield "dates-reversed-and-bad-money", {**base, "occurred_on": "2025-04-11", "fund_loss": 1}
    yield "lowercase-x", {**base, "subject": {**base["subject"], "id_number": "11010519491231002x"}}
    yield "not-a-mapping", ["a"]


CASES = list(mutations())


@pytest.mark.parametrize("raw", [c[1] for c in CASES], ids=[c[0] for c in CASES])
def test_parser_agrees_with_the_schema(raw):
    assert_same(raw)


def test_the_corpus_really_contains_both_outcomes():
    outcomes = [parse_violation(raw)[0] is not None for _, raw in CASES]
    assert outcomes.count(True) >= 10 and outcomes.count(False) >= 200


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
                           lambda inner: st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=5), inner, max_size=2),
                           max_leaves=4)


@settings(max_examples=300, deadline=None)
@given(field=st.sampled_from(FIELDS + [f"subject.{f}" for f in SUBJECT_FIELDS]), value=json_values)
def test_parser_agrees_with_the_schema_on_arbitrary_values(field, value):
    raw = violation(source_ref="R-2", id_number="370102199001011231")
    if field.startswith("subject."):
        raw["subject"][field.split(".", 1)[1]] = value
    else:
        raw[field] = value
    assert_same(raw)
