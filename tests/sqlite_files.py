"""Touching a SQLite database's files from a process that has it open, without breaking SQLite's locks.

SQLite locks a database file with POSIX advisory locks (fcntl), and POSIX drops *every* lock a process
holds on a file as soon as the process closes *any* descriptor of that file — SQLite's own descriptors
are safe (it defers their close), anyone else's `open(...).read()` or `Path.read_bytes()` is not. A test
that read the test database's bytes that way (test_personal_data.py) left the test process with open
connections but no lock: the next process to close its last connection (the preflight check of a
`credit-service serve` started by an end-to-end test) took the exclusive lock, checkpointed and deleted
the -wal and -shm files under those connections; the test process went on with the deleted files'
wal-index and failed with "disk I/O error" (SQLITE_IOERR_SHORT_READ) on every later statement.
tests/integration/test_sqlite_locks.py shows it in isolation; tests/conftest.py fails any test that
drops the test process's lock on the test database.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

_READ = "import sys\nfor p in sys.argv[1:]:\n    sys.stdout.buffer.write(open(p, 'rb').read())\n"


def read_database_files(*paths: Path) -> bytes:
    """The bytes of `paths` (those that exist), read by a child process: its closing the files drops only
    its own locks (it has none), never this process's."""
    existing = [str(p) for p in paths if Path(p).exists()]
    return subprocess.run([sys.executable, "-c", _READ, *existing], check=True, capture_output=True).stdout


def locks_held(path: Path, pid: int | None = None) -> list[str]:
    """The POSIX locks `pid` (default: this process) holds on `path`, as /proc/locks lists them (Linux)."""
    pid = os.getpid() if pid is None else pid
    inode = os.stat(path).st_ino
    held = []
    with open("/proc/locks") as locks:
        for line in locks:
            fields = line.split()
            if "->" in fields:  # a waiting request, not a lock held
                continue
            if len(fields) >= 8 and fields[1] in ("POSIX", "OFDLCK") and fields[4] == str(pid) \
                    and fields[5].rsplit(":", 1)[-1] == str(inode):
                held.append(line.strip())
    return held
