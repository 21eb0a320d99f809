"""Repositories of who may call the service: API clients (tokens stored as hashes) and console accounts
(with their failed sign-ins and web sessions)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .orm import ApiClientRow, LoginFailureRow, StaffUserRow, WebSessionRow


class ApiClients:
    def __init__(self, session: Session):
        self._session = session

    def named(self, name: str) -> ApiClientRow | None:
        return self._session.scalar(select(ApiClientRow).where(ApiClientRow.name == name))

    def get(self, client_id: str) -> ApiClientRow | None:
        return self._session.get(ApiClientRow, client_id)

    def add(self, row: ApiClientRow) -> None:
        self._session.add(row)

    def all(self) -> list[ApiClientRow]:
        return list(self._session.scalars(select(ApiClientRow).order_by(ApiClientRow.created_at, ApiClientRow.name)))

    def active(self, token_hash: str) -> ApiClientRow | None:
        """The unrevoked client of this token hash (the token cache's one query)."""
        return self._session.scalar(select(ApiClientRow).where(ApiClientRow.token_hash == token_hash,
                                                               ApiClientRow.revoked_at.is_(None)))


class StaffAccounts:
    def __init__(self, session: Session):
        self._session = session

    def named(self, username: str) -> StaffUserRow | None:
        return self._session.scalar(select(StaffUserRow).where(StaffUserRow.username == username))

    def get(self, user_id: str) -> StaffUserRow | None:
        return self._session.get(StaffUserRow, user_id)

    def of_sso_subject(self, subject: str) -> StaffUserRow | None:
        return self._session.scalar(select(StaffUserRow).where(StaffUserRow.sso_subject == subject))

    def add(self, row: StaffUserRow) -> None:
        self._session.add(row)

    def all(self) -> list[StaffUserRow]:
        return list(self._session.scalars(select(StaffUserRow).order_by(StaffUserRow.username)))

    def end_sessions(self, user_id: str) -> int:
        return self._session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id)).rowcount

    def failures_since(self, username_hash: str, since: datetime) -> int:
        return self._session.scalar(select(func.count()).select_from(LoginFailureRow).where(
            LoginFailureRow.username_hash == username_hash, LoginFailureRow.at > since))

    def add_failure(self, username_hash: str, at: datetime) -> None:
        self._session.add(LoginFailureRow(username_hash=username_hash, at=at))

    def forget_failures(self, username_hash: str) -> None:
        self._session.execute(delete(LoginFailureRow).where(LoginFailureRow.username_hash == username_hash))
