"""Recording violations and the measures they cause — one row or ten thousand, one transaction."""
from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from datetime import date

from ..clock import Clock
from ..domain.dates import LawfulDates
from ..domain.decisions import Decision, decide
from ..domain.errors import RuleRefusal
from ..domain.rules import RuleBook
from ..domain.violations import ViolationInput
from ..adapters.orm import MeasureRow, ViolationRow
from ..domain.status import MeasureFact
from . import access
from .audit import Change
from .clients import Principal
from .errors import Conflict, Invalid, ServiceError, date_out_of_range
from .unit_of_work import DuplicateRow, UnitOfWork


class ConcurrentDuplicate(Exception):
    """Another transaction stored the same (source, source_ref) first; running again replays it."""


@dataclass
class RecordedMeasure:
    id: str
    kind: str
    subject_type: str
    region: str
    starts_on: date
    restores_on: date | None
    months: int | None
    revoked_on: date | None
    rule_set: str
    article: str
    explanation: str
    past_expiry: bool
    reregistration_from: date | None = None


@dataclass
class RecordedViolation:
    id: str
    input: ViolationInput
    record_year: int
    rule_set: str | None
    notes: str
    measures: list[RecordedMeasure] = field(default_factory=list)


@dataclass
class RowOutcome:
    index: int
    status: str  # "created" | "duplicate" | "rejected"
    violation: RecordedViolation | None = None
    error: ServiceError | RuleRefusal | None = None


def record_violations(uow: UnitOfWork, principal: Principal, rows: list[ViolationInput | ServiceError],
                      rules: RuleBook, clock: Clock, dates: LawfulDates = LawfulDates(), origin: str | None = None,
                      retries: int = 2) -> tuple[list[RowOutcome], set[tuple[str, str]]]:
    """Decide and store each valid row the principal may write; rows given as errors (failed
    validation) are passed through.

    Returns the per-row outcomes and the subjects whose record changed, as (subject_type, lookup key)
    — what the tables and the status index are keyed by. The new measures are merged into this
    process's status index after commit; the change feed brings them to the others. `origin` names
    the feed entries' process (default: the unit of work's). A concurrent writer of the same
    (source, source_ref) makes the whole batch run again (`retries` times): it is then a replay.
    """
    for attempt in range(retries + 1):
        try:
            return _record(uow, principal, rows, rules, clock, dates, origin)
        except ConcurrentDuplicate:
            if attempt == retries:
                raise
    raise AssertionError("unreachable")


def _refusal(principal: Principal, row: ViolationInput) -> ServiceError | None:
    try:
        access.check_region(principal, access.VIOLATION_WRITE, row.region)
        if row.months_override is not None:
            access.scope_for(principal, access.MONTHS_OVERRIDE)
    except ServiceError as exc:
        return exc
    return None


