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


class NodeSnapshots:
    def __init__(self, directory: Path, database_url: str, build_timeout_seconds: float = 300.0):
        tag = hashlib.blake2b(database_url.encode(), digest_size=6).hexdigest()  # one per database
        self.directory = Path(directory)
        self.path = self.directory / f"status-index-{tag}.snapshot"
        self._lock_path = self.directory / f"status-index-{tag}.lock"
        self._database_url = database_url
        self._build_timeout = build_timeout_seconds

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
                return Snapshot(self.path, UNREADABLE)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _usable(self, reuse_seconds: float) -> bool:
        try:
            return time.time() - self.path.stat().st_mtime < reuse_seconds
        except FileNotFoundError:
            return False

    def _build(self) -> None:
        started = time.perf_counter()
        env = dict(os.environ, **{_URL_VARIABLE: self._database_url})
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


def _build_snapshot(path: Path) -> None:
    from . import records
    from .database import make_engine
    from .shared_index import write_snapshot
    from .status_index import UNREADABLE
    engine = make_engine(os.environ[_URL_VARIABLE])  # as the index's own engine reads (dates as text)
    unreadable: set = set()
    with engine.connect() as connection:
        head = records.latest_change_seq(connection)
        facts = records.load_subject_facts(connection, unreadable=unreadable)
    for key in unreadable:
        facts[key] = UNREADABLE
    size = write_snapshot(path, facts, head, unreadable_marker=UNREADABLE)
    engine.dispose()
    print(f"{len(facts)} subjects, {size} bytes ({size / max(len(facts), 1):.1f} B/subject), feed head {head}")


if __name__ == "__main__":
    _build_snapshot(Path(sys.argv[1]))
