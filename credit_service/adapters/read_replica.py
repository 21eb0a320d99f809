"""Read scaling on a streaming replica (issue 13): CREDIT_SERVICE_READ_DATABASE_URL.

What may read from the replica: the status index's full load — every subject, the heaviest read the
service makes, once per worker start and every 10 minutes. Nothing that decides or writes does: intake,
sweeps, the reload of a subject after a change and the change-feed polls stay on the primary.

A replica is behind the primary by its replication lag. The load uses it only while that lag is within
CREDIT_SERVICE_READ_MAX_LAG_SECONDS, measured at the load (the primary's WAL position is compared with
what the replica has replayed; if the replica has not replayed it, the lag is the age of its last
replayed transaction). And whatever the lag, a load from the replica is caught up from the primary
before it is answered from: every change-feed entry after the replica's head (and the re-check window
below it) is re-read from the primary — so a change committed before the load, by this node or any
other, is in the index (a read that must see its own write goes to the primary).
"""
from __future__ import annotations

import logging

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
