"""A transaction around one use case (cosmicpython's unit of work), and what it publishes after commit.

A use case opens the unit of work, loads and writes through its repositories, and commits. What the
transaction changed about subjects is published once, after commit, the same way whichever door ran
the use case (API, CLI, job, console): this process's status index takes it at once, and the change
feed (written in the same transaction) brings it to every other process. adapters/unit_of_work.py
is the SQL implementation; tests/unit/fakes.py an in-memory one.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import datetime
from typing import Iterable, Protocol

from ..domain.identity import SubjectKey



class DuplicateRow(Exception):
    """A unique constraint refused the commit (another transaction wrote the same thing first)."""

    def __init__(self, detail: str = ""):
        super().__init__(detail)
        self.detail = detail


class Publisher(Protocol):
    """Where committed changes go in this process (the status index)."""

    def refresh(self, keys: Iterable[SubjectKey]) -> None: ...

    def merge(self, additions: Iterable) -> None: ...


class UnitOfWork(ABC):
    """Subclasses open the transaction in `_begin`, and implement `_commit`, `_rollback`, `_close`;
    their repositories are attributes (docs/architecture.md lists them)."""

    publisher: Publisher | None = None
    origin: str | None = None  # this process, as the change feed names it (its entries it applies itself)

    def __enter__(self) -> "UnitOfWork":
        self._reload: set[SubjectKey] = set()
        self._merge: list = []
        self._begin()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._rollback()  # no-op after commit; undoes everything on error
        finally:
            self._close()

    def reading(self) -> "UnitOfWork":
        """A unit of work for a use case that only shows data (a record, a report, the audit trail, a list):
        it may read from a read replica within its lag bound (adapters/read_replica.py) and never commits.
        Use cases that write or decide keep the unit of work they were given. Default: this one."""
        return self

    def commit(self) -> None:
        self._commit()
        reload, merge = self._reload, self._merge
        self._reload, self._merge = set(), []
        if self.publisher is not None:
            if merge:
                self.publisher.merge(merge)
            if reload:
                self.publisher.refresh(reload)

    def subjects_changed(self, keys: Iterable[SubjectKey], now: datetime) -> None:
        """These subjects' records changed: a change-feed entry each (every process reloads them), and
        this process's index reloads them right after commit."""
        keys = set(keys)
        self.feed.append(keys, now)
        self._reload |= keys

    def facts_added(self, additions: Iterable) -> None:
        """New measures of subjects whose feed entries this transaction wrote with `origin`: merged into
        this process's index right after commit (no reload), as StatusIndex.merge takes them."""
        self._merge.extend(additions)

    @abstractmethod
    def _begin(self) -> None:
        ...

    @abstractmethod
    def _commit(self) -> None:
        ...

    @abstractmethod
    def _rollback(self) -> None:
        ...

    def _close(self) -> None:
        pass
