"""Keys of the audit trail's MACs, and the append-only file its anchors go to.

The hash chain alone proves nothing against someone who can write the database: they edit an event and
recompute every later hash. So each event also carries ``"<key id>:" + hex HMAC-SHA256(key,
"audit:<seq>:<hash>")`` under a key the database does not hold, and ``credit-service audit anchor``
appends the signed head of the chain to a file outside the database's reach, which ``audit verify``
checks: deleting the newest events then shows too.

Keys come from CREDIT_SERVICE_AUDIT_MAC_KEYS as ``"a2:<base64 32 bytes>,a1:<base64 32 bytes>"``: the first
signs, the later ones only verify (events and anchors keep the id of the key they were signed with).
Without the variable, a key is generated once into the data directory (``audit-keys.json``, mode
0600), as for the identity-number keys — a production deployment sets the variable from its secret store.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from pathlib import Path

from .pii import new_key_text, parse_keys

ENV = "CREDIT_SERVICE_AUDIT_MAC_KEYS"


class AuditKeys:
    def __init__(self, keys: list[tuple[str, bytes]]):
        self.keys = dict(keys)
        self.current_id = keys[0][0]
        # HMAC-SHA256 (RFC 2104) with each key's pad states computed once: a third of hmac.new's time per
        # event, which every append and every verify pays (as pii.KeyRing does for lookup keys).
        self._pads = {key_id: (hashlib.sha256(bytes(b ^ 0x36 for b in key.ljust(64, b"\0"))),
                               hashlib.sha256(bytes(b ^ 0x5C for b in key.ljust(64, b"\0"))))
                      for key_id, key in keys}

    @classmethod
    def from_text(cls, text: str) -> "AuditKeys":
        return cls(parse_keys(text, ENV))

    @classmethod
    def from_settings(cls, settings) -> "AuditKeys":
        return cls.from_text(settings.audit_mac_keys)

    def _sign(self, key_id: str, message: str) -> str:
        inner, outer = self._pads[key_id]
        inner, outer = inner.copy(), outer.copy()
        inner.update(message.encode())
        outer.update(inner.digest())
        return f"{key_id}:" + outer.hexdigest()

    def _check(self, mac: str | None, message: str) -> str | None:
        """None when the MAC fits; else "missing", "unknown:<id>" or "mismatch:<id>"."""
        if not mac or ":" not in mac:
            return "missing"
        key_id = mac.split(":", 1)[0]
        if key_id not in self.keys:
            return f"unknown:{key_id}"
        return None if hmac.compare_digest(self._sign(key_id, message), mac) else f"mismatch:{key_id}"

    # -- events --------------------------------------------------------------------------------------
    def event_mac(self, seq: int, digest: str) -> str:
        return self._sign(self.current_id, f"audit:{seq}:{digest}")

    def check_event(self, seq: int, digest: str, mac: str | None) -> str | None:
        return self._check(mac, f"audit:{seq}:{digest}")

    # -- anchors -------------------------------------------------------------------------------------
    @staticmethod
    def _anchor_message(seq: int, digest: str, mac: str, at: str) -> str:
        return f"anchor:{seq}:{digest}:{mac}:{at}"

    def sign_anchor(self, seq: int, digest: str, mac: str, at: str) -> str:
        return self._sign(self.current_id, self._anchor_message(seq, digest, mac, at))

    def check_anchor(self, seq: int, digest: str, mac: str, at: str, signature: str | None) -> str | None:
        return self._check(signature, self._anchor_message(seq, digest, mac, at))


def default_key_file(data_dir: Path) -> Path:
    return Path(data_dir) / "audit-keys.json"


def load_or_create_default_key(data_dir: Path) -> str:
    """For an embedded install only: a key made once, kept in the data directory (mode 0600)."""
    path = default_key_file(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(json.dumps({"mac_keys": new_key_text("a1")}))
        try:
            os.link(temporary, path)  # atomic: a second process starting at once keeps the first one's key
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return json.loads(path.read_text())["mac_keys"]


# -- the anchor file: one JSON line per anchor, only ever appended to --------------------------------

def append_anchor(path: Path, record: dict) -> None:
    """Append one line and fsync it. O_APPEND: concurrent writers never overwrite each other. Make the
    file append-only at the OS level (chattr +a) or ship it elsewhere: the service only appends."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_anchors(path: Path) -> list[tuple[int, dict | None]]:
    """(line number, record or None when the line is not a JSON object); [] when there is no file."""
    path = Path(path)
    if not path.exists():
        return []
    lines = []
    for number, text in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except ValueError:
            record = None
        lines.append((number, record if isinstance(record, dict) else None))
    return lines


# -- the keys this process uses (set by build_container; the migrations read them here) ---------------
_current: AuditKeys | None = None


def use(keys: AuditKeys) -> None:
    global _current
    _current = keys


def current() -> AuditKeys:
    global _current
    if _current is None:
        from ..settings import Settings
        _current = AuditKeys.from_settings(Settings.from_env())
    return _current
