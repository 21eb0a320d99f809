"""Everything a request, CLI command or job needs, built once per process from Settings."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from .adapters.database import make_engine, make_session_factory
from .adapters.status_index import StatusIndex
from .calendar_config import build_calendar
from .clock import Clock, SystemClock
from .domain.rules import RuleBook
from .domain.working_days import WorkingCalendar
from .rules_config import load_rule_book
from .services.clients import TokenCache
from .services.procedure import Workflow
from .services.unit_of_work import UnitOfWork
from .settings import Settings


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

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self.session_factory)

    def workflow(self) -> Workflow:
        return Workflow(uow_factory=self.uow, rules=self.rules, calendar=self.calendar, clock=self.clock)


def build_container(settings: Settings, clock: Clock | None = None) -> Container:
    # Rule and calendar files are read first: a malformed file stops start-up before anything else.
    rules = load_rule_book(settings.config_dir / "rules")
    calendar = build_calendar(settings.config_dir / "calendar")
    engine = make_engine(settings.database_url)
    session_factory = make_session_factory(engine)
    index = StatusIndex(engine, poll_seconds=settings.index_poll_seconds)
    tokens = TokenCache(session_factory)
    index.add_listener(tokens.on_change)
    return Container(settings=settings, engine=engine, session_factory=session_factory, rules=rules,
                     calendar=calendar, clock=clock or SystemClock(), index=index, tokens=tokens)
