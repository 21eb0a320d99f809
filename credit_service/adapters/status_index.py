"""In-process index of every subject the record knows, so that a status check runs no SQL.

Keyed by (subject_type, lookup key) — the keyed hash stored in the tables (adapters/pii.py); `get` and
`lookup` take the identity number and compute the key (one HMAC), `refresh` and `merge` take keys.

Freshness: the process that makes a change merges it into its own index right after commit;
every other process polls the subject_changes feed every `poll_seconds` (default 0.5 s), so a change
is visible everywhere within about 1 s. Polling re-reads a window of recent sequence numbers because
a transaction may commit after one that took a later number; a full rebuild every `rebuild_seconds`
is the backstop for anything the window missed. Every process is also told of a commit at once
(PostgreSQL LISTEN/NOTIFY, change_notify.py; the change bell, change_bell.py, for every process of the
machine on SQLite and for the workers of one node on PostgreSQL) and then polls at once; a status check
told of a change not yet applied waits for the poller (at most 100 ms). When that wait runs out (a loaded
machine: the poller did not get the CPU in time), the request reads the feed itself — one query, and a
reload of the subjects it names — before answering; if the database cannot be asked it answers 503
(CatchUpFailed), never from an index known to lack a committed change. The common path — nothing
notified — touches no database.

Staleness is bounded: the index is answered from only while its last successful refresh (a poll or a
rebuild) is younger than `max_age_seconds` (CREDIT_SERVICE_INDEX_MAX_AGE_SECONDS, default 300 s: long
enough to ride out a database restart). Older, `get` and `lookup` raise StaleIndex (503) until a
refresh succeeds: an old index could answer "allowed" for someone suspended since. The check is one
monotonic-clock read per request. Without a poller (poll_seconds 0: tests, one-process benchmarks) the
first request after the bound polls once itself.
"""
from __future__ import annotations

import gc
import logging
import os
import threading
import uuid
import time
import weakref
from typing import Callable, Iterable

from sqlalchemy.engine import Engine

from ..domain.identity import SubjectKey
from ..domain.status import CLEAN, MeasureFact, SubjectFacts
from . import deadlines, records
from .pii import KeyRing

log = logging.getLogger(__name__)
_PROCESS_TOKEN = uuid.uuid4().hex[:16]


class StaleIndex(Exception):
    """The index has not refreshed successfully for longer than its maximum age."""

    def __init__(self, age: float, max_age: float):
        super().__init__(f"status index last refreshed {age:.0f} s ago (maximum {max_age:.0f} s)")
        self.age, self.max_age = age, max_age


class CatchUpFailed(StaleIndex):
    """A change was notified, the poller had not applied it, and the feed could not be read here either."""

    def __init__(self, age: float, max_age: float):
        super().__init__(age, max_age)
        self.args = ("a notified change could not be read from the change feed",)


class UnreadableRecord(Exception):
    """A stored row of this subject could not be read (adapters/records.py): its status is unknown."""


# Stands for a subject with an unreadable row: marked by identity, so a look-up costs nothing more.
UNREADABLE = SubjectFacts()


_INDEXES: "weakref.WeakSet[StatusIndex]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A forked worker must start its own poller before answering (the parent's thread is not here).
    for index in list(_INDEXES):
        index._answerable_until = float("-inf")
        index._applied = index._notified  # the parent's listener is not here; this process starts its own
        index._caught_up = threading.Condition()


os.register_at_fork(after_in_child=_after_fork_in_child)


def process_origin() -> str:
    """This process, as written into the change feed (the pid part changes in each forked worker)."""
    return f"{_PROCESS_TOKEN}-{os.getpid()}"
CLIENT_FEED = "client"  # subject_type used in the feed for API-client changes


