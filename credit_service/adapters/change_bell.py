"""Changes visible to every worker of one machine at once on SQLite (issue 13): the change bell.

SQLite has no NOTIFY (change_notify.py is PostgreSQL's). On the embedded default every process using the
database file shares a small file beside it, `<database>.changes`: 16 bytes, memory-mapped by each. After
every commit that appended to the change feed, the committing process writes a new random stamp into it.
A status check compares the stamp with the last one its process saw — one 8-byte read from memory the
processes share, no system call — and when it moved, wakes its index poller and waits for it (at most
100 ms, status_index.py), as a PostgreSQL notification does. So the request after a write through
another worker (or another process on the machine: `credit-service import`, the job runner) sees it.

A random stamp, not a counter: two processes committing at once cannot lose an increment, and a value
once seen never comes back (a reader wakes on any difference). Polling stays the fallback, as with
NOTIFY. Not for `:memory:` databases (one process), nor when the file cannot be made (read-only data
directory: polling alone, logged once).

PostgreSQL has NOTIFY, but a notification reaches the other workers of the writer's own node
asynchronously: on a loaded machine the request after a write, taken by another worker of the same node,
came before the notification did (issue 13, tests/e2e/test_propagation.py). So on PostgreSQL too the
workers of one node share a bell, in the data directory (`changes-<database tag>.bell`, one per
database), rung after the commit and before the writer answers: the node's next request always knows.
Other nodes learn of the change by NOTIFY (or the poll).

The bell's second word is the primary's WAL position after the node's latest write (PostgreSQL only,
written by `note_write`): a read-only unit of work reads from the replica only once the replica has
replayed it (read_replica.py: a read that must see its own write goes to the primary).
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import os
import threading
import weakref
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

log = logging.getLogger(__name__)

SUFFIX = ".changes"
_FLAG = "credit_service_feed_appended"  # in a pooled connection's info: this transaction appended to the feed
_SESSION_CONNECTIONS = "credit_service_bell_connections"
_bells: "weakref.WeakValueDictionary[str, Bell]" = weakref.WeakValueDictionary()
_bells_lock = threading.Lock()


_SIZE = 16  # the stamp, and the WAL position of the node's latest write (PostgreSQL)


class Bell:
    """The shared stamp of one database (file) on this machine. `view[0]` is the stamp (a memoryview of
    the mapping); `view[1]` the WAL position after the latest write noted (0: none)."""

    def __init__(self, path: Path):
        self.path = path
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < _SIZE:
                os.ftruncate(fd, _SIZE)
            self._map = mmap.mmap(fd, _SIZE, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
        finally:
            os.close(fd)  # the mapping stays valid
        self.view = memoryview(self._map).cast("Q")

    def ring(self) -> None:
        """A change was committed: a new stamp for every process to notice."""
        self.view[0] = int.from_bytes(os.urandom(8), "little")

    def note_write(self, position: int) -> None:
        """The primary's WAL position after a write of this node: kept if later than the one there (under
        a file lock, so that two workers noting at once cannot lose the later one)."""
        fd = os.open(self.path, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            if position > self.view[1]:
                self.view[1] = position
        finally:
            os.close(fd)  # releases the lock

    def last_write(self) -> int:
        return self.view[1]


# Read where there is no bell (PostgreSQL, `:memory:`): the status check reads it all the same, so that
# its cost is one and the same everywhere; it never moves.
SILENT = memoryview(bytearray(8)).cast("Q")


def database_file(engine: Engine) -> Path | None:
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database).resolve()


def bell_path(engine: Engine, node_dir: Path | None = None) -> Path | None:
    """SQLite: beside the database file. PostgreSQL: in the node's data directory `node_dir`, one per
    database (server, port, name); None without one."""
    database = database_file(engine)
    if database is not None:
        return database.with_name(database.name + SUFFIX)
    if engine.dialect.name == "postgresql" and node_dir is not None:
        url = engine.url
        tag = hashlib.blake2b(f"{url.host}:{url.port}/{url.database}".encode(), digest_size=6).hexdigest()
        return Path(node_dir) / f"changes-{tag}.bell"
    return None


def bell_for(engine: Engine, node_dir: Path | None = None) -> Bell | None:
    """The bell of this engine's database on this machine (one per database and process): SQLite's
    beside its file; PostgreSQL's in the node's data directory, if given. None for `:memory:`."""
    path = bell_path(engine, node_dir)
    if path is None:
        return None
    key = str(path.resolve())
    with _bells_lock:
        bell = _bells.get(key)
        if bell is None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                bell = _bells[key] = Bell(path)
            except OSError as exc:
                log.warning("change bell %s not usable (%s): other processes on this machine see changes "
                            "when notified or polled", path.name, exc)
                return None
        return bell


def view_for(engine: Engine, node_dir: Path | None = None):
    """What the status check reads: the bell's stamp, or SILENT."""
    bell = bell_for(engine, node_dir)
    return bell.view if bell is not None else SILENT


def ring_after_feed_commits(engine: Engine, session_factory: sessionmaker, node_dir: Path | None = None) -> None:
    """Ring the bell after every commit of a session of `session_factory` whose transaction appended to
    the change feed (any way: ORM add, Core insert, executemany). PostgreSQL: only with the node's data
    directory (the other nodes hear of it by NOTIFY)."""
    bell = bell_for(engine, node_dir)
    if bell is None:
        return
    _engine_bells[engine] = bell
    for target, name, handler in ((engine, "after_cursor_execute", _appended),
                                  (session_factory, "after_begin", _began),
                                  (session_factory, "after_commit", _committed),
                                  (session_factory, "after_transaction_end", _ended)):
        if not event.contains(target, name, handler):
            event.listen(target, name, handler)


_engine_bells: "weakref.WeakKeyDictionary[Engine, Bell]" = weakref.WeakKeyDictionary()


def _appended(connection, _cursor, statement, _parameters, _context, _executemany) -> None:
    if statement.startswith("INSERT INTO subject_changes"):
        connection.info[_FLAG] = True


def _began(session, _transaction, connection) -> None:
    bell = _engine_bells.get(connection.engine)
    if bell is not None:
        connection.info[_FLAG] = False  # whatever an earlier user of this pooled connection left
        session.info.setdefault(_SESSION_CONNECTIONS, []).append((bell, connection.info))


def _committed(session) -> None:
    # Committed, and the connections still the session's (they are released after this event).
    rung = set()
    for bell, info in session.info.get(_SESSION_CONNECTIONS, ()):
        if info.pop(_FLAG, False) and bell not in rung:
            bell.ring()
            rung.add(bell)


def _ended(session, transaction) -> None:
    if transaction.parent is None:
        session.info.pop(_SESSION_CONNECTIONS, None)
