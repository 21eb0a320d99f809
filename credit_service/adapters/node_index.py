"""One status index per node (issue 13 item 7), with CREDIT_SERVICE_INDEX_STORE=shared.

The workers of a node share one snapshot file (shared_index.py) in the data directory. A worker that
needs a full load takes the node's lock file: if a snapshot younger than half the rebuild interval is
there, it maps it; otherwise it has one built — by a child process, so that the Python objects of the
load leave with it — and maps that. The other workers wait on the lock and map the same file. Then,
as after a load from a replica, the worker re-reads from the database every subject named in the
change feed after the snapshot's head (less the gap window) into its own overlay, and polls from
there; its own commits and what it polls go into the overlay too, until its next full load.

A snapshot file is replaced by rename, never changed in place: a worker still mapping the old one keeps
reading it until its next load.

Building: a node's first snapshot (and one every FULL_BUILD_SECONDS, the backstop for anything the feed
could have missed, as the in-memory index's full load is) is a full build from the records. Every other
build starts from the previous snapshot: the subjects named in the change feed since its head (less the
gap window) are read again and only their blocks are encoded again (shared_index.update_snapshot) — the
same bytes as a full build, in a fraction of its time. It falls back to a full build whenever it could
not give those bytes: no previous snapshot, one of another format or other lookup keys (after `keys
rotate`, which writes no feed entries), a previous snapshot older than half the change feed's
retention (the entries it needs could be pruned) or ahead of the database read (a replica behind the
primary the previous one was read from), a string or block count that changes.

With CREDIT_SERVICE_READ_DATABASE_URL the build reads from the streaming replica under the same lag bound
as the index's full load (read_replica.py); the worker then catches up from the primary, as after a
load from the replica, so a change committed before the build is answered whatever the replica's lag.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)

_URL_VARIABLE = "CREDIT_SERVICE_INDEX_BUILD_DATABASE_URL"  # not in argv: the URL may carry a password
_READ_URL_VARIABLE = "CREDIT_SERVICE_INDEX_BUILD_READ_DATABASE_URL"
_READ_LAG_VARIABLE = "CREDIT_SERVICE_INDEX_BUILD_READ_MAX_LAG_SECONDS"
_KEYS_TAG_VARIABLE = "CREDIT_SERVICE_INDEX_BUILD_KEYS_TAG"
_RETENTION_VARIABLE = "CREDIT_SERVICE_INDEX_BUILD_CHANGE_RETENTION_SECONDS"
FULL_BUILD_SECONDS = 6 * 3600.0  # a full build at least this often (the others update the previous snapshot)


def keys_tag(keyring) -> bytes:
    """Which lookup keys a snapshot's subjects are keyed with: a snapshot made under other keys is never
    used nor updated (16 bytes derived from the current HMAC key; it reveals nothing of the key)."""
    return hashlib.blake2b(keyring.lookup_key("insured", "status-index-snapshot").encode(), digest_size=16).digest()


class NodeSnapshots:
    def __init__(self, directory: Path, database_url: str, build_timeout_seconds: float = 300.0,
                 keys_tag: bytes = bytes(16), read_database_url: str | None = None, read_max_lag_seconds: float = 10.0,
                 change_retention_seconds: float = 30 * 86400.0):
        tag = hashlib.blake2b(database_url.encode(), digest_size=6).hexdigest()  # one per database
        self.directory = Path(directory)
        self.path = self.directory / f"status-index-{tag}.snapshot"
        self._lock_path = self.directory / f"status-index-{tag}.lock"
        self._database_url = database_url
        self._build_timeout = build_timeout_seconds
        self.keys_tag = keys_tag
        self._read_database_url, self._read_max_lag_seconds = read_database_url, read_max_lag_seconds
        self._change_retention_seconds = change_retention_seconds

    def acquire(self, reuse_seconds: float):
        """A snapshot made less than `reuse_seconds` ago (by any worker of the node), else a new one."""
        from .shared_index import Snapshot
        from .status_index import UNREADABLE
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path, "a+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if this process dies
            try:
                if not self._usable(reuse_seconds):
                    self._build()
                snapshot = Snapshot(self.path, UNREADABLE)
                if snapshot.keys_tag != self.keys_tag:  # fail closed: its subjects are keyed otherwise
                    raise RuntimeError("status index snapshot made under other lookup keys")
                return snapshot
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _usable(self, reuse_seconds: float) -> bool:
        from .shared_index import snapshot_header
        try:
            young = time.time() - self.path.stat().st_mtime < reuse_seconds
        except FileNotFoundError:
            return False
        header = snapshot_header(self.path)
        return young and header is not None and header[1] == self.keys_tag  # never one made under other keys

    def _build(self) -> None:
        started = time.perf_counter()
        env = dict(os.environ, **{_URL_VARIABLE: self._database_url, _KEYS_TAG_VARIABLE: self.keys_tag.hex(),
                                  _READ_LAG_VARIABLE: str(self._read_max_lag_seconds),
                                  _RETENTION_VARIABLE: str(self._change_retention_seconds)})
        env.pop(_READ_URL_VARIABLE, None)
        if self._read_database_url:
            env[_READ_URL_VARIABLE] = self._read_database_url
        done = subprocess.run([sys.executable, "-m", __name__, str(self.path)], env=env, timeout=self._build_timeout,
                              capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"status index snapshot not built: {done.stderr.strip()[-2000:]}")
        log.info("status index snapshot built for this node: %s (%.1f s)", done.stdout.strip(),
                 time.perf_counter() - started)


def rebuild_from_snapshot(index, snapshots: NodeSnapshots, started: float, as_of: float) -> None:
    """StatusIndex._rebuild_locked with the node's snapshot (called under the index's lock)."""
    from .shared_index import SharedFacts
    from .status_index import UNREADABLE
    snapshot = snapshots.acquire(reuse_seconds=index._rebuild_seconds / 2)
    facts = SharedFacts(snapshot)
    unreadable: set = set()
    head, seen = index._catch_up_from_primary(facts, snapshot.head, unreadable)
    for key in unreadable:
        facts[key] = UNREADABLE
    index._facts = facts
    index._max_seen, index._seen = head, seen
    index.last_load_source = "node snapshot"
    index._loaded = True
    index._refreshed(as_of)
    log.info("status index rebuilt: %d subjects in %.2f s (node snapshot, %d changed since it)", len(snapshot),
             time.perf_counter() - started, facts.overlay_size)


def build_snapshot(path: Path, engine, keys_tag: bytes, read_engine=None, read_max_lag_seconds: float = 10.0,
                   full_build_seconds: float = FULL_BUILD_SECONDS,
                   change_retention_seconds: float = 30 * 86400.0) -> str:
    """Build the node's snapshot at `path`: an update of the previous one when it can be, else in full.
    Returns what was done (one line, for the log)."""
    from . import records
    from .read_replica import engine_for_full_load
    from .shared_index import FullBuildNeeded, snapshot_header, update_snapshot, write_snapshot
    from .status_index import CLIENT_FEED, UNREADABLE, StatusIndex
    path = Path(path)
    source = engine_for_full_load(engine, read_engine, read_max_lag_seconds)
    where = "replica" if source is not engine else "primary"
    full_marker = path.with_name(path.name + ".full")
    with source.connect() as connection:
        head = records.latest_change_seq(connection)
        try:
            previous = snapshot_header(path)
            if previous is None:
                raise FullBuildNeeded("no previous snapshot of this format")
            try:
                if time.time() - full_marker.stat().st_mtime > full_build_seconds:
                    raise FullBuildNeeded(f"the last full build is over {full_build_seconds:.0f} s old")
            except FileNotFoundError:
                raise FullBuildNeeded("no full build recorded") from None
            # The feed keeps every entry younger than the retention: those the previous snapshot needs
            # (committed after it was read) are, while it is younger than half the retention.
            if time.time() - path.stat().st_mtime > change_retention_seconds / 2:
                raise FullBuildNeeded("the previous snapshot is older than half the change feed's retention")
            if head < previous[0]:  # a replica behind the primary the previous one was read from
                raise FullBuildNeeded("the database read is behind the previous snapshot")
            floor = max(0, previous[0] - StatusIndex.GAP_WINDOW)
            keys = {(t, n) for _, t, n, _ in records.changes_since(connection, floor) if t != CLIENT_FEED}
            unreadable: set = set()
            fresh = records.load_subject_facts(connection, keys, unreadable=unreadable) if keys else {}
            changes = {key: UNREADABLE if key in unreadable else fresh.get(key) for key in keys}
            size = update_snapshot(path, path, changes, head, unreadable_marker=UNREADABLE, keys_tag=keys_tag)
            return f"updated from the previous snapshot ({len(changes)} subjects read again, from the {where}): " \
                   f"{size} bytes, feed head {head}"
        except FullBuildNeeded as reason:
            why = str(reason)
        unreadable = set()
        facts = records.load_subject_facts(connection, unreadable=unreadable)
    for key in unreadable:
        facts[key] = UNREADABLE
    size = write_snapshot(path, facts, head, unreadable_marker=UNREADABLE, keys_tag=keys_tag)
    full_marker.touch()
    return f"full build ({why}), from the {where}: {len(facts)} subjects, {size} bytes " \
           f"({size / max(len(facts), 1):.1f} B/subject), feed head {head}"


def _build_snapshot(path: Path) -> None:
    from .database import make_engine
    engine = make_engine(os.environ[_URL_VARIABLE])  # as the index's own engine reads (dates as text)
    read_url = os.environ.get(_READ_URL_VARIABLE)
    read_engine = make_engine(read_url) if read_url else None
    try:
        print(build_snapshot(path, engine, bytes.fromhex(os.environ[_KEYS_TAG_VARIABLE]), read_engine,
                             float(os.environ.get(_READ_LAG_VARIABLE, "10")),
                             change_retention_seconds=float(os.environ[_RETENTION_VARIABLE])))
    finally:
        engine.dispose()
        if read_engine is not None:
            read_engine.dispose()


if __name__ == "__main__":
    _build_snapshot(Path(sys.argv[1]))
