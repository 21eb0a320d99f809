"""Plain-dict shaping of responses (fast enough for 10,000-row imports); tests check them against
the marshmallow schemas that document them."""
from __future__ import annotations

import json
from datetime import date

from ..domain.identity import mask_id_number
from ..domain.money import format_yuan
from ..domain.status import measure_state
from ..services.intake import RecordedMeasure, RecordedViolation
from ..services.status_query import _iso, status_json  # noqa: F401 (status_json: bench/ imports it from here)


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


def _mask_name(name: str | None) -> str | None:
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


def measure_row_json(m, today: date) -> dict:
    """A stored measure (ORM row) with its workflow fields."""
    return {
        "id": m.id, "kind": m.kind, "subject_type": m.subject_type, "region": m.region,
        "starts_on": m.starts_on.isoformat(), "restores_on": _iso(m.restores_on), "months": m.months,
        "state": measure_state(m.starts_on, m.restores_on, m.revoked_on is not None, today),
        "rule_set": m.rule_set, "article": m.article, "explanation": m.explanation, "past_expiry": m.past_expiry,
        "violation_id": m.violation_id, "revoked_on": _iso(m.revoked_on), "credit_state": m.credit_state,
        "credit_restored_on": _iso(m.credit_restored_on), "credit_restored_how": m.credit_restored_how,
        "credit_note": m.credit_note,
        "reregistration_from": _iso(m.reregistration_from),
    }


def notice_json(n) -> dict:
    return {"id": n.id, "measure_id": n.measure_id, "served_on": n.served_on.isoformat(),
            "received_on": n.received_on.isoformat(), "objection_deadline": n.objection_deadline.isoformat(),
            "provisional": n.deadline_provisional, "window_closed_on": _iso(n.window_closed_on)}


def _shown(id_number: str, full_id: bool) -> str:
    return id_number if full_id else mask_id_number(id_number)

# Stored rows hold the subject's lookup key, not the number: the callers pass the number (from the
# request, or opened from `subjects` — adapters/subjects.reveal) for the rows below.


def objection_json(o, number: str, full_id: bool, today: date) -> dict:
    return {
        "id": o.id, "measure_id": o.measure_id, "subject_type": o.subject_type,
        "id_number": _shown(number, full_id), "region": o.region, "filed_on": o.filed_on.isoformat(),
        "filed_on_entered": o.filed_on_entered, "reason": o.reason, "evidence": json.loads(o.evidence),
        "acceptance_note": o.acceptance_note,
        "evidence_complete_on": _iso(o.evidence_complete_on), "review_due_on": o.review_due_on.isoformat(),
        "review_due_provisional": o.review_due_provisional,
        "overdue": o.state == "open" and o.review_due_on < today,
        "state": o.state, "outcome": o.outcome, "decided_on": _iso(o.decided_on),
        "decision_reason": o.decision_reason,
        "fund_loss": None if o.corrected_fund_loss is None else format_yuan(o.corrected_fund_loss),
        "decided_late": o.decided_late,
    }


def repair_json(r, number: str, full_id: bool, today: date, credit_restored: bool = False) -> dict:
    return {
        "id": r.id, "measure_id": r.measure_id, "subject_type": r.subject_type,
        "id_number": _shown(number, full_id), "region": r.region, "filed_on": r.filed_on.isoformat(),
        "filed_on_entered": r.filed_on_entered, "corrected": r.corrected,
        "adverse_effects_removed": r.adverse_effects_removed, "commitment": r.commitment,
        "evidence": json.loads(r.evidence), "reply_due_on": r.reply_due_on.isoformat(),
        "reply_due_provisional": r.reply_due_provisional, "overdue": r.state == "open" and r.reply_due_on < today,
        "state": r.state, "decided_on": _iso(r.decided_on), "decision_reason": r.decision_reason,
        "credit_restored": credit_restored,
    }


def violation_row_json(v, number: str, full_id: bool) -> dict:
    return {
        "id": v.id, "source": v.source, "source_ref": v.source_ref,
        "subject": {"subject_type": v.subject_type, "id_number": _shown(number, full_id),
                    "name": v.name if full_id else _mask_name(v.name)},
        "region": v.region, "occurred_on": v.occurred_on.isoformat(), "determined_on": v.determined_on.isoformat(),
        "record_year": v.record_year, "fund_loss": format_yuan(v.fund_loss), "handling": v.handling,
        "fraud": v.fraud, "points": v.points, "category": v.category, "description": v.description, "months": v.months_override,
        "rule_set": v.rule_set, "notes": v.notes, "voided_on": _iso(v.voided_on),
        "reported_fund_loss": None if v.reported_fund_loss is None else format_yuan(v.reported_fund_loss),
    }
