"""Identity numbers at rest (PIPL): a keyed lookup hash and authenticated encryption.

- Lookup key: ``"<hmac key id>:" + base64url(HMAC-SHA256(key, "subject_type:id_number"))`` (no padding).
  Every table stores it where it once stored the number; the status index is keyed by it. One HMAC
  per identity number (about 1 µs), so the status check stays SQL- and decryption-free.
- Sealed number: ``"<encryption key id>:" + base64url(nonce ‖ AES-256-GCM(number))``, the subject type
  as associated data (a sealed number moved to another subject type fails to open). Kept only in
  the ``subjects`` table, for the staff who may see numbers.

Keys come from configuration as ``"k2:<base64 32 bytes>,k1:<base64 32 bytes>"``: the first is the
current key (writes, lookups); later ones are kept for reading (sealed numbers) and for audit queries
(lookup keys stored in the hash-chained trail are never rewritten). ``credit-service keys rotate``
moves everything to the current keys (services/key_rotation.py).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
from binascii import b2a_base64
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_KEY_ID = re.compile(r"[a-z0-9]{1,8}")
_URL_SAFE = bytes.maketrans(b"+/", b"-_")


class KeyConfigError(ValueError):
    pass


def parse_keys(text: str, what: str) -> list[tuple[str, bytes]]:
    """``"k2:base64,k1:base64"`` → [(id, 32 bytes), …], the current key first."""
    keys: list[tuple[str, bytes]] = []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        if not sep or not _KEY_ID.fullmatch(key_id):
            raise KeyConfigError(f"{what}: each key must be ID:BASE64 with ID of 1–8 [a-z0-9] characters")
        try:
            standard = encoded.replace("-", "+").replace("_", "/")  # base64 or base64url
            raw = base64.b64decode(standard + "=" * (-len(standard) % 4), validate=True)
        except ValueError:
            raise KeyConfigError(f"{what}: key {key_id} is not base64") from None
        if len(raw) != 32:
            raise KeyConfigError(f"{what}: key {key_id} must be 32 bytes (256 bits), got {len(raw)}")
        if key_id in (k for k, _ in keys):
            raise KeyConfigError(f"{what}: key id {key_id} appears twice")
        keys.append((key_id, raw))
    if not keys:
        raise KeyConfigError(f"{what}: no key configured")
    return keys


def new_key_text(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class KeyRing:
    """The configured keys; computes lookup keys and seals/opens identity numbers."""

    def __init__(self, hmac_keys: list[tuple[str, bytes]], encryption_keys: list[tuple[str, bytes]]):
        self.hmac_keys = list(hmac_keys)
        self.encryption_keys = list(encryption_keys)
        self.hmac_id, self._hmac_key = self.hmac_keys[0]
        # HMAC-SHA256 (RFC 2104) with the key's inner and outer states computed once: half the time of
        # hmac.digest per call, on the status-check path.
        block = self._hmac_key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self.encryption_id, _ = self.encryption_keys[0]
        self._aead = {key_id: AESGCM(key) for key_id, key in self.encryption_keys}
        self._prefix = self.hmac_id + ":"

    @classmethod
    def from_text(cls, hmac_keys: str, encryption_keys: str) -> "KeyRing":
        return cls(parse_keys(hmac_keys, "CREDIT_SERVICE_PII_HMAC_KEYS"),
                   parse_keys(encryption_keys, "CREDIT_SERVICE_PII_ENCRYPTION_KEYS"))

    @classmethod
    def from_settings(cls, settings) -> "KeyRing":
        return cls.from_text(settings.pii_hmac_keys, settings.pii_encryption_keys)

    # -- lookup keys ---------------------------------------------------------------------------------
    def lookup_key(self, subject_type: str, id_number: str) -> str:
        """The current lookup key (the hot path: one HMAC, under 1 µs)."""
        inner = self._inner.copy()
        inner.update(f"{subject_type}:{id_number}".encode())
        outer = self._outer.copy()
        outer.update(inner.digest())
        return self._prefix + b2a_base64(outer.digest(), newline=False)[:43].translate(_URL_SAFE).decode()

    def lookup_keys(self, subject_type: str, id_number: str) -> list[str]:
        """The lookup key under every configured HMAC key (audit queries: the trail is never rewritten)."""
        message = f"{subject_type}:{id_number}".encode()
        return [f"{key_id}:{_b64(hmac.digest(key, message, 'sha256'))}" for key_id, key in self.hmac_keys]

    def is_current_lookup(self, lookup_key: str) -> bool:
        return lookup_key.startswith(self._prefix)

    # -- sealed numbers ------------------------------------------------------------------------------
    def seal(self, subject_type: str, id_number: str) -> str:
        nonce = os.urandom(12)
        box = self._aead[self.encryption_id].encrypt(nonce, id_number.encode(), subject_type.encode())
        return f"{self.encryption_id}:{_b64(nonce + box)}"

    def open(self, subject_type: str, sealed: str) -> str:
        """The number; raises cryptography.exceptions.InvalidTag if the text was altered or moved,
        KeyError if its key is no longer configured."""
        key_id, _, body = sealed.partition(":")
        raw = _unb64(body)
        return self._aead[key_id].decrypt(raw[:12], raw[12:], subject_type.encode()).decode()

    def is_current_seal(self, sealed: str) -> bool:
        return sealed.startswith(self.encryption_id + ":")

    # -- other secrets at rest (webhook secrets and pseudonym keys) ----------------------------------
    # The same sealing; `context` (e.g. "webhook-secret:<id>") is the associated data, so a sealed
    # value copied to another row or purpose does not open.
    def seal_secret(self, context: str, secret: str) -> str:
        return self.seal(context, secret)

    def open_secret(self, context: str, sealed: str) -> str:
        return self.open(context, sealed)


# -- the embedded default: keys generated once into the data directory ---------------------------------

def key_file(data_dir: Path) -> Path:
    return Path(data_dir) / "pii-keys.json"


def load_or_create_default_keys(data_dir: Path) -> dict[str, str]:
    """For `./dev serve` on a fresh machine only: keys made once, kept in var/pii-keys.json (mode 0600).
    A production deployment sets CREDIT_SERVICE_PII_HMAC_KEYS and CREDIT_SERVICE_PII_ENCRYPTION_KEYS."""
    path = key_file(data_dir)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        content = json.dumps({"hmac_keys": new_key_text("h1"), "encryption_keys": new_key_text("e1")})
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(content)
        try:
            os.link(temporary, path)  # atomic: a second process starting at once keeps the first one's keys
        except FileExistsError:
            pass
        finally:
            os.unlink(temporary)
    return json.loads(path.read_text())


# -- the keys the migrations use (set by build_container; a migration run without one reads the settings).
# Everything else is given its key ring: the unit of work, the status index, the token API.
_current: KeyRing | None = None


def use(keyring: KeyRing) -> None:
    global _current
    _current = keyring


def ring() -> KeyRing:
    global _current
    if _current is None:
        from ..settings import Settings
        _current = KeyRing.from_settings(Settings.from_env())
    return _current
