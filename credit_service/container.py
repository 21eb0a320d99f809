"""Everything a request, CLI command or job needs, built once per process from Settings."""
from __future__ import annotations

import logging
from functools import partial
import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from .adapters import audit_keys, change_bell, key_check, pii
from .adapters.database import make_engine, make_session_factory
from .adapters.status_index import StatusIndex
from .calendar_config import CalendarConfigError, build_calendar
from .clock import Clock, SystemClock
from .domain.dates import LawfulDates
from .domain.rules import RuleBook
from .domain.working_days import WorkingCalendar
from .rules_config import load_rule_book
from .services.clients import TokenCache
from .services.procedure import Workflow
from .adapters.unit_of_work import SqlUnitOfWork
from .settings import Settings

log = logging.getLogger(__name__)


@dataclass
class Container:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker
    rules: RuleBook
    calendar: WorkingCalendar
    clock: Clock
    index: StatusIndex
    tokens: TokenCache
    keys: pii.KeyRing
    audit_keys: audit_keys.AuditKeys | None = None
    reads: object | None = None  # read_replica.ReadRouter, with CREDIT_SERVICE_READ_DATABASE_URL
    dates: LawfulDates = field(default_factory=LawfulDates)
    _calendar_signature: tuple = ()
    _calendar_checked_at: float = field(default_factory=time.monotonic)

    def uow(self) -> SqlUnitOfWork:
        """A unit of work for one use case; what it commits reaches this process's index at once."""
        return SqlUnitOfWork(self.session_factory, self.keys, publisher=self.index, reads=self.reads)

    def workflow(self) -> Workflow:
        return Workflow(uow_factory=self.uow, rules=self.rules, calendar=self.current_calendar(),
                        clock=self.clock, dates=self.dates)

    def current_calendar(self) -> WorkingCalendar:
        """The calendar, re-read when a file under config/calendar/ changed (checked at most once a
        minute), so that every process — not only the one whose sweep noticed — counts a newly
        published year. A malformed new file is logged and the calendar in use kept."""
        now = time.monotonic()
        if now - self._calendar_checked_at >= CALENDAR_CHECK_SECONDS:
            self._calendar_checked_at = now
            signature = _directory_signature(self.settings.config_dir / "calendar")
            if signature != self._calendar_signature:
                try:
                    self.calendar = build_calendar(self.settings.config_dir / "calendar")
                    self._calendar_signature = signature
                    log.info("working-day calendar reloaded from %s", self.settings.config_dir / "calendar")
                except CalendarConfigError as exc:
                    log.error("calendar file not loaded, keeping the calendar in use: %s", exc)
        return self.calendar


CALENDAR_CHECK_SECONDS = 60.0


def _directory_signature(directory: Path) -> tuple:
    if not directory.is_dir():
        return ()
    return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in directory.glob("*.toml")))


def build_container(settings: Settings, clock: Clock | None = None) -> Container:
    # Rule and calendar files are read first: a malformed file stops start-up before anything else.
    rules = load_rule_book(settings.config_dir / "rules")
    calendar = build_calendar(settings.config_dir / "calendar")
    keys = pii.KeyRing.from_settings(settings)
    macs = audit_keys.AuditKeys.from_settings(settings)
    engine = make_engine(settings.database_url, connect_timeout=settings.db_connect_timeout_seconds,
                         statement_timeout=settings.db_statement_timeout_seconds,
                         pool_timeout=settings.db_pool_timeout_seconds)
    # Nodes whose keys differ would answer differently for the same person: refuse to start instead
    # (before the keys become this process's).
    try:
        key_check.verify_and_record(engine, keys, macs)
    except Exception:
        engine.dispose()
        raise
    pii.use(keys)  # the migrations use the same keys (everything else is given them)
    audit_keys.use(macs)  # the audit trail's appends, wherever they run
    session_factory = make_session_factory(engine)
    # The other processes of this machine (SQLite) or node (PostgreSQL: its data directory) hear of changes
    from .settings import _data_dir
    node_dir = None if settings.is_sqlite else _data_dir()
    change_bell.ring_after_feed_commits(engine, session_factory, node_dir)
    read_engine = reads = None
    if settings.read_database_url:  # a streaming replica: the index's full load, records and reports (read_replica.py)
        from .adapters.read_replica import ReadRouter
        read_engine = make_engine(settings.read_database_url, connect_timeout=settings.db_connect_timeout_seconds,
                                  statement_timeout=settings.db_statement_timeout_seconds,
                                  pool_timeout=settings.db_pool_timeout_seconds)
        reads = ReadRouter(engine, read_engine, settings.read_max_lag_seconds, change_bell.bell_for(engine, node_dir),
                            primary_sessions=session_factory)
    index = StatusIndex(engine, poll_seconds=settings.index_poll_seconds, keyring=keys,
                        max_age_seconds=settings.index_max_age_seconds, read_engine=read_engine,
                        read_max_lag_seconds=settings.read_max_lag_seconds, node_dir=node_dir)
    if settings.index_store == "shared":  # one index per node (issue 13 item 7)
        from .adapters.node_index import NodeSnapshots
        from .adapters.node_index import keys_tag
        index.use_node_snapshots(NodeSnapshots(_data_dir() / "status-index", settings.database_url,
                                               build_timeout_seconds=settings.index_max_age_seconds,
                                               keys_tag=keys_tag(keys), read_database_url=settings.read_database_url,
                                               read_max_lag_seconds=settings.read_max_lag_seconds,
                                               change_retention_seconds=settings.change_retention_days * 86400))
    clock = clock or SystemClock()
    # A unit of work like every use case's (read only: nothing to publish).
    tokens = TokenCache(partial(SqlUnitOfWork, session_factory, keys), clock)
    index.add_listener(tokens.on_change)
    return Container(settings=settings, engine=engine, session_factory=session_factory, rules=rules,
                     calendar=calendar, clock=clock, index=index, tokens=tokens, keys=keys,
                     audit_keys=macs, reads=reads, dates=LawfulDates(settings.earliest_date, settings.query_days_ahead),
                     _calendar_signature=_directory_signature(settings.config_dir / "calendar"))
