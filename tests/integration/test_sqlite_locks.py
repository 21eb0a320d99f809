"""The "disk I/O error" that took issue 13's change bell off main, in isolation (tests/sqlite_files.py).

A test read the SQLite test database's bytes with `Path.read_bytes()` while the test process had the
database open. Closing that descriptor dropped every POSIX lock the process held on the file, so the next
process to close its last connection — the preflight check of a `credit-service serve` an end-to-end test
started — took the exclusive lock and deleted the -wal and -shm files under the test process's open
connections; from then on the test process failed with SQLITE_IOERR_SHORT_READ ("disk I/O error"). Which
test first met the damage depended on timing (main passed the same run by luck; the guard in
tests/conftest.py now fails the test that drops the lock, whatever comes after it)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from credit_service.adapters.database import make_engine
from tests.sqlite_files import locks_held, read_database_files

pytestmark = pytest.mark.skipif(not Path("/proc/locks").exists(), reason="POSIX lock listing is Linux's")

# What `credit-service serve`'s preflight does to the database: open, read, close its only connection.
ANOTHER_PROCESS = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                   "c.execute('SELECT count(*) FROM t').fetchall(); c.close()")


@pytest.fixture
def database(tmp_path):
    """A SQLite file of the service's own engine (WAL) with a few pages in its WAL, and a connection of
    this process that stays open, as the test process's pooled connections do."""
    path = tmp_path / "locks.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x BLOB)"))
        for _ in range(50):
            connection.execute(text("INSERT INTO t VALUES (randomblob(3000))"))
    held = engine.connect()
    held.execute(text("SELECT count(*) FROM t")).all()
    held.commit()
    yield path, engine, held
    held.close()
    engine.dispose()


def _after_another_process_used_it(path: Path) -> bool:
    """Another process opens and closes the database; True if the WAL is still there afterwards."""
    subprocess.run([sys.executable, "-c", ANOTHER_PROCESS, str(path)], check=True)
    return Path(f"{path}-wal").exists()


def test_reading_the_database_file_in_this_process_drops_its_locks_and_breaks_its_connections(database):
    """The defect reproduced: after an in-process read another process deletes the WAL under our open
    connection, and the next write through this process fails."""
    path, engine, held = database
    assert locks_held(path)
    path.read_bytes()
    assert locks_held(path) == []  # every lock of this process on the file: gone with one close()
    assert not _after_another_process_used_it(path)  # it believed itself the last user
    with pytest.raises(DatabaseError, match="disk I/O error|not a database|malformed"):
        for _ in range(5):  # through the pool: a new WAL file, read with the deleted one's index
            with engine.begin() as connection:
                connection.execute(text("INSERT INTO t VALUES (randomblob(3000))"))
        held.execute(text("INSERT INTO t VALUES (1)"))
        held.commit()


def test_reading_the_database_file_from_a_child_process_keeps_them(database):
    """The fix: the bytes are the same, this process keeps its locks, the WAL stays, every connection works."""
    path, engine, held = database
    content = read_database_files(path, Path(f"{path}-wal"))
    assert len(content) == path.stat().st_size + Path(f"{path}-wal").stat().st_size > path.stat().st_size
    assert locks_held(path)
    assert _after_another_process_used_it(path)
    for _ in range(5):
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO t VALUES (randomblob(3000))"))
    held.execute(text("INSERT INTO t VALUES (1)"))
    held.commit()
    assert held.execute(text("SELECT count(*) FROM t")).scalar() == 56