def _record(uow: UnitOfWork, principal: Principal, rows: list[ViolationInput | ServiceError], rules: RuleBook,
            clock: Clock, dates: LawfulDates, origin: str | None) -> tuple[list[RowOutcome], set[tuple[str, str]]]:
    actor = principal.name
    today, now = clock.today(), clock.now()
    outcomes: list[RowOutcome | None] = [None] * len(rows)
    candidates: list[tuple[int, ViolationInput]] = []
    for i, row in enumerate(rows):
        if isinstance(row, ServiceError):
            outcomes[i] = RowOutcome(i, "rejected", error=row)
        elif refused := _refusal(principal, row):
            outcomes[i] = RowOutcome(i, "rejected", error=refused)
        elif early := dates.too_early(occurred_on=row.occurred_on, determined_on=row.determined_on):
            outcomes[i] = RowOutcome(i, "rejected", error=date_out_of_range(early))
        elif row.determined_on > today:
            outcomes[i] = RowOutcome(i, "rejected", error=Invalid(
                f"认定日期{row.determined_on}晚于今天（{today}），不能记录尚未认定的违约违法信息。",
                code="determined_in_future", errors={"determined_on": ["不能晚于今天。"]}))
        else:
            candidates.append((i, row))

    keyring = uow.keys
    # (subject_type, identity number) → (subject_type, lookup key): only the latter is stored.
    stored = {v.subject: (v.subject_type, keyring.lookup_key(*v.subject)) for _, v in candidates}
    with uow:
        origin = origin or uow.origin
        uow.lock_subjects(stored.values())
        existing = uow.subjects.by_refs((v.source, v.source_ref) for _, v in candidates)
        replay_measures = uow.subjects.measures_of_violations([r.id for r in existing.values()])
        ledgers = uow.subjects.ledgers(stored.values())
        in_batch: dict[tuple[str, str], tuple[tuple, RecordedViolation]] = {}
        violation_rows: list[dict] = []
        measure_rows: list[dict] = []
        changed: set[tuple[str, str]] = set()

        for i, v in candidates:
            ref, key = (v.source, v.source_ref), stored[v.subject]
            # The fingerprint holds no identity number (it could be guessed back offline): the subject
            # is compared by its lookup key beside it.
            fingerprint = (v.body_hash(), key)
            earlier = existing.get(ref)
            if earlier is not None:
                outcomes[i] = _replay(i, v, fingerprint, (earlier.body_hash, (earlier.subject_type, earlier.lookup_key)),
                                      lambda: _from_row(earlier, replay_measures.get(earlier.id, []), v))
                continue
            if ref in in_batch:
                first_fingerprint, first = in_batch[ref]
                outcomes[i] = _replay(i, v, fingerprint, first_fingerprint, lambda: first)
                continue
            body_hash = fingerprint[0]
            ledger = ledgers[key]
            try:
                decision = decide(v, ledger.position(v.record_year), rules)
            except RuleRefusal as exc:  # e.g. months outside the band, a category the agreement lacks
                outcomes[i] = RowOutcome(i, "rejected", error=exc)
                continue
            recorded = _new_records(v, key[1], body_hash, decision, actor, now, violation_rows, measure_rows, order=i)
            ledger.add(v.record_year, v.fund_loss, recorded.measures, points=v.points)
            in_batch[ref] = (fingerprint, recorded)
            changed.add(key)
            outcomes[i] = RowOutcome(i, "created", violation=recorded)

        uow.subjects.remember({o.violation.input.subject for o in outcomes
                               if o is not None and o.status == "created"})
        uow.audit.stage(_audit_changes(outcomes, stored), now, principal.actor)
        if origin is not None:
            uow.facts_added(_facts_of(outcomes, stored))
        try:
            uow.subjects.insert(violation_rows, measure_rows, changed, now, origin)
            uow.commit()
        except DuplicateRow as exc:
            if "source" in exc.detail:
                raise ConcurrentDuplicate() from exc
            raise
    return outcomes, changed


def _facts_of(outcomes, stored: dict) -> list:
    """The new measures as the status index merges them (StatusIndex.merge)."""
    return [(stored[o.violation.input.subject],
             tuple(MeasureFact(m.id, m.kind, m.region, m.starts_on, m.restores_on,
                               reregistration_from=m.reregistration_from, article=m.article)
                   for m in o.violation.measures),
             o.violation.record_year, o.violation.input.points or 0)
            for o in outcomes if o is not None and o.status == "created"]


def _audit_changes(outcomes, stored: dict) -> list[Change]:
    """violation_recorded, with the measures it caused (their creation is part of the same change)."""
    changes = []
    for o in outcomes:
        if o is None or o.status != "created":
            continue
        r, v = o.violation, o.violation.input
        changes.append(Change(
            action="violation_recorded", entity="violation", entity_id=r.id, subject_type=v.subject_type,
            lookup_key=stored[v.subject][1], region=v.region,
            after={"source": v.source, "source_ref": v.source_ref, "occurred_on": v.occurred_on,
                   "determined_on": v.determined_on, "fund_loss": v.fund_loss, "handling": v.handling,
                   "fraud": v.fraud, "points": v.points, "months": v.months_override, "rule_set": r.rule_set,
                   "measures": [{"id": m.id, "kind": m.kind, "starts_on": m.starts_on,
                                 "restores_on": m.restores_on, "months": m.months, "article": m.article}
                                for m in r.measures]}))
    return changes


