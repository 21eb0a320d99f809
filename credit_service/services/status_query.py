"""The status and claims answer: one place builds it for the status view, the fast path, the claims
check, the batch and the webhook events. Read from the in-process status index: no SQL.

`status_json` is the answer's shape (API.md: the status result); the callers only shape the bytes.
"""
from __future__ import annotations

from datetime import date
from typing import Callable, Iterable, Protocol

from ..domain.claims import ClaimCheck, Party, check_claim
from ..domain.identity import mask_id_number
from ..domain.rules import RuleBook
from ..domain.status import Status, SubjectFacts, status_on
from . import access
from .clients import Principal


def _iso(day: date | None) -> str | None:
    return None if day is None or day == date.max else day.isoformat()


def status_json(subject_type: str, shown_id: str, status: Status) -> dict:
    body = {
        "subject_type": subject_type, "id_number": shown_id, "on": status.on.isoformat(),
        "settlement_allowed": status.settlement_allowed,
        "restrictions": [{"measure_id": m.measure_id, "kind": m.kind, "region": m.region,
                          "starts_on": m.starts_on.isoformat(), "restores_on": _iso(m.restores_on)}
                         for m in status.restrictions],
        "listed": status.listed,
        "incentives": list(status.incentives),
        "score": status.score,
        "grade": status.grade,
    }
    q = status.qualification
    if q is not None:
        body["qualification"] = {"status": q.status, "since": _iso(q.since), "until": _iso(q.until),
                                 "reregistration_from": _iso(q.reregistration_from)}
    if status.emergency is not None:
        body["emergency"] = status.emergency
        body["emergency_exempted"] = status.emergency_exempted
    return body


class StatusSource(Protocol):
    """Where answers come from (the container is one): the status index, the keys, the rules."""

    index: "StatusIndexReader"
    keys: "KeyRing"
    rules: RuleBook | None


class StatusIndexReader(Protocol):
    def get(self, subject_type: str, id_number: str) -> SubjectFacts: ...

    def lookup(self) -> Callable[[tuple[str, str]], SubjectFacts]: ...


class KeyRing(Protocol):
    def lookup_key(self, subject_type: str, id_number: str) -> str: ...


def subject_status(subject_type: str, id_number: str, facts: SubjectFacts, day: date, emergency: bool | None,
                   rules: RuleBook | None, full_numbers: bool) -> dict:
    """The status answer of one subject (the number shown whole only to those who may see it)."""
    shown = id_number if full_numbers else mask_id_number(id_number)
    return status_json(subject_type, shown, status_on(subject_type, facts, day, emergency=emergency, rules=rules))


def status_of(principal: Principal, source: StatusSource, subject_type: str, id_number: str, day: date,
              emergency: bool | None) -> dict:
    """GET …/status, POST /status/query: may the subject settle on `day`? (第五条、第九条)"""
    access.check_number(principal, access.STATUS_READ, subject_type, id_number, source.keys.lookup_key)
    return subject_status(subject_type, id_number, source.index.get(subject_type, id_number), day, emergency,
                          source.rules, access.sees_full_numbers(principal, access.STATUS_READ))


def many_statuses(facts_of: Callable[[tuple[str, str]], SubjectFacts], subjects: Iterable[tuple[str, str]], day: date,
                  emergency: bool | None, rules: RuleBook | None, full_numbers: bool) -> list[dict]:
    """The answers of many subjects, in order. Subjects without measures share a few facts objects (one
    per set of record years, and CLEAN), so their answer differs only in the number: computed once per
    call and copied."""
    shared: dict[tuple[str, int], dict] = {}
    results = []
    for subject_type, id_number in subjects:
        shown = id_number if full_numbers else mask_id_number(id_number)
        facts = facts_of((subject_type, id_number))
        if facts.measures:
            results.append(status_json(subject_type, shown,
                                       status_on(subject_type, facts, day, emergency=emergency, rules=rules)))
            continue
        key = (subject_type, id(facts))
        template = shared.get(key)
        if template is None:
            template = shared[key] = status_json(subject_type, "", status_on(subject_type, facts, day,
                                                                             emergency=emergency, rules=rules))
        answer = template.copy()
        answer["id_number"] = shown
        results.append(answer)
    return results


def batch_of(principal: Principal, source: StatusSource, subjects: Iterable[tuple[str, str]], day: date,
             emergency: bool | None = None, claims: list[dict] | None = None) -> dict:
    """POST /status/batch: many subjects' statuses, in order, and (if given) each claim checked."""
    access.scope_for(principal, access.STATUS_BATCH)
    full = access.sees_full_numbers(principal, access.STATUS_BATCH)
    facts_of = source.index.lookup()
    answer = {"results": many_statuses(facts_of, subjects, day, emergency, source.rules, full)}
    if claims is not None:
        answer["claims"] = [claim_json(claim, claim["on"] or day, facts_of, full, source.rules) for claim in claims]
    return answer


def claim_of(principal: Principal, source: StatusSource, claim: dict, day: date) -> dict:
    """POST /claims/check: may this claim be settled? (济南 2023 第十七条; 医保发〔2024〕23号)"""
    access.scope_for(principal, access.STATUS_BATCH)
    return claim_json(claim, day, source.index.lookup(), access.sees_full_numbers(principal, access.STATUS_BATCH),
                      source.rules)


def claim_json(data: dict, day: date, facts_of: Callable[[tuple[str, str]], SubjectFacts], full_id: bool,
               rules: RuleBook | None = None) -> dict:
    """A loaded ClaimSchema body → the answer (also for the claims of a batch)."""
    emergency = data["emergency"]

    def party(subject: dict) -> Party:
        key = (subject["subject_type"], subject["id_number"])
        shown = key[1] if full_id else mask_id_number(key[1])
        return Party(key[0], shown, status_on(key[0], facts_of(key), day, emergency=emergency, rules=rules))

    insured = party(data["insured"])
    practitioners = [party(p) for p in data["practitioners"]]
    result: ClaimCheck = check_claim(insured, practitioners, emergency)
    return {
        "on": day.isoformat(), "emergency": emergency, "settleable": result.settleable,
        "reasons": [{"code": r.code, "subject_type": r.party.subject_type, "id_number": r.party.shown_id,
                     "measure_id": r.measure.measure_id, "kind": r.measure.kind, "region": r.measure.region,
                     "starts_on": r.measure.starts_on.isoformat(), "restores_on": _iso(r.measure.restores_on),
                     "blocking": r.blocking, "detail": r.detail} for r in result.reasons],
        "parties": [status_json(p.subject_type, p.shown_id, p.status) for p in (insured, *practitioners)],
    }


def event_status(subject_type: str, facts: SubjectFacts, day: date) -> dict:
    """A webhook event's status: the same shape as GET …/status without the number (not even masked:
    it narrowed a guess to a few thousand)."""
    body = status_json(subject_type, "", status_on(subject_type, facts, day))
    del body["id_number"]
    return body


def score_of(source: StatusSource, subject_type: str, id_number: str, day: date) -> dict:
    """Score and grade on `day`, from the status index: the same number every status answer shows."""
    status = status_on(subject_type, source.index.get(subject_type, id_number), day, rules=source.rules)
    return {"on": day.isoformat(), "score": status.score, "grade": status.grade}