class StatusIndex:
    GAP_WINDOW = 1000

    def __init__(self, engine: Engine, keyring: KeyRing, poll_seconds: float = 0.5, rebuild_seconds: float = 600.0,
                 max_age_seconds: float = 300.0, monotonic: Callable[[], float] = time.monotonic,
                 read_engine: Engine | None = None, read_max_lag_seconds: float = 10.0, node_dir=None):
        self._engine = engine
        # A streaming replica for the full load only (read_replica.py); None: the primary.
        self._read_engine, self._read_max_lag_seconds = read_engine, read_max_lag_seconds
        self.last_load_source = "primary"
        self.max_age_seconds = max_age_seconds
        self._monotonic = monotonic
        self._fresh_at = float("-inf")  # monotonic time the last successful refresh started
        self._answerable_until = float("-inf")  # see _ready; reset in a forked child
        self._catching_up = threading.Lock()
        self._warned_stale = False
        self._keyring = keyring
        self._poll_seconds = poll_seconds
        self._rebuild_seconds = rebuild_seconds
        self._facts: dict[SubjectKey, SubjectFacts] = {}
        self._loaded = False
        self._lock = threading.Lock()
        self._max_seen = 0
        self._seen: set[int] = set()
        self._poller_pid: int | None = None
        self._listeners: list[Callable[[SubjectKey], None]] = []
        self._stopped = threading.Event()
        self._wake = threading.Event()  # set by the change-feed listener (change_notify.py): poll now
        # Notifications received / applied by the poller. While they differ, a status check waits (at most
        # CATCH_UP_SECONDS) for the poller: a change committed before the request is answered by it, in
        # every worker — the README's walk-throughs need no sleep.
        self._notified = self._applied = 0
        self._caught_up = threading.Condition()
        # The stamp other processes on this machine (SQLite) or node (PostgreSQL, in `node_dir`) write
        # after a change (change_bell.py).
        from .change_bell import view_for
        self._bell = view_for(engine, node_dir)
        self._polling = threading.RLock()  # one poll at a time: the poller's, or a request's (_catch_up_here)
        self._rung = self._bell[0]
        self._rebuilding = False
        _INDEXES.add(self)

    _snapshots = None  # CREDIT_SERVICE_INDEX_STORE=shared: the node's snapshot files (node_index.py)

    def use_node_snapshots(self, snapshots) -> None:
        """Load from the node's shared snapshot instead of into this process's memory."""
        self._snapshots = snapshots

    def add_listener(self, callback: Callable[[SubjectKey], None]) -> None:
        """Called for every changed feed entry (used by the token cache for client revocations)."""
        self._listeners.append(callback)

    @property
    def loaded(self) -> bool:
        """The first full load has finished (readiness)."""
        return self._loaded

    @property
    def fresh(self) -> bool:
        """Loaded, and refreshed within the maximum age (readiness; what `get` requires)."""
        return self._loaded and self.age_seconds() <= self.max_age_seconds

    def age_seconds(self) -> float:
        """Seconds since the last successful refresh started (+inf before the first)."""
        return self._monotonic() - self._fresh_at

    def get(self, subject_type: str, id_number: str) -> SubjectFacts:
        """The facts of the subject with this identity number."""
        self._ready()
        facts = self._facts.get((subject_type, self._keyring.lookup_key(subject_type, id_number)), CLEAN)
        if facts is UNREADABLE:
            raise UnreadableRecord()
        return facts

    def lookup(self) -> Callable[[SubjectKey], SubjectFacts]:
        """A look-up function (subject_type, identity number) → facts for many subjects in one request
        (one readiness check for all)."""
        self._ready()
        get, key_of = self._facts.get, self._keyring.lookup_key

        def facts_of(subject: SubjectKey) -> SubjectFacts:
            facts = get((subject[0], key_of(subject[0], subject[1])), CLEAN)
            if facts is UNREADABLE:
                raise UnreadableRecord()
            return facts
        return facts_of

    def ensure_fresh(self) -> None:
        """Raises StaleIndex when past the maximum age (after trying to catch up, without a poller)."""
        if self._monotonic() - self._fresh_at > self.max_age_seconds:
            self._too_old()

    def _ready(self) -> None:
        # The hot path: one clock read, one 8-byte read and three comparisons while the index is loaded,
        # polled from this process, fresh and not behind a notification. Anything else (first use, a
        # forked child, the bound passed, a change notified and not applied yet, the SQLite change bell
        # rung) takes the slow path, which also moves the bound on after each refresh.
        if self._monotonic() > self._answerable_until or self._notified != self._applied or \
                self._bell[0] != self._rung:
            self._make_answerable()

    CATCH_UP_SECONDS = 0.1
    CATCH_UP_LOCK_SECONDS = 0.5  # a request waits this long at most for a poll under way (_catch_up_here)

    def _make_answerable(self) -> None:
        if not self._loaded or self._poller_pid != os.getpid():
            self.ensure_ready()
        rung = self._bell[0]
        if rung != self._rung:
            if self._poll_seconds > 0:  # a poller to wake (without one: polled at the maximum age, as before)
                self.wake()  # before the stamp is taken as heard: a thread that sees it heard also waits
            self._rung = rung
        notified = self._notified
        if notified != self._applied and not self._wait_for_poller(notified):
            self._catch_up_here(notified)
        self.ensure_fresh()
        self._answerable_until = self._fresh_at + self.max_age_seconds

    def _too_old(self) -> None:
        """Past the maximum age. With a poller, only its next success helps; without one, poll now
        (one request at a time does it; the others answer 503 meanwhile)."""
        if self._poll_seconds <= 0 and self._catching_up.acquire(blocking=False):
            try:
                self.poll_once()
            except Exception:
                log.warning("status index could not be refreshed; answering 503 until it can", exc_info=True)
            finally:
                self._catching_up.release()
        age = self.age_seconds()
        if age > self.max_age_seconds:
            raise StaleIndex(age, self.max_age_seconds)

    def ensure_ready(self) -> None:
        with self._lock:
            if not self._loaded:
                self._rebuild_locked()
            if self._poller_pid != os.getpid():
                # After a fork (gunicorn workers) the parent's thread is gone: each process polls for itself.
                self._poller_pid = os.getpid()
                if self._poll_seconds > 0:
                    threading.Thread(target=self._poll_forever, name="status-index-poller", daemon=True).start()
                    from .change_notify import start_listener
                    start_listener(self._engine, self.wake, self._stopped)

    def rebuild(self) -> None:
        with self._lock:
            self._rebuild_locked()

    def _rebuild_locked(self) -> None:
        started, as_of = time.perf_counter(), self._monotonic()
        if self._snapshots is not None:
            from .node_index import rebuild_from_snapshot
            return rebuild_from_snapshot(self, self._snapshots, started, as_of)
        unreadable: set[SubjectKey] = set()
        from .read_replica import engine_for_full_load
        source = engine_for_full_load(self._engine, self._read_engine, self._read_max_lag_seconds)
        with source.connect() as connection, deadlines.allowing(connection, self.max_age_seconds):
            # The full load grows with the record: it may take up to the maximum age (a load that
            # takes longer could not make the index fresh anyway), not just one statement's timeout.
            head = records.latest_change_seq(connection)
            facts = records.load_subject_facts(connection, unreadable=unreadable)
        seen = {s for s in self._seen if s > head - self.GAP_WINDOW}
        if source is not self._engine:  # from the replica: caught up from the primary before use
            head, seen = self._catch_up_from_primary(facts, head, unreadable)
        self.last_load_source = "replica" if source is not self._engine else "primary"
        for key in unreadable:
            facts[key] = UNREADABLE
        self._facts = facts
        # The index is long-lived and acyclic: keep the cyclic collector from walking it on every
        # full collection (a bulk import would otherwise pay for it several times).
        gc.freeze()
        self._max_seen = head if source is not self._engine else max(self._max_seen, head)
        self._seen = seen
        self._loaded = True
        self._refreshed(as_of)
        log.info("status index rebuilt: %d subjects in %.2f s", len(facts), time.perf_counter() - started)

    def _catch_up_from_primary(self, facts: dict, head: int, unreadable: set) -> tuple[int, set[int]]:
        """After a load from the replica (whose feed ends at `head`): re-read from the primary every
        subject named in the feed after head − GAP_WINDOW. Returns the new head and the entries applied
        (client entries are left to the poller, which tells the token cache)."""
        with self._engine.connect() as connection:
            entries = records.changes_since(connection, max(0, head - self.GAP_WINDOW))
            keys = {(t, n) for _, t, n, _ in entries if t != CLIENT_FEED}
            fresh = records.load_subject_facts(connection, keys, unreadable=unreadable) if keys else {}
        for key in keys:
            if key in fresh:
                facts[key] = fresh[key]
            else:
                facts.pop(key, None)
        applied = {seq for seq, t, _, _ in entries if t != CLIENT_FEED}
        return max([head, *applied]), applied

    def refresh(self, keys: Iterable[SubjectKey]) -> None:
        """Reload these subjects now (called by the process that just committed a change)."""
        keys = [k for k in set(keys) if k[0] != CLIENT_FEED]
        if not keys or not self._loaded:
            return
        # Under the lock, so that a reload and a merge of the same subject cannot interleave.
        with self._lock:
            unreadable: set[SubjectKey] = set()
            with self._engine.connect() as connection:
                fresh = records.load_subject_facts(connection, keys, unreadable=unreadable)
            for key in unreadable:
                fresh[key] = UNREADABLE
            for key in keys:
                if key in fresh:
                    self._facts[key] = fresh[key]
                else:
                    self._facts.pop(key, None)

    def merge(self, additions: Iterable[tuple[SubjectKey, tuple[MeasureFact, ...], int] |
                                        tuple[SubjectKey, tuple[MeasureFact, ...], int, int]]) -> None:
        """Add what this process just committed, without reading it back; the poller then skips
        this process's own feed entries. Another process's change to the same subject that was not
        polled yet comes with its own feed entry, which reloads the subject. Under the lock and
        idempotent: a load running meanwhile either saw the commit (nothing is added twice) or
        finishes first and this is applied on top."""
        with self._lock:
            if not self._loaded:
                return  # the first load has not started: it will read this commit
            for key, measures, record_year, *points in additions:  # points: a practitioner's, of that year
                known = self._facts.get(key, CLEAN)
                if known is not UNREADABLE:  # stays unreadable until a reload reads the row
                    self._facts[key] = known.with_new(measures, record_year, *points)

    def warm_in_background(self) -> None:
        """Load at start-up, so that no request waits for it (or outlives a worker timeout)."""
        def load():
            try:
                self.ensure_ready()
            except Exception:
                log.warning("status index could not be loaded at start-up; will retry on first use",
                            exc_info=True)
        threading.Thread(target=load, name="status-index-warm", daemon=True).start()

    def poll_once(self) -> int:
        """Apply feed entries not yet seen; returns how many. Success makes the index fresh as of its start."""
        with self._polling:
            return self._poll_once()

    def _poll_once(self) -> int:
        as_of = self._monotonic()
        floor = max(0, self._max_seen - self.GAP_WINDOW)
        with self._engine.connect() as connection:
            entries = [e for e in records.changes_since(connection, floor) if e[0] not in self._seen]
        if not entries:
            self._refreshed(as_of)
            return 0
        own = process_origin()
        keys = {(t, n) for _, t, n, origin in entries if origin != own}
        log.debug("change feed: %d new entries (up to seq %d), %d subjects to reload", len(entries),
                  entries[-1][0], len(keys))
        self.refresh(keys)
        for key in keys:
            for listener in self._listeners:
                listener(key)
        for seq, *_ in entries:
            self._seen.add(seq)
            self._max_seen = max(self._max_seen, seq)
        self._seen = {s for s in self._seen if s > self._max_seen - self.GAP_WINDOW}
        self._refreshed(as_of)
        return len(entries)

    def _refreshed(self, as_of: float) -> None:
        if self._warned_stale:
            log.warning("status index refreshed again; status checks are answered again")
            self._warned_stale = False
        self._fresh_at = max(self._fresh_at, as_of)

    def stop(self) -> None:
        self._stopped.set()
        self._wake.set()

    def wake(self) -> None:
        """Poll now, not at the next tick (a change was committed somewhere: change_notify.py)."""
        # The listener and, on SQLite, request threads (change bell) call this: an increment lost
        # between two of them wakes the poller all the same, and each waits for a poll begun after it.
        self._notified += 1
        self._wake.set()

    @property
    def behind(self) -> bool:
        """Told of a change (a notification, the bell) that no poll has applied yet."""
        return self._notified != self._applied

    def _wait_for_poller(self, notified: int) -> bool:
        """False if the poller has not applied `notified` within CATCH_UP_SECONDS."""
        if self._rebuilding:  # a full load takes seconds: answer from the index as it is meanwhile
            return True
        with self._caught_up:
            return self._caught_up.wait_for(lambda: self._applied >= notified or self._stopped.is_set(),
                                            timeout=self.CATCH_UP_SECONDS)

    def _catch_up_here(self, notified: int) -> None:
        """The poller has not applied a notified change in time: this request polls the feed itself
        (after any poll under way) before answering. Fails closed: CatchUpFailed (503) if it cannot."""
        from ..metrics import INDEX_CATCH_UPS
        try:
            # A poll under way that does not end within the bound is stuck on the database (a hang, an
            # outage): waiting for it would hold this request for the database's deadline.
            if not self._polling.acquire(timeout=self.CATCH_UP_LOCK_SECONDS):
                raise TimeoutError("the poll under way did not end in time")
            try:
                if self._applied < notified:
                    self.poll_once()  # begun after the notification: it reads the change notified
                    self._poll_done(notified)
            finally:
                self._polling.release()
        except Exception:
            INDEX_CATCH_UPS.labels("failed").inc()
            log.warning("a notified change could not be read from the change feed: answering 503", exc_info=True)
            raise CatchUpFailed(self.age_seconds(), self.max_age_seconds) from None
        INDEX_CATCH_UPS.labels("ok").inc()

    def _poll_done(self, notified: int) -> None:
        with self._caught_up:
            self._applied = max(self._applied, notified)
            self._caught_up.notify_all()

    def _poll_forever(self) -> None:
        last_rebuild, failing = time.monotonic(), False
        while True:
            self._wake.wait(self._poll_seconds)
            self._wake.clear()  # before reading the feed: a notification from now on polls again
            notified = self._notified
            if self._stopped.is_set():
                break
            try:
                if time.monotonic() - last_rebuild > self._rebuild_seconds:
                    self._rebuilding = True
                    try:
                        self.rebuild()
                    finally:
                        self._rebuilding = False
                    last_rebuild = time.monotonic()
                else:
                    self.poll_once()
                failing = False
                self._poll_done(notified)
            except Exception:  # the database may be away: serve what we have, within the maximum age
                self._poll_done(notified)  # nobody waits for a poll that failed (the age bound rules)
                if not failing:  # a traceback once per outage, not twice a second
                    failing = True
                    log.warning("status index poll failed; serving the last known index for at most %.0f s "
                                "after its last refresh", self.max_age_seconds, exc_info=True)
                if not self._warned_stale and self._loaded and not self.fresh:
                    self._warned_stale = True
                    log.error("status index not refreshed for %.0f s (maximum %.0f s): status checks answer "
                              "503 until a refresh succeeds", self.age_seconds(), self.max_age_seconds)
