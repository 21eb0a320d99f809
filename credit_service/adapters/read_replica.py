"""Read scaling on a streaming replica (issue 13): CREDIT_SERVICE_READ_DATABASE_URL.

What reads from the replica:
- the status index's full load — every subject, the heaviest read the service makes, once per worker
  start and every 10 minutes (`engine_for_full_load`);
- the use cases that only show data, through the read-only unit of work (`UnitOfWork.reading()`):
  the natural-year record (API, console case page, self-service record page), the worklist, the monthly
  report (a frozen one as stored, a current one computed), the audit query and the joint-punishment list
  (`ReadRouter`).
Nothing that decides or writes does: intake, procedure decisions, sweeps, the freezing of reports,
letters (numbered as they are issued), the reload of a subject after a change and the change-feed polls
stay on the primary; so does the status answer (from the index).

A replica is behind the primary by its replication lag. It is read from only while that lag is within
CREDIT_SERVICE_READ_MAX_LAG_SECONDS, measured at each read (the primary's WAL position is compared
with what the replica has replayed; if the replica has not replayed it, the lag is the age of its last
replayed transaction).

A read that must see its own write goes to the primary. The rule: after every commit of a unit of work,
the node notes the primary's WAL position (`pg_current_wal_lsn()`, one query per write) in its change
bell (change_bell.py: shared by the node's workers); a read on that node goes to the replica only when
the replica has replayed that position. So a client's read that follows its write through the same node
— whichever worker takes it — sees the write. A read through another node is bounded by the lag bound
only (give a client one node — session affinity at the load balancer — where that matters).

Behind the bound, not a standby, or not answering: the read goes to the primary, never fails, and is
counted (credit_service_replica_reads_total{source="primary", reason="lag"|"down"|"own_write"}).

The full load uses the replica while within the lag bound; whatever the lag, a load from the replica is
caught up from the primary before it is answered from: every change-feed entry after the replica's head
(and the re-check window below it) is re-read from the primary — so a change committed before the load,
by this node or any other, is in the index.
"""
from __future__ import annotations

import logging
import threading
import time

from sqlalchemy import text
from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)


def replica_lag_seconds(primary: Engine, replica: Engine) -> float:
    """0 when the replica has replayed the primary's current WAL position; else the age of its last
    replayed transaction (inf if it has replayed none)."""
    with primary.connect() as connection:
        position = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar()
    with replica.connect() as connection:
        row = connection.execute(text(
            "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn), "
            "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())"), {"p": str(position)}).one()
    in_recovery, caught_up, age = row
    if not in_recovery:
        raise RuntimeError("CREDIT_SERVICE_READ_DATABASE_URL is not a standby (pg_is_in_recovery() is false)")
    if caught_up:
        return 0.0
    return float("inf") if age is None else float(age)


def engine_for_full_load(primary: Engine, replica: Engine | None, max_lag_seconds: float) -> Engine:
    """The replica when it is configured, answers and is within the lag bound; else the primary."""
    if replica is None:
        return primary
    try:
        lag = replica_lag_seconds(primary, replica)
    except Exception:
        log.warning("read replica not usable for the status index load; loading from the primary", exc_info=True)
        return primary
    if lag > max_lag_seconds:
        log.warning("read replica %.1f s behind (bound %.1f s): status index loaded from the primary",
                    lag, max_lag_seconds)
        return primary
    return replica


def lsn_number(lsn: str) -> int:
    """A pg_lsn ("16/B374D848") as one 64-bit number."""
    high, low = str(lsn).split("/")
    return (int(high, 16) << 32) | int(low, 16)


def lsn_text(number: int) -> str:
    return f"{number >> 32:X}/{number & 0xFFFFFFFF:X}"


class ReadRouter:
    """Chooses the database of a read-only unit of work: the replica when configured, a standby, within
    the lag bound and past this node's latest write; else the primary (and says why, in /metrics)."""

    def __init__(self, primary: Engine, replica: Engine, max_lag_seconds: float, bell=None,
                 primary_sessions=None):
        from .database import make_session_factory
        self.primary, self.replica, self.max_lag_seconds = primary, replica, max_lag_seconds
        self._factories = {primary: primary_sessions or make_session_factory(primary),
                           replica: make_session_factory(replica)}
        self._bell = bell  # change_bell.Bell of the node, or None (this process only)
        self._last_write = 0  # this process's, when there is no bell
        self._primary_until = float("-inf")  # a write whose position could not be noted: the primary till then
        self._lock = threading.Lock()

    def last_write(self) -> int:
        return max(self._last_write, self._bell.last_write() if self._bell is not None else 0)

    def note_write(self) -> None:
        """After a commit on the primary: its WAL position now is at or after that commit."""
        try:
            with self.primary.connect() as connection:
                position = lsn_number(connection.execute(text("SELECT pg_current_wal_lsn()")).scalar())
        except Exception:
            # Committed, position unknown: read from the primary for as long as the replica may lag.
            self._primary_until = time.monotonic() + self.max_lag_seconds
            log.warning("WAL position of a write not noted; reads go to the primary for %.0f s",
                        self.max_lag_seconds, exc_info=True)
            return
        with self._lock:
            self._last_write = max(self._last_write, position)
        if self._bell is not None:
            self._bell.note_write(position)

    def choose(self) -> tuple[Engine, str]:
        """(engine, reason): reason "ok" for the replica; "lag", "down" or "own_write" for the primary."""
        from ..metrics import REPLICA_READS
        engine, reason = self._choose()
        REPLICA_READS.labels("replica" if engine is self.replica else "primary", reason).inc()
        return engine, reason

    def _choose(self) -> tuple[Engine, str]:
        if time.monotonic() < self._primary_until:
            return self.primary, "own_write"
        own = self.last_write()
        try:
            with self.primary.connect() as connection:
                position = connection.execute(text("SELECT pg_current_wal_lsn()")).scalar()
            with self.replica.connect() as connection:
                in_recovery, caught_up, has_own, age = connection.execute(text(
                    "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn() >= CAST(:p AS pg_lsn), "
                    "pg_last_wal_replay_lsn() >= CAST(:own AS pg_lsn), "
                    "EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())"),
                    {"p": str(position), "own": lsn_text(own)}).one()
        except Exception as exc:
            log.warning("read replica not answering (%s): reading from the primary", exc.__class__.__name__)
            return self.primary, "down"
        if not in_recovery:
            log.warning("CREDIT_SERVICE_READ_DATABASE_URL is not a standby (pg_is_in_recovery() is false): "
                        "reading from the primary")
            return self.primary, "down"
        if not has_own:
            return self.primary, "own_write"
        lag = 0.0 if caught_up else (float("inf") if age is None else float(age))
        if lag > self.max_lag_seconds:
            return self.primary, "lag"
        return self.replica, "ok"

    def session_factory_of(self, engine: Engine):
        return self._factories[engine]
