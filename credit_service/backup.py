"""`credit-service backup` and `restore` for the embedded default (SQLite): an online copy of the database
taken with SQLite's backup API (consistent while the service runs), together with the keys without which
the identity numbers in it cannot be read nor its audit trail verified (issue 13).

A backup is a directory, mode 0700:
    credit-service.sqlite3   the database (integrity-checked after the copy)
    keys.json                the keys this service uses (mode 0600): keep the backup as safe as the keys
    audit-anchors.jsonl      the anchor file, if there is one
    manifest.json            when, schema revision, row counts, SHA-256 of each file

PostgreSQL is backed up with PostgreSQL's own tools (docs/deployment.md, "Backups"); its keys live in the
deployment's secret store and are backed up there.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from contextlib import closing
from datetime import datetime, timezone
from pathlib import Path

DATABASE_FILE = "credit-service.sqlite3"
KEYS_FILE = "keys.json"
ANCHORS_FILE = "audit-anchors.jsonl"
MANIFEST_FILE = "manifest.json"
_KEY_FIELDS = ("pii_hmac_keys", "pii_encryption_keys", "audit_mac_keys", "secret_key")


class BackupError(RuntimeError):
    pass


def sqlite_path(database_url: str) -> Path:
    if not database_url.startswith("sqlite:///") or database_url.endswith(":memory:"):
        raise BackupError("CREDIT_SERVICE_DATABASE_URL: `credit-service backup` copies the embedded SQLite "
                          "database; back PostgreSQL up with pg_basebackup or pg_dump and its keys from the "
                          "secret store (docs/deployment.md, \"Backups\")")
    return Path(database_url.split("///", 1)[1])


def backup(settings, target_parent: Path, now: datetime | None = None, progress=None) -> Path:
    """Write a backup directory under `target_parent`; returns it."""
    source = sqlite_path(settings.database_url)
    if not source.exists():
        raise BackupError(f"CREDIT_SERVICE_DATABASE_URL: no database at {source}")
    now = now or datetime.now(timezone.utc)
    target = Path(target_parent) / f"credit-service-backup-{now:%Y%m%dT%H%M%SZ}"
    target.mkdir(parents=True, mode=0o700)
    copy = target / DATABASE_FILE
    # closing(): a sqlite3 connection's own `with` only commits; both are closed before the copy is hashed
    # (a file read while this process holds it open would drop the process's locks on it).
    with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(copy)) as dst:
        # pages=1024 a step: other processes keep writing between steps; SQLite restarts the copy for
        # pages changed meanwhile, so the result is one consistent moment.
        src.backup(dst, pages=1024, progress=(lambda _s, remaining, total: progress(total - remaining, total))
                   if progress else None)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        counts = {name: dst.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
                  for (name,) in dst.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%' ORDER BY name")}
        revision = (dst.execute("SELECT version_num FROM alembic_version").fetchone() or [None])[0] \
            if "alembic_version" in counts else None
    if check != "ok":
        raise BackupError(f"the copy failed SQLite's integrity check: {check}")
    _write_private(target / KEYS_FILE, json.dumps({k: getattr(settings, k) for k in _KEY_FIELDS}, indent=2))
    anchors = Path(settings.audit_anchor_file)
    if anchors.exists():
        shutil.copy2(anchors, target / ANCHORS_FILE)
    files = {p.name: _sha256(p) for p in sorted(target.iterdir())}
    manifest = {"created_at": now.isoformat(), "source": str(source), "revision": revision,
                "row_counts": counts, "sha256": files}
    (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2, ensure_ascii=False), encoding="utf-8")
    return target


def restore(backup_dir: Path, database_url: str, data_dir: Path, anchor_file: Path, force: bool = False) -> dict:
    """Put a backup back: the database file, the keys into the data directory (where the embedded default
    reads them) and the anchor file. Refuses to overwrite a database unless `force`; refuses when keys are
    configured by variables that differ from the backup's (the restored data could not be read)."""
    backup_dir = Path(backup_dir)
    manifest = json.loads((backup_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
    for name, digest in manifest["sha256"].items():
        if _sha256(backup_dir / name) != digest:
            raise BackupError(f"{backup_dir / name}: SHA-256 differs from the manifest (the backup is damaged)")
    keys = json.loads((backup_dir / KEYS_FILE).read_text())
    for field in _KEY_FIELDS:
        variable = f"CREDIT_SERVICE_{field.upper()}"
        if os.environ.get(variable) and os.environ[variable] != keys[field]:
            raise BackupError(f"{variable} is set and differs from the backup's keys: unset it (the restored "
                              f"keys go into {data_dir}) or set it to the backup's value")
    target = sqlite_path(database_url)
    if target.exists() and target.stat().st_size > 0 and not force:
        raise BackupError(f"{target} exists: stop the service and give --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):  # a stale write-ahead log would be replayed onto the restored file
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    temporary = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(backup_dir / DATABASE_FILE, temporary)
    os.replace(temporary, target)
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    _write_private(data_dir / "pii-keys.json", json.dumps({"hmac_keys": keys["pii_hmac_keys"],
                                                           "encryption_keys": keys["pii_encryption_keys"]}))
    _write_private(data_dir / "audit-keys.json", json.dumps({"mac_keys": keys["audit_mac_keys"]}))
    _write_private(data_dir / "secret-key", keys["secret_key"])
    if (backup_dir / ANCHORS_FILE).exists():
        anchor_file.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(backup_dir / ANCHORS_FILE, anchor_file)
    return manifest


def _write_private(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(temporary, path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
