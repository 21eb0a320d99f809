"""What a valid request is beyond what JSON Schema can say, taught to schemathesis (its hooks module:
SCHEMATHESIS_HOOKS=tests.fuzz.formats; the in-process test imports it). Without it a generator's
"valid" data would often be invalid and rightly refused — a false "schema-valid request rejected":

- `gb11643-id-number`: a check digit and a real birth date cannot be written as a pattern;
- `region-code`: a pooling region;
- `date`: a lawful day, from 1990-01-01 to today (the service refuses days to come where they must
  have happened, and days before its lawful range);
- the order of two dates in one body (occurred ≤ determined, served ≤ received), stated in the
  document's descriptions: a generated positive case is put in that order before it is sent.

Negative cases are left alone: they must be refused as generated.

And one failure is not a contradiction of the document: a schema-valid request answered 422 with a
business-rule `code` that the document names for that operation's 422 — rules of state and time no
schema can state (the objection window has closed, the measure is another subject's, a day still to
come). A 422 `validation_failed` to a schema-valid request stays a failure: the schema missed a rule.
"""
from __future__ import annotations

import re
from datetime import date, timedelta

import schemathesis
from hypothesis import strategies as st

from credit_service.clock import SystemClock
from credit_service.domain.identity import check_digit

ID_NUMBER_FORMAT = "gb11643-id-number"
REGION_FORMAT = "region-code"
EARLIEST = date(1990, 1, 1)
latest = [SystemClock().today()]  # the in-process test sets the injected clock's today here

_regions = st.sampled_from(["370100", "370102", "370200", "370900", "110101"])


@st.composite
def id_numbers(draw) -> str:
    region = draw(_regions)
    birth = date(1930, 1, 1) + timedelta(days=draw(st.integers(0, 30_000)))
    first17 = f"{region}{birth:%Y%m%d}{draw(st.integers(0, 999)):03d}"
    return first17 + check_digit(first17)


def _lawful_day(days_back: int) -> str:
    return max(EARLIEST, latest[0] - timedelta(days=days_back)).isoformat()


schemathesis.openapi.format(ID_NUMBER_FORMAT, id_numbers())
schemathesis.openapi.format(REGION_FORMAT, _regions)
schemathesis.openapi.format("date", st.integers(0, (latest[0] - EARLIEST).days).map(_lawful_day))

_ORDERED = {("POST", "/api/v1/violations"): ("occurred_on", "determined_on"),
            ("POST", "/api/v1/measures/{measure_id}/notice"): ("served_on", "received_on")}


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    pair = _ORDERED.get((case.operation.method.upper(), case.operation.path))
    meta = case.meta
    if pair is None or meta is None or not meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    first, second = (case.body.get(k) for k in pair)
    if isinstance(first, str) and isinstance(second, str) and first > second:
        case.body[pair[0]], case.body[pair[1]] = second, first


_CODE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)+")


@schemathesis.hook
def filter_failure(ctx, failure, case, response):
    """False drops the failure: only a 422 with a business-rule code documented for this operation."""
    if type(failure).__name__ != "RejectedPositiveData" or response.status_code != 422:
        return True
    try:
        code = response.json().get("code")
    except ValueError:
        return True
    documented = (case.operation.definition.raw.get("responses", {}).get("422") or {}).get("description", "")
    return code == "validation_failed" or code not in set(_CODE.findall(documented))
