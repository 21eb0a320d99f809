"""Issue 9, finding 12: the audit trail's MAC keys and the anchor file."""
from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from credit_service.adapters import audit_keys
from credit_service.adapters.audit_keys import AuditKeys
from credit_service.adapters.pii import KeyConfigError
from tests.factories import TEST_AUDIT_KEYS

NEW = "a2:" + base64.b64encode(b"n" * 32).decode()


def test_the_mac_is_hmac_sha256_of_seq_and_hash():
    keys = AuditKeys.from_text(TEST_AUDIT_KEYS)
    key_id, encoded = TEST_AUDIT_KEYS.split(":")
    for seq, digest in ((1, "0" * 64), (987654321, "ab" * 32)):
        expected = hmac.new(base64.b64decode(encoded), f"audit:{seq}:{digest}".encode(), hashlib.sha256).hexdigest()
        assert keys.event_mac(seq, digest) == f"{key_id}:{expected}"
        assert keys.check_event(seq, digest, keys.event_mac(seq, digest)) is None
    assert keys.check_event(2, "0" * 64, keys.event_mac(1, "0" * 64)) == f"mismatch:{key_id}"  # seq is covered
    assert keys.check_event(1, "0" * 64, None) == "missing"


def test_a_rotated_key_signs_and_the_old_one_still_verifies():
    old, both = AuditKeys.from_text(TEST_AUDIT_KEYS), AuditKeys.from_text(f"{NEW},{TEST_AUDIT_KEYS}")
    assert both.event_mac(1, "0" * 64).startswith("a2:")
    assert both.check_event(1, "0" * 64, old.event_mac(1, "0" * 64)) is None
    assert old.check_event(1, "0" * 64, both.event_mac(1, "0" * 64)) == "unknown:a2"
    anchor = both.sign_anchor(5, "f" * 64, "a2:x", "2026-11-26T12:00:00+08:00")
    assert both.check_anchor(5, "f" * 64, "a2:x", "2026-11-26T12:00:00+08:00", anchor) is None
    assert both.check_anchor(5, "f" * 64, "a2:x", "2026-11-26T12:00:01+08:00", anchor) == "mismatch:a2"
    with pytest.raises(KeyConfigError):
        AuditKeys.from_text("")


def test_the_default_key_is_made_once_in_the_data_directory(tmp_path):
    first = audit_keys.load_or_create_default_key(tmp_path)
    assert audit_keys.load_or_create_default_key(tmp_path) == first and first.startswith("a1:")
    assert (audit_keys.default_key_file(tmp_path).stat().st_mode & 0o777) == 0o600
    AuditKeys.from_text(first)


def test_anchors_are_appended_one_line_each(tmp_path):
    path = tmp_path / "sub" / "anchors.jsonl"
    assert audit_keys.read_anchors(path) == []
    audit_keys.append_anchor(path, {"seq": 1})
    audit_keys.append_anchor(path, {"seq": 2})
    with path.open("a") as f:
        f.write("not json\n")
    assert audit_keys.read_anchors(path) == [(1, {"seq": 1}), (2, {"seq": 2}), (3, None)]
    assert (path.stat().st_mode & 0o777) == 0o600
