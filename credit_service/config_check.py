"""`credit-service config check`: every variable, rule file, calendar file and key checked before anything
starts; each problem one line that names the variable, or the file and key (issue 13).

`credit-service serve` runs the same checks before any worker starts, so a bad calendar file is one
line, not a traceback per worker.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(database: bool = True) -> Report:
    """All the checks; `database`: also connect, compare the schema with the code and the keys with the
    database's check values (nothing is written)."""
    from .settings import _conversions, _default_config_dir, settings_problems, Settings

    report = Report()
    env = os.environ
    broken = {}
    for name, convert in _conversions():
        key = f"CREDIT_SERVICE_{name.upper()}"
        if key in env:
            try:
                convert(env[key])
            except ValueError as exc:
                report.problems.append(_line(f"{key}={env[key]!r}: {exc}"))
                broken[name] = Settings.__dataclass_fields__[name].default  # go on with the default
    settings = None
    try:
        settings = Settings.from_env(validate=False, **broken)
    except ValueError as exc:
        report.problems.append(_line(str(exc)))
    else:
        report.problems.extend(_line(p) for p in settings_problems(settings))
    config_dir = settings.config_dir if settings else _default_config_dir()
    _check_files(config_dir, report)
    if settings is None:
        return report
    keys = _check_keys(settings, report)
    if database and keys:
        _check_database(settings, keys, report)
    return report


def _check_files(config_dir: Path, report: Report) -> None:
    from .calendar_config import CalendarConfigError, build_calendar
    from .documents.config import load_document_settings
    from .rules_config import RuleConfigError, load_rule_book
    if not config_dir.is_dir():
        report.problems.append(f"CREDIT_SERVICE_CONFIG_DIR={str(config_dir)!r}: no such directory")
        return
    try:
        book = load_rule_book(config_dir / "rules")
        report.notes.append(f"rules: {len(book.rule_sets)} rule set(s) in {config_dir / 'rules'}")
    except RuleConfigError as exc:
        report.problems.append(_line(str(exc)))
    try:
        calendar = build_calendar(config_dir / "calendar")
        years = sorted(calendar._schedules)
        report.notes.append(f"calendar: {config_dir / 'calendar'}" + (f", years {years[0]}–{years[-1]}" if years else ""))
    except CalendarConfigError as exc:
        report.problems.append(_line(str(exc)))
    try:
        load_document_settings(config_dir)
    except ValueError as exc:
        report.problems.append(_line(str(exc)))


def _check_keys(settings, report: Report):
    from .adapters import audit_keys, pii
    try:
        return pii.KeyRing.from_settings(settings), audit_keys.AuditKeys.from_settings(settings)
    except pii.KeyConfigError as exc:
        report.problems.append(_line(str(exc)))
        return None


def _check_database(settings, keys, report: Report) -> None:
    import json
    import logging
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin and context lines are not for here

    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect, select
    from sqlalchemy.exc import SQLAlchemyError

    from .adapters.database import make_engine
    from .adapters.key_check import KeyMismatch, compare, configured_checks
    from .adapters.migrations import alembic_config
    from .adapters.orm import KeyCheckRow

    url = settings.database_url
    engine = make_engine(url, connect_timeout=settings.db_connect_timeout_seconds,
                         statement_timeout=settings.db_statement_timeout_seconds)
    try:
        with engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
            head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
            if current != head:
                report.problems.append(f"CREDIT_SERVICE_DATABASE_URL: the database is at revision {current or 'none'}, "
                                       f"the code at {head}: run `credit-service db upgrade`")
            if inspect(connection).has_table(KeyCheckRow.__tablename__):
                recorded = {k: json.loads(c) for k, c in connection.execute(select(KeyCheckRow.kind, KeyCheckRow.checks))}
                for kind, configured in configured_checks(*keys).items():
                    try:
                        compare(kind, recorded.get(kind, {}), configured)
                    except KeyMismatch as exc:
                        report.problems.append(_line(str(exc)))
        report.notes.append(f"database: reachable, revision {current}")
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
        report.problems.append(f"CREDIT_SERVICE_DATABASE_URL: database not reachable ({reason})")
    finally:
        engine.dispose()


def _line(text: str) -> str:
    """One line whatever the message (a TOML error can carry a newline)."""
    return " ".join(text.split())
