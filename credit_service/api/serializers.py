"""Plain-dict shaping of responses (fast enough for 10,000-row imports); tests check them against
the marshmallow schemas that document them."""
from __future__ import annotations

from datetime import date

from ..domain.identity import mask_id_number
from ..domain.money import format_yuan
from ..domain.status import Status, measure_state
from ..services.intake import RecordedMeasure, RecordedViolation


def _iso(day: date | None) -> str | None:
    return None if day is None or day == date.max else day.isoformat()


def measure_json(m: RecordedMeasure, today: date) -> dict:
    return {
        "id": m.id, "kind": m.kind, "subject_type": m.subject_type, "region": m.region,
        "starts_on": m.starts_on.isoformat(), "restores_on": _iso(m.restores_on), "months": m.months,
        "state": measure_state(m.starts_on, m.restores_on, m.revoked_on is not None, today),
        "rule_set": m.rule_set, "article": m.article, "explanation": m.explanation,
        "past_expiry": m.past_expiry, "reregistration_from": _iso(m.reregistration_from),
    }


def measure_brief_json(m: RecordedMeasure) -> dict:
    """A measure in a bulk-import row: what it is and when, without the explanation (which the
    single-record endpoint returns, and which would make a 10,000-row answer some 10 MB)."""
    return {"id": m.id, "kind": m.kind, "starts_on": m.starts_on.isoformat(), "restores_on": _iso(m.restores_on),
            "months": m.months, "rule_set": m.rule_set, "article": m.article, "past_expiry": m.past_expiry,
            "reregistration_from": _iso(m.reregistration_from)}


def violation_json(r: RecordedViolation, full_id: bool, today: date) -> dict:
    v = r.input
    return {
        "violation": {
            "id": r.id, "source": v.source, "source_ref": v.source_ref,
            "subject": {"subject_type": v.subject_type,
                        "id_number": v.id_number if full_id else mask_id_number(v.id_number),
                        "name": v.name if full_id else _mask_name(v.name)},
            "region": v.region, "occurred_on": v.occurred_on.isoformat(),
            "determined_on": v.determined_on.isoformat(), "record_year": r.record_year,
            "fund_loss": format_yuan(v.fund_loss), "handling": v.handling, "fraud": v.fraud,
            "points": v.points, "category": v.category, "description": v.description, "months": v.months_override,
            "rule_set": r.rule_set, "notes": r.notes,
        },
        "measures": [measure_json(m, today) for m in r.measures],
    }


def status_json(subject_type: str, shown_id: str, status: Status) -> dict:
    body = {
        "subject_type": subject_type, "id_number": shown_id, "on": status.on.isoformat(),
        "settlement_allowed": status.settlement_allowed,
        "restrictions": [{"measure_id": m.measure_id, "kind": m.kind, "region": m.region,
                          "starts_on": m.starts_on.isoformat(), "restores_on": _iso(m.restores_on)}
                         for m in status.restrictions],
        "listed": status.listed,
        "incentives": list(status.incentives),
    }
    q = status.qualification
    if q is not None:
        body["qualification"] = {"status": q.status, "since": _iso(q.since), "until": _iso(q.until),
                                 "reregistration_from": _iso(q.reregistration_from)}
    if status.emergency is not None:
        body["emergency"] = status.emergency
        body["emergency_exempted"] = status.emergency_exempted
    return body


def _mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)
