"""Keys that cannot diverge: every process compares its keys with check values stored in the database.

Two nodes on one database with different identity-number keys compute different lookup keys for the same
person, and so answer differently with no error at all (issue 13). The table ``key_checks`` holds, per
kind of key, ``{key id: HMAC-SHA256(key, "credit-service key check")[:16]}`` — a value that tells
whether a key is the same without revealing it. At start, a process:

- refuses when a key it has under a known id is not the key recorded under that id;
- refuses when the database already knows keys of a kind and none of the process's keys is one of them
  (a node set up with freshly generated keys of its own);
- records keys it has that the database does not know yet, as long as one known key is among them
  (the first node on an empty database; a rotation that puts a new key in front of the old ones).

The message is one line that names the variable and says what to do.
"""
from __future__ import annotations

import hmac
import json
import logging
from datetime import datetime, timezone

from sqlalchemy import inspect, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from .orm import KeyCheckRow

log = logging.getLogger(__name__)

_MESSAGE = b"credit-service key check"
VARIABLES = {"pii_hmac": "CREDIT_SERVICE_PII_HMAC_KEYS", "pii_encryption": "CREDIT_SERVICE_PII_ENCRYPTION_KEYS",
             "audit_mac": "CREDIT_SERVICE_AUDIT_MAC_KEYS"}
_LABELS = {"pii_hmac": "查询密钥", "pii_encryption": "加密密钥", "audit_mac": "MAC密钥"}
_WHAT_TO_DO = ("set the same keys on every node and command as the ones this database was written with "
               "(docs/deployment.md, \"Keys\")")


class KeyMismatch(RuntimeError):
    """The configured keys are not the ones this database was written with."""


def check_value(key: bytes) -> str:
    return hmac.digest(key, _MESSAGE, "sha256")[:16].hex()


def configured_checks(keyring, audit_keys) -> dict[str, dict[str, str]]:
    """{kind: {key id: check value}} of the keys this process has."""
    checks = {"pii_hmac": {i: check_value(k) for i, k in keyring.hmac_keys},
              "pii_encryption": {i: check_value(k) for i, k in keyring.encryption_keys}}
    if audit_keys is not None:
        checks["audit_mac"] = {i: check_value(k) for i, k in audit_keys.keys.items()}
    return checks


def compare(kind: str, recorded: dict[str, str], configured: dict[str, str]) -> None:
    """Raise KeyMismatch when `configured` may not be used with a database that recorded `recorded`."""
    variable, label = VARIABLES[kind], _LABELS[kind]
    for key_id, check in configured.items():
        if key_id in recorded and not hmac.compare_digest(recorded[key_id], check):
            raise KeyMismatch(f"{variable}: {label} {key_id} 与本数据库写入时所用的不同 (key {key_id} differs "
                              f"from the one this database was written with); {_WHAT_TO_DO}")
    if recorded and not set(recorded) & set(configured):
        known = ", ".join(sorted(recorded))
        raise KeyMismatch(f"{variable}: {label} {known} 未配置 (this database was written with key(s) {known}, "
                          f"none of which is configured); {_WHAT_TO_DO}")


def verify_and_record(engine: Engine, keyring, audit_keys, now: datetime | None = None) -> None:
    """Compare this process's keys with the database's check values, recording new ones; KeyMismatch if
    they do not fit. Before the migration that makes the table (`db upgrade` not yet run) nothing is checked."""
    if not inspect(engine).has_table(KeyCheckRow.__tablename__):
        log.warning("key check skipped: the database has no key_checks table yet (run `credit-service db upgrade`)")
        return
    now = now or datetime.now(timezone.utc)
    for kind, configured in configured_checks(keyring, audit_keys).items():
        for attempt in range(3):  # another process may record the same kind at the same moment
            try:
                _verify_kind(engine, kind, configured, now, keyring)
                break
            except IntegrityError:
                if attempt == 2:
                    raise


def _verify_kind(engine: Engine, kind: str, configured: dict[str, str], now: datetime, keyring) -> None:
    with engine.begin() as connection:
        row = connection.execute(select(KeyCheckRow.checks).where(KeyCheckRow.kind == kind)
                                 .with_for_update()).first()
        recorded = json.loads(row.checks) if row else {}
        compare(kind, recorded, configured)
        if row is None and kind in ("pii_hmac", "pii_encryption"):
            check_against_stored_subject(connection, kind, keyring)
        new = {i: c for i, c in configured.items() if i not in recorded}
        if not new:
            return
        merged = json.dumps({**recorded, **new}, sort_keys=True)
        table = KeyCheckRow.__table__
        if row is None:
            connection.execute(table.insert().values(kind=kind, checks=merged, updated_at=now))
        else:
            connection.execute(table.update().where(table.c.kind == kind).values(checks=merged, updated_at=now))
        log.info("key check: recorded %s key(s) %s", kind, ", ".join(sorted(new)))


def check_against_stored_subject(connection, kind: str, keyring) -> None:
    """No check value yet but identities stored (a database from before check values): the keys must open
    a stored number and give its lookup key, or they are not the keys it was written with."""
    from cryptography.exceptions import InvalidTag

    from .orm import SubjectRow
    stored = connection.execute(select(SubjectRow.lookup_key, SubjectRow.subject_type, SubjectRow.id_sealed)
                                .where(SubjectRow.retired_at.is_(None)).limit(1)).first()
    if stored is None:
        return
    key, subject_type, sealed = stored
    try:
        number = keyring.open(subject_type, sealed)
    except (InvalidTag, KeyError, ValueError):
        raise KeyMismatch(f"{VARIABLES['pii_encryption']}: {_LABELS['pii_encryption']} 打不开本数据库已存的身份证号 "
                          f"(the configured keys do not open the identity numbers stored in this database); "
                          f"{_WHAT_TO_DO}") from None
    if kind == "pii_hmac":
        key_id = key.split(":", 1)[0]
        lookup = dict(keyring.hmac_keys).get(key_id)
        expected = None if lookup is None else f"{key_id}:" + _b64(hmac.digest(lookup, f"{subject_type}:{number}".encode(),
                                                                            "sha256"))
        if expected != key:
            raise KeyMismatch(f"{VARIABLES['pii_hmac']}: {_LABELS['pii_hmac']} {key_id} 与本数据库写入时所用的不同 "
                              f"(the stored lookup keys were made with another key {key_id}); {_WHAT_TO_DO}")


def _b64(data: bytes) -> str:
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
