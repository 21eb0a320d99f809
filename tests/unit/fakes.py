"""An in-memory unit of work (cosmicpython's FakeUnitOfWork): the use cases run against it with no
database. Repositories hold ORM row objects in dictionaries; commit records that it happened and
publishes, as the SQL unit of work does."""
from __future__ import annotations

import hashlib

from credit_service.adapters.orm import MeasureEventRow, MeasureRow, ObjectionRow, RepairRow, ViolationRow
from credit_service.domain.ledger import SubjectLedger
from credit_service.services.unit_of_work import DuplicateRow, UnitOfWork


class FakeKeys:
    def lookup_key(self, subject_type: str, id_number: str) -> str:
        return hashlib.sha256(f"{subject_type}:{id_number}".encode()).hexdigest()[:32]


class FakeSubjects:
    def __init__(self, store: "FakeStore", keys: FakeKeys):
        self._store, self._keys = store, keys

    def by_refs(self, refs):
        wanted = set(refs)
        return {(v.source, v.source_ref): v for v in self._store.violations.values()
                if (v.source, v.source_ref) in wanted}

    def measures_of_violations(self, ids):
        found: dict[str, list] = {}
        for m in sorted(self._store.measures.values(), key=lambda m: m.starts_on):
            if m.violation_id in ids:
                found.setdefault(m.violation_id, []).append(m)
        return found

    def ledgers(self, keys):
        ledgers = {k: SubjectLedger() for k in keys}
        for v in self._store.violations.values():
            if (v.subject_type, v.lookup_key) in ledgers and v.voided_on is None:
                ledgers[(v.subject_type, v.lookup_key)].year_loss[v.record_year] += v.fund_loss
                ledgers[(v.subject_type, v.lookup_key)].year_points[v.record_year] += v.points or 0
        for m in self._store.measures.values():
            if (m.subject_type, m.lookup_key) in ledgers and m.revoked_on is None:
                ledgers[(m.subject_type, m.lookup_key)].note_measure(m.record_year, m.kind, m.months, m.restores_on,
                                                                    m.reregistration_from)
        return ledgers

    def insert(self, violations, measures, changed, changed_at, origin):
        for row in violations:
            if any((v.source, v.source_ref) == (row["source"], row["source_ref"])
                   for v in self._store.violations.values()):
                raise DuplicateRow("uq_violations_source_ref")
            fields = {("fund_loss" if k == "fund_loss_fen" else k): value for k, value in row.items()}
            self._store.violations[row["id"]] = ViolationRow(voided_on=None, reported_fund_loss=None, **fields)
        for row in measures:
            self._store.measures[row["id"]] = MeasureRow(credit_state=None, **row)
        self._store.feed.extend((t, n, origin) for t, n in sorted(set(changed)))

    def remember(self, subjects):
        keys = {(t, n): self._keys.lookup_key(t, n) for t, n in subjects}
        self._store.numbers.update({key: number for (_, number), key in keys.items()})
        return keys

    def reveal(self, keys):
        return {k: self._store.numbers[k] for k in keys if k in self._store.numbers}

    def reveal_one(self, key):
        return self._store.numbers[key]


class FakeCases:
    def __init__(self, store: "FakeStore"):
        self._store = store

    def measure(self, measure_id, for_update=False):
        return self._store.measures.get(measure_id)

    def objection(self, objection_id, for_update=False):
        return self._store.objections.get(objection_id)

    def repair(self, repair_id, for_update=False):
        return self._store.repairs.get(repair_id)

    def violation(self, violation_id):
        return self._store.violations.get(violation_id)

    def open_objections_of(self, measure_id):
        return [o for o in self._store.objections.values() if o.measure_id == measure_id and o.state == "open"]

    def open_repairs_of(self, measure_id):
        return [r for r in self._store.repairs.values() if r.measure_id == measure_id and r.state == "open"]

    def add(self, row):
        table = {MeasureRow: self._store.measures, ObjectionRow: self._store.objections,
                 RepairRow: self._store.repairs}[type(row)]
        table[row.id] = row

    def event(self, m, event, on, now, ref="", detail=""):
        self._store.events.append(MeasureEventRow(measure_id=m.id, subject_type=m.subject_type,
                                                  lookup_key=m.lookup_key, event=event, ref=ref, on=on,
                                                  detail=detail, recorded_at=now))

    def violations_of(self, subject_type, key):
        return sorted((v for v in self._store.violations.values() if (v.subject_type, v.lookup_key) == (subject_type, key)),
                      key=lambda v: (v.recorded_at, v.intake_order, v.id))

    def standing_measures_of(self, subject_type, key):
        return [m for m in self._store.measures.values()
                if (m.subject_type, m.lookup_key) == (subject_type, key) and m.revoked_on is None]


class FakeAudit:
    def __init__(self):
        self.staged: list = []
        self.actors: list = []  # the actor of each staged change, in order

    def stage(self, changes, now, actor):
        self.staged.extend(changes)
        self.actors.extend(actor for _ in changes)


class FakeFeed:
    def __init__(self, store: "FakeStore"):
        self._store = store

    def append(self, keys, now, origin=None):
        self._store.feed.extend((t, n, origin) for t, n in sorted(set(keys)))


class FakeClients:
    """API clients by id; `lookups` counts the token look-ups (what would be one query each)."""

    def __init__(self, store: "FakeStore"):
        self._store = store

    def add(self, row):
        self._store.clients[row.id] = row

    def active(self, token_hash: str):
        self._store.client_lookups += 1
        return next((r for r in self._store.clients.values()
                     if r.token_hash == token_hash and r.revoked_at is None), None)


class FakeStore:
    """What a database would hold, kept across units of work."""

    def __init__(self):
        self.clients: dict = {}
        self.client_lookups = 0
        self.violations: dict = {}
        self.measures: dict = {}
        self.objections: dict = {}
        self.repairs: dict = {}
        self.events: list = []
        self.numbers: dict = {}
        self.feed: list = []
        self.audit: list = []
        self.audit_actors: list = []


class FakePublisher:
    loaded = True

    def __init__(self):
        self.refreshed: list = []
        self.merged: list = []

    def refresh(self, keys):
        self.refreshed.append(set(keys))

    def merge(self, additions):
        self.merged.extend(additions)


class FakeUnitOfWork(UnitOfWork):
    """Changes go straight into the store (no rollback: a use case that fails must not have written);
    the audit entries reach the store's trail only on commit, like the SQL unit of work's."""

    origin = "this-process"

    def __init__(self, store: FakeStore | None = None):
        self.store = store or FakeStore()
        self.keys = FakeKeys()
        self.publisher = FakePublisher()
        self.committed = 0

    def _begin(self):
        self.subjects = FakeSubjects(self.store, self.keys)
        self.cases = FakeCases(self.store)
        self.audit = FakeAudit()
        self.feed = FakeFeed(self.store)
        self.clients = FakeClients(self.store)

    def _commit(self):
        self.store.audit.extend(self.audit.staged)
        self.store.audit_actors.extend(self.audit.actors)
        self.audit.staged, self.audit.actors = [], []
        self.committed += 1

    def _rollback(self):
        self.audit.staged, self.audit.actors = [], []

    def lock_subjects(self, keys):
        pass
