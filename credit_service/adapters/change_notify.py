"""Changes visible on every node at once (issue 13): PostgreSQL LISTEN/NOTIFY on the change feed.

A trigger on `subject_changes` (migration 0015) runs `pg_notify('credit_service_changes', '')` once per
inserting statement; PostgreSQL delivers it when the transaction commits, to every session listening.
Each process keeps one extra connection that LISTENs and, on every notification, wakes its status-index
poller, which reads the new feed entries at once instead of at its next tick. Polling stays as the
fallback: a lost connection or a missed notification costs at most one poll interval
(CREDIT_SERVICE_INDEX_POLL_SECONDS) — and the listener reconnects and catches up by waking the poller.
SQLite (one machine, the embedded default) has no NOTIFY: the processes share a change bell instead
(change_bell.py).
"""
from __future__ import annotations

import logging
import threading
from typing import Callable

from sqlalchemy.engine import Engine

log = logging.getLogger(__name__)

CHANNEL = "credit_service_changes"
_RECONNECT_SECONDS = 2.0
_PING_SECONDS = 30.0  # a silent connection is checked this often (keepalives catch a dead peer too)

# The trigger, created by migration 0015 (PostgreSQL only).
TRIGGER_SQL = (
    f"CREATE OR REPLACE FUNCTION credit_service_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$",
    "CREATE TRIGGER subject_changes_notify AFTER INSERT ON subject_changes "
    "FOR EACH STATEMENT EXECUTE FUNCTION credit_service_notify_change()",
)
DROP_TRIGGER_SQL = ("DROP TRIGGER IF EXISTS subject_changes_notify ON subject_changes",
                    "DROP FUNCTION IF EXISTS credit_service_notify_change()")


def start_listener(engine: Engine, wake: Callable[[], None], stopped: threading.Event) -> threading.Thread | None:
    """A daemon thread that calls `wake()` on every notification until `stopped` is set; None on SQLite."""
    if engine.dialect.name != "postgresql":
        return None
    conninfo = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    thread = threading.Thread(target=_listen_forever, args=(conninfo, wake, stopped),
                              name="change-feed-listener", daemon=True)
    thread.start()
    return thread


def _listen_forever(conninfo: str, wake: Callable[[], None], stopped: threading.Event) -> None:
    import psycopg
    failing = False
    while not stopped.is_set():
        try:
            with psycopg.connect(conninfo, autocommit=True, connect_timeout=5, keepalives=1, keepalives_idle=10,
                                 keepalives_interval=5, keepalives_count=3,
                                 application_name="credit-service listener") as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                if failing:
                    log.warning("change feed listener connected again")
                failing = False
                wake()  # whatever committed while nobody listened
                idle = 0.0
                while not stopped.is_set():
                    got = False
                    for _ in connection.notifies(timeout=1.0, stop_after=1):
                        got = True
                        wake()
                    idle = 0.0 if got else idle + 1.0
                    if idle >= _PING_SECONDS:
                        connection.execute("SELECT 1")
                        idle = 0.0
        except Exception:
            if not failing:
                failing = True
                log.warning("change feed listener lost its connection; polling alone until it is back",
                            exc_info=True)
            stopped.wait(_RECONNECT_SECONDS)
