"""Engine and sessions. SQLite gets WAL and BEGIN IMMEDIATE so that writers queue instead of failing.

PostgreSQL gets timeouts, so that a database that hangs cannot hang the service (issue 9;
docs/operations.md): connecting (connect_timeout), waiting for a pooled connection (pool_timeout), a
statement (the server's statement_timeout, set on every connection) and, for a server that does not
answer at all, a client-side deadline on every driver call (adapters/deadlines.py). None: no limit
(migrations, scripts).
"""
from __future__ import annotations

import math
from pathlib import Path

from sqlalchemy import create_engine, event, make_url
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from . import deadlines

# hide_parameters: statement parameters carry identity numbers, and SQLAlchemy puts them into the text
# of every database error — which ends up in logged tracebacks (PIPL; tests/api/test_no_id_number_in_logs.py).


def make_engine(url: str, *, connect_timeout: float | None = None, statement_timeout: float | None = None,
                pool_timeout: float | None = None) -> Engine:
    """Timeouts in seconds (PostgreSQL; SQLite waits at most its 30 s busy timeout for a lock)."""
    if url.startswith("sqlite"):
        return _sqlite_engine(url)
    # prepare_threshold=None: psycopg would otherwise prepare a statement after 5 runs, and PostgreSQL's
    # generic plan for the large IN lists of a bulk import can be a thousand times slower.
    connect_args: dict = {"prepare_threshold": None} if "+psycopg" in url and "psycopg2" not in url else {}
    # DateStyle ISO: the status index reads dates as text (adapters/records.py), whatever the server's default.
    options = "-c DateStyle=ISO"
    if statement_timeout:
        options += f" -c statement_timeout={int(statement_timeout * 1000)}"
    connect_args["options"] = _options(url, options)
    if connect_timeout:
        connect_args["connect_timeout"] = max(2, math.ceil(connect_timeout))  # libpq: whole seconds, ≥ 2
    extra = {"pool_timeout": pool_timeout} if pool_timeout else {}
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, connect_args=connect_args,
                           hide_parameters=True, **extra)
    if statement_timeout:
        deadlines.guard(engine, statement_timeout, ping_seconds=max(2.0, connect_timeout or 5.0))
    return engine


def _options(url: str, ours: str) -> str:
    """libpq `options`: ours after any the URL gives (connect_args would replace them)."""
    given = make_url(url).query.get("options")
    given = given[-1] if isinstance(given, tuple) else given
    return f"{given} {ours}" if given else ours


def _sqlite_engine(url: str) -> Engine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, hide_parameters=True)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        # Take over transaction control from pysqlite so that BEGIN IMMEDIATE can be issued.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Every transaction takes the write lock up front: a read-then-write transaction can then
        # never fail half-way with SQLITE_BUSY, and per-subject aggregation is serialised.
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def answers(engine: Engine) -> None:
    """One round trip (raises if the database does not answer)."""
    from sqlalchemy import text
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def database_gone(error: Exception) -> bool:
    """The error says the database is unreachable (a lost or refused connection), not that a statement failed."""
    from sqlalchemy.exc import DBAPIError, OperationalError
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and bool(getattr(error, "connection_invalidated", False)))