def _replay(i: int, v: ViolationInput, fingerprint: tuple, first_fingerprint: tuple, first) -> RowOutcome:
    if fingerprint != first_fingerprint:
        return RowOutcome(i, "rejected", error=Conflict(
            f"来源{v.source}的编号{v.source_ref}已用于另一条内容不同的违约违法信息。",
            code="duplicate_source_ref"))
    return RowOutcome(i, "duplicate", violation=first())


class _Ids:
    """uuid4().hex, with the random bytes read from the system 1,024 ids at a time (an import of 10,000
    rows needs 20,000 ids: one system call each is noticeable). The pool is per process (refilled after
    a fork: two workers never share bytes) and safe across threads (list.pop is atomic)."""

    def __init__(self) -> None:
        self._pid, self._pool = 0, []

    def __call__(self) -> str:
        while True:
            if self._pid != os.getpid():
                self._pid, self._pool = os.getpid(), []
            try:
                return uuid.UUID(bytes=self._pool.pop(), version=4).hex
            except IndexError:
                block = os.urandom(16 * 1024)
                self._pool.extend(block[i:i + 16] for i in range(0, len(block), 16))


_new_id = _Ids()


def _new_records(v: ViolationInput, lookup_key: str, body_hash: str, decision: Decision, actor: str, now, violation_rows: list,
                 measure_rows: list, order: int = 0) -> RecordedViolation:
    violation_id = _new_id()
    notes = "".join(decision.notes)
    violation_rows.append({
        "id": violation_id, "source": v.source, "source_ref": v.source_ref, "body_hash": body_hash,
        "subject_type": v.subject_type, "lookup_key": lookup_key, "name": v.name, "region": v.region,
        "occurred_on": v.occurred_on, "determined_on": v.determined_on, "record_year": v.record_year,
        "fund_loss_fen": v.fund_loss, "handling": v.handling, "fraud": v.fraud, "points": v.points,
        "category": v.category,
        "months_override": v.months_override, "description": v.description, "rule_set": decision.rule_set,
        "notes": notes, "recorded_by": actor, "recorded_at": now, "intake_order": order})
    recorded = RecordedViolation(violation_id, v, v.record_year, decision.rule_set, notes)
    for draft in decision.measures:
        measure = RecordedMeasure(
            id=_new_id(), kind=draft.kind, subject_type=v.subject_type, region=v.region,
            starts_on=draft.starts_on, restores_on=draft.restores_on, months=draft.months, revoked_on=None,
            rule_set=draft.rule_set, article=draft.article, explanation=draft.explanation,
            past_expiry=draft.past_expiry, reregistration_from=draft.reregistration_from)
        recorded.measures.append(measure)
        measure_rows.append({
            "id": measure.id, "violation_id": violation_id, "kind": draft.kind,
            "subject_type": v.subject_type, "lookup_key": lookup_key, "region": v.region,
            "record_year": v.record_year, "starts_on": draft.starts_on, "restores_on": draft.restores_on,
            "months": draft.months, "rule_set": draft.rule_set, "article": draft.article,
            "explanation": draft.explanation, "past_expiry": draft.past_expiry, "revoked_on": None,
            "reregistration_from": draft.reregistration_from, "created_at": now})
    return recorded


def _from_row(row: ViolationRow, measures: list[MeasureRow], replayed: ViolationInput) -> RecordedViolation:
    """The stored violation a replay answers with; the row holds the lookup key, so the identity
    number is the replayed request's (the same: it is part of the body hash)."""
    v = ViolationInput(
        source=row.source, source_ref=row.source_ref, subject_type=row.subject_type, id_number=replayed.id_number,
        name=row.name, region=row.region, occurred_on=row.occurred_on, determined_on=row.determined_on,
        fund_loss=row.fund_loss, handling=row.handling, fraud=row.fraud, points=row.points,
        description=row.description, months_override=row.months_override, category=row.category)
    recorded = RecordedViolation(row.id, v, row.record_year, row.rule_set, row.notes)
    recorded.measures = [RecordedMeasure(
        id=m.id, kind=m.kind, subject_type=m.subject_type, region=m.region, starts_on=m.starts_on,
        restores_on=m.restores_on, months=m.months, revoked_on=m.revoked_on, rule_set=m.rule_set,
        article=m.article, explanation=m.explanation, past_expiry=m.past_expiry,
        reregistration_from=m.reregistration_from) for m in measures]
    return recorded
