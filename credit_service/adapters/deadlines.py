"""Client-side deadlines for calls into the PostgreSQL driver.

A database that hangs — a frozen server, a SIGSTOPped process, a network path that stops forwarding
without closing — enforces nothing: its own statement_timeout never fires, the kernel keeps the TCP
connection open, and the caller waits in recv() for good (issue 9: workers blocked until gunicorn
killed them, and the status index poller stopped). So every call into the driver (execute, commit,
rollback, the pool's ping) is given a deadline; a watchdog thread shuts the socket of an overdue call
down, which makes the call fail at once (OperationalError, a 503 to the caller) and the pool replace
the connection.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

# Beyond the server's statement_timeout: the server cancels a slow statement and answers first, so the
# watchdog acts only when the server does not answer at all.
GRACE_SECONDS = 2.0
_WAKE_SECONDS = 0.2
_GUARDED = (("do_execute", "cursor"), ("do_executemany", "cursor"), ("do_execute_no_params", "cursor"),
            ("do_commit", "connection"), ("do_rollback", "connection"), ("do_ping", "connection"))


class _Watchdog:
    def __init__(self) -> None:
        self._armed: dict[object, tuple[float, object]] = {}  # token -> (deadline, DBAPI connection)
        self._pid: int | None = None
        self._lock = threading.Lock()

    def arm(self, dbapi_connection, seconds: float) -> object:
        if self._pid != os.getpid():  # first use, or a forked child: the parent's thread is not here
            self._start()
        token = object()
        self._armed[token] = (time.monotonic() + seconds, dbapi_connection)
        return token

    def disarm(self, token: object) -> None:
        self._armed.pop(token, None)

    def _start(self) -> None:
        with self._lock:
            if self._pid != os.getpid():
                self._pid = os.getpid()
                self._armed.clear()
                threading.Thread(target=self._watch, name="database-deadlines", daemon=True).start()

    def _watch(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            time.sleep(_WAKE_SECONDS)
            now = time.monotonic()
            for token, (deadline, dbapi_connection) in list(self._armed.items()):
                if deadline < now and self._armed.pop(token, None) is not None:
                    _cut(dbapi_connection)


_WATCHDOG = _Watchdog()
_local = threading.local()


def _cut(dbapi_connection) -> None:
    log.warning("a database call outlived its deadline: the database does not answer; closing the connection")
    try:
        # shutdown() acts on the socket itself, so a duplicate descriptor suffices and the driver's own
        # descriptor stays valid until the driver closes it.
        duplicate = socket.fromfd(dbapi_connection.fileno(), socket.AF_INET, socket.SOCK_STREAM)
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        finally:
            duplicate.close()
    except (OSError, ValueError, AttributeError):  # already closed
        pass


def guard(engine: Engine, statement_seconds: float, ping_seconds: float) -> None:
    """Give every driver call of this engine a deadline of statement_seconds + GRACE_SECONDS (or the
    one of an enclosing `within`/`allowing` block); the pool's liveness ping gets ping_seconds at most:
    a ping slower than a new connection says the server is gone. The dialect is this engine's own."""
    dialect = engine.dialect
    dialect.credit_service_deadline = statement_seconds + GRACE_SECONDS
    for name, first in _GUARDED:
        seconds = ping_seconds if name == "do_ping" else dialect.credit_service_deadline
        setattr(dialect, name, _deadlined(getattr(dialect, name), first, seconds, capped=name == "do_ping"))


def _deadlined(call, first: str, default_seconds: float, capped: bool):
    connection_of = (lambda cursor: cursor.connection) if first == "cursor" else (lambda connection: connection)

    def deadlined(target, *args, **kwargs):
        seconds = getattr(_local, "seconds", None) or default_seconds
        token = _WATCHDOG.arm(connection_of(target), min(seconds, default_seconds) if capped else seconds)
        try:
            return call(target, *args, **kwargs)
        finally:
            _WATCHDOG.disarm(token)
    return deadlined


@contextmanager
def allowing(connection: Connection, seconds: float) -> Iterator[None]:
    """Within the block, this thread's statements on `connection` may run up to `seconds` (the status
    index's full load, which grows with the record): the server's statement_timeout for the current
    transaction, and the client-side deadline. Nothing changes for an engine without deadlines."""
    if getattr(connection.dialect, "credit_service_deadline", None) is None:
        yield
        return
    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {int(seconds * 1000)}")
    with within(seconds + GRACE_SECONDS):
        yield


@contextmanager
def within(seconds: float) -> Iterator[None]:
    """This thread's driver calls get `seconds` as their deadline (shorter for health probes, longer
    under `allowing`)."""
    previous = getattr(_local, "seconds", None)
    _local.seconds = seconds
    try:
        yield
    finally:
        _local.seconds = previous


@contextmanager
def watched(connection: Connection) -> Iterator[None]:
    """A deadline for driver work done outside SQLAlchemy's calls (COPY on the raw connection)."""
    seconds = getattr(_local, "seconds", None) or getattr(connection.dialect, "credit_service_deadline", None)
    if seconds is None:
        yield
        return
    token = _WATCHDOG.arm(connection.connection.dbapi_connection, seconds)
    try:
        yield
    finally:
        _WATCHDOG.disarm(token)
