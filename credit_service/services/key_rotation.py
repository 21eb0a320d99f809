"""`credit-service keys rotate`: move every stored identity to the current keys (adapters/pii.py).

1. Lookup keys: every `subjects` row whose key was made with an older HMAC key gets a row under the
   current key (sealed with the current encryption key), and every table that names the subject is
   switched to the new key — except `audit_events`: the hash-chained trail is never rewritten (its
   queries match the subject's key under every configured HMAC key). The old `subjects` row is kept,
   marked retired, so that staff still see the number in audit events written before the rotation.
2. Sealed numbers: every `subjects` row sealed with an older encryption key is re-sealed; so are the
   webhooks' sealed secrets and pseudonym keys (the pseudonym keys themselves stay: receivers' matches hold).

Each batch is one unit of work (its subjects and every row naming them), so a crash leaves each
subject either wholly old or wholly new; running again carries on where it stopped and does nothing
once everything is current. The status index, the token cache and the keys of running processes
come from their start: run it with the service stopped, then start the service with the new keys.
The rows are read and written through the unit of work's `key_rotation` repository
(adapters/key_store.py); `keyring` is the keys the unit of work's own repositories use.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from ..adapters.pii import KeyRing
from .unit_of_work import UnitOfWork
from .webhooks import pseudonym_context, secret_context


@dataclass
class RotationSummary:
    rekeyed: int = 0  # subjects moved to the current HMAC key
    resealed: int = 0  # sealed numbers re-encrypted with the current encryption key
    webhooks: int = 0  # webhooks whose secret and pseudonym key were re-sealed

    def __str__(self) -> str:
        return (f"{self.rekeyed} subjects moved to the current lookup key, {self.resealed} numbers re-sealed, "
                f"{self.webhooks} webhook secrets re-sealed")


def rotate(uow_factory: Callable[[], UnitOfWork], keyring: KeyRing, now: datetime, batch: int = 2000,
           progress=None) -> RotationSummary:
    """`progress(n)`: called after each batch with the subjects handled so far (re-keyed, then re-sealed)."""
    summary = RotationSummary()
    while True:
        with uow_factory() as uow:
            old = uow.key_rotation.under_older_lookup_key(keyring.hmac_id, batch)
            if not old:
                break
            numbers = {key: (subject_type, keyring.open(subject_type, sealed)) for key, subject_type, sealed in old}
            new_keys = uow.subjects.remember(numbers.values())
            uow.key_rotation.switch([{"old_key": key, "new_key": new_keys[subject]}
                                     for key, subject in numbers.items()])
            uow.key_rotation.retire(list(numbers), now)
            uow.commit()
            summary.rekeyed += len(old)
        if progress:
            progress(summary.rekeyed)
    while True:
        with uow_factory() as uow:
            stale = uow.key_rotation.sealed_with_older_key(keyring.encryption_id, batch)
            if not stale:
                break
            for key, subject_type, sealed in stale:
                uow.key_rotation.reseal(key, keyring.seal(subject_type, keyring.open(subject_type, sealed)))
            uow.commit()
            summary.resealed += len(stale)
        if progress:
            progress(summary.rekeyed + summary.resealed)
    with uow_factory() as uow:
        for webhook_id, secret, pseudonym in uow.key_rotation.webhooks_sealed_with_older_key(keyring.encryption_id):
            contexts = (secret_context(webhook_id), pseudonym_context(webhook_id))
            uow.key_rotation.reseal_webhook(
                webhook_id, keyring.seal_secret(contexts[0], keyring.open_secret(contexts[0], secret)),
                keyring.seal_secret(contexts[1], keyring.open_secret(contexts[1], pseudonym)))
            summary.webhooks += 1
        uow.commit()
    return summary


def key_versions(uow: UnitOfWork) -> dict[str, int]:
    """How many current subjects use each HMAC key id, and each encryption key id (`keys status`)."""
    with uow:
        return uow.key_rotation.versions()
