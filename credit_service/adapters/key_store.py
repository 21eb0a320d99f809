"""The rows `keys rotate` reads and rewrites (services/key_rotation.py): `subjects` by key version, every
column that names a subject by its lookup key, and the webhooks' sealed secrets."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from .orm import SubjectRow, WebhookRow

# Every column that names a subject by its lookup key, but the audit trail's (never rewritten) and
# `subjects` itself (the old row is retired, a new one written under the new key). `web_sessions`: a person
# signed in to the self-service pages keeps reading their own records after a rotation.
SUBJECT_COLUMNS = (
    ("violations", "lookup_key"), ("measures", "lookup_key"), ("notices", "lookup_key"),
    ("objections", "lookup_key"), ("repairs", "lookup_key"), ("measure_events", "lookup_key"),
    ("expert_recommendations", "lookup_key"), ("subject_changes", "lookup_key"),
    ("api_clients", "subject_lookup_key"), ("evidence_files", "lookup_key"), ("web_sessions", "lookup_key"),
)
_S = SubjectRow.__table__.c
_W = WebhookRow.__table__.c


class KeyRotation:
    def __init__(self, session: Session):
        self._session = session

    def under_older_lookup_key(self, hmac_id: str, limit: int) -> list[tuple[str, str, str]]:
        """(lookup key, subject type, sealed number) of current subjects keyed with another HMAC key."""
        return [tuple(r) for r in self._session.execute(
            select(_S.lookup_key, _S.subject_type, _S.id_sealed)
            .where(_S.retired_at.is_(None), _S.lookup_key.not_like(f"{hmac_id}:%"))
            .order_by(_S.lookup_key).limit(limit)).all()]

    def switch(self, mapping: list[dict]) -> None:
        """old key → new key in every table of SUBJECT_COLUMNS, through a temporary mapping table (one
        statement per table, whatever the batch size)."""
        s = self._session
        s.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS pii_rotation "
                       "(old_key VARCHAR(64) PRIMARY KEY, new_key VARCHAR(64) NOT NULL)"))
        s.execute(text("DELETE FROM pii_rotation"))
        s.execute(text("INSERT INTO pii_rotation (old_key, new_key) VALUES (:old_key, :new_key)"), mapping)
        for table, column in SUBJECT_COLUMNS:
            s.execute(text(
                f"UPDATE {table} SET {column} = (SELECT new_key FROM pii_rotation WHERE old_key = {table}.{column}) "
                f"WHERE {column} IN (SELECT old_key FROM pii_rotation)"))
        s.execute(text("DELETE FROM pii_rotation"))

    def retire(self, keys: list[str], now: datetime) -> None:
        self._session.execute(update(SubjectRow).where(_S.lookup_key.in_(keys)).values(retired_at=now))

    def sealed_with_older_key(self, encryption_id: str, limit: int) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self._session.execute(
            select(_S.lookup_key, _S.subject_type, _S.id_sealed).where(_S.id_sealed.not_like(f"{encryption_id}:%"))
            .order_by(_S.lookup_key).limit(limit)).all()]

    def reseal(self, key: str, sealed: str) -> None:
        self._session.execute(update(SubjectRow).where(_S.lookup_key == key).values(id_sealed=sealed))

    def webhooks_sealed_with_older_key(self, encryption_id: str) -> list[tuple[str, str, str]]:
        """(id, sealed secret, sealed pseudonym key) of webhooks with either sealed by another key."""
        current = f"{encryption_id}:%"
        return [tuple(r) for r in self._session.execute(
            select(_W.id, _W.secret_sealed, _W.pseudonym_key_sealed)
            .where(_W.secret_sealed.not_like(current) | _W.pseudonym_key_sealed.not_like(current))).all()]

    def reseal_webhook(self, webhook_id: str, secret_sealed: str, pseudonym_key_sealed: str) -> None:
        self._session.execute(update(WebhookRow).where(_W.id == webhook_id).values(
            secret_sealed=secret_sealed, pseudonym_key_sealed=pseudonym_key_sealed))

    def versions(self) -> dict[str, int]:
        """How many current subjects use each HMAC key id, how many sealed numbers and webhook secrets
        each encryption key id."""
        counts: dict[str, int] = {}

        def count(name: str) -> None:
            counts[name] = counts.get(name, 0) + 1

        for key, sealed, retired in self._session.execute(select(_S.lookup_key, _S.id_sealed, _S.retired_at)):
            if retired is None:
                count(f"lookup {key.split(':', 1)[0]}")
            count(f"sealed {sealed.split(':', 1)[0]}")
        for (sealed,) in self._session.execute(select(_W.secret_sealed)):
            count(f"webhook secrets sealed {sealed.split(':', 1)[0]}")
        return counts
