"""`credit-service keys rotate`: move every stored identity to the current keys (adapters/pii.py).

1. Lookup keys: every `subjects` row whose key was made with an older HMAC key gets a row under the
   current key (sealed with the current encryption key), and every table that names the subject is
   switched to the new key — except `audit_events`: the hash-chained trail is never rewritten (its
   queries match the subject's key under every configured HMAC key). The old `subjects` row is kept,
   marked retired, so that staff still see the number in audit events written before the rotation.
2. Sealed numbers: every `subjects` row sealed with an older encryption key is re-sealed; so are the
   webhooks' sealed secrets and pseudonym keys (the pseudonym keys themselves stay: receivers' matches hold).

Each batch is one transaction (its subjects and every row naming them), so a crash leaves each
subject either wholly old or wholly new; running again carries on where it stopped and does nothing
once everything is current. The status index, the token cache and the keys of running processes
come from their start: run it with the service stopped, then start the service with the new keys.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.orm import sessionmaker

from ..adapters import subjects
from ..adapters.orm import SubjectRow, WebhookRow
from ..adapters.pii import KeyRing
from .webhooks import pseudonym_context, secret_context

# Every column that names a subject by its lookup key, but the audit trail's (see above).
SUBJECT_COLUMNS = (
    ("violations", "id_number"), ("measures", "id_number"), ("notices", "id_number"),
    ("objections", "id_number"), ("repairs", "id_number"), ("measure_events", "id_number"),
    ("expert_recommendations", "id_number"), ("subject_changes", "id_number"),
    ("api_clients", "subject_id_number"), ("evidence_files", "id_number"),
)


@dataclass
class RotationSummary:
    rekeyed: int = 0  # subjects moved to the current HMAC key
    resealed: int = 0  # sealed numbers re-encrypted with the current encryption key
    webhooks: int = 0  # webhooks whose secret and pseudonym key were re-sealed

    def __str__(self) -> str:
        return (f"{self.rekeyed} subjects moved to the current lookup key, {self.resealed} numbers re-sealed, "
                f"{self.webhooks} webhook secrets re-sealed")


def rotate(session_factory: sessionmaker, keyring: KeyRing, now: datetime, batch: int = 2000,
           progress=None) -> RotationSummary:
    """`progress(n)`: called after each batch with the subjects handled so far (re-keyed, then re-sealed)."""
    summary = RotationSummary()
    c = SubjectRow.__table__.c
    while True:
        with session_factory() as session, session.begin():
            old = session.execute(
                select(c.subject_key, c.subject_type, c.id_sealed)
                .where(c.retired_at.is_(None), c.subject_key.not_like(f"{keyring.hmac_id}:%"))
                .order_by(c.subject_key).limit(batch)).all()
            if not old:
                break
            numbers = {key: (subject_type, keyring.open(subject_type, sealed)) for key, subject_type, sealed in old}
            new_keys = subjects.remember(session, keyring, numbers.values())
            mapping = [{"old_key": key, "new_key": new_keys[subject]} for key, subject in numbers.items()]
            _switch(session, mapping)
            session.execute(update(SubjectRow).where(c.subject_key.in_([m["old_key"] for m in mapping]))
                            .values(retired_at=now))
            summary.rekeyed += len(old)
        if progress:
            progress(summary.rekeyed)
    current = f"{keyring.encryption_id}:%"
    while True:
        with session_factory() as session, session.begin():
            stale = session.execute(select(c.subject_key, c.subject_type, c.id_sealed)
                                    .where(c.id_sealed.not_like(current)).order_by(c.subject_key).limit(batch)).all()
            if not stale:
                break
            for key, subject_type, sealed in stale:
                session.execute(update(SubjectRow).where(c.subject_key == key).values(
                    id_sealed=keyring.seal(subject_type, keyring.open(subject_type, sealed))))
            summary.resealed += len(stale)
        if progress:
            progress(summary.rekeyed + summary.resealed)
    w = WebhookRow.__table__.c
    with session_factory() as session, session.begin():
        for webhook_id, secret, pseudonym in session.execute(
                select(w.id, w.secret_sealed, w.pseudonym_key_sealed)
                .where(w.secret_sealed.not_like(current) | w.pseudonym_key_sealed.not_like(current))).all():
            contexts = (secret_context(webhook_id), pseudonym_context(webhook_id))
            session.execute(update(WebhookRow).where(w.id == webhook_id).values(
                secret_sealed=keyring.seal_secret(contexts[0], keyring.open_secret(contexts[0], secret)),
                pseudonym_key_sealed=keyring.seal_secret(contexts[1], keyring.open_secret(contexts[1], pseudonym))))
            summary.webhooks += 1
    return summary


def _switch(session, mapping: list[dict]) -> None:
    """old key → new key in every table of SUBJECT_COLUMNS, through a temporary mapping table (one
    statement per table, whatever the batch size)."""
    session.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS pii_rotation "
                         "(old_key VARCHAR(64) PRIMARY KEY, new_key VARCHAR(64) NOT NULL)"))
    session.execute(text("DELETE FROM pii_rotation"))
    session.execute(text("INSERT INTO pii_rotation (old_key, new_key) VALUES (:old_key, :new_key)"), mapping)
    for table, column in SUBJECT_COLUMNS:
        session.execute(text(
            f"UPDATE {table} SET {column} = (SELECT new_key FROM pii_rotation WHERE old_key = {table}.{column}) "
            f"WHERE {column} IN (SELECT old_key FROM pii_rotation)"))
    session.execute(text("DELETE FROM pii_rotation"))


def key_versions(session_factory: sessionmaker) -> dict[str, int]:
    """How many current subjects use each HMAC key id, and each encryption key id (`keys status`)."""
    c = SubjectRow.__table__.c
    counts: dict[str, int] = {}
    with session_factory() as session:
        for key, sealed, retired in session.execute(select(c.subject_key, c.id_sealed, c.retired_at)):
            if retired is None:
                counts[f"lookup {key.split(':', 1)[0]}"] = counts.get(f"lookup {key.split(':', 1)[0]}", 0) + 1
            counts[f"sealed {sealed.split(':', 1)[0]}"] = counts.get(f"sealed {sealed.split(':', 1)[0]}", 0) + 1
        for (sealed,) in session.execute(select(WebhookRow.secret_sealed)):
            name = f"webhook secrets sealed {sealed.split(':', 1)[0]}"
            counts[name] = counts.get(name, 0) + 1
    return counts
