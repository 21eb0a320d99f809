"""Issue 9, finding 4: webhook targets must be public addresses unless the operator listed them."""
from __future__ import annotations

import ipaddress

import pytest

from credit_service.adapters import egress
from credit_service.adapters.egress import AllowList, BlockedTarget, checked_addresses, non_public


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.8.8.8", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.0.1", "169.254.169.254",
    "0.0.0.0", "0.1.2.3", "100.64.0.1", "192.0.0.8", "198.18.0.1", "224.0.0.1", "239.255.255.250",
    "240.0.0.1", "255.255.255.255", "192.0.2.1", "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1",
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::1", "64:ff9b::a00:1",
    "2001:db8::1",
])
def test_finding_4_addresses_that_are_not_public(address):
    assert non_public(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "114.114.114.114", "2606:4700:4700::1111",
                                     "::ffff:8.8.8.8", "64:ff9b::808:808"])
def test_finding_4_public_addresses(address):
    assert non_public(ipaddress.ip_address(address)) is None


def test_finding_4_an_answer_mixing_public_and_private_addresses_is_refused(monkeypatch):
    monkeypatch.setattr(egress, "resolve", lambda host, port: ["93.184.216.34", "10.0.0.7"])
    with pytest.raises(BlockedTarget, match="10.0.0.7"):
        checked_addresses("mixed.example", 443, AllowList())
    assert checked_addresses("mixed.example", 443, AllowList.parse("10.0.0.0/8")) == ["93.184.216.34", "10.0.0.7"]
    assert checked_addresses("mixed.example", 443, AllowList.parse("Mixed.Example.")) == ["93.184.216.34",
                                                                                          "10.0.0.7"]


def test_finding_4_a_name_that_does_not_resolve_is_refused(monkeypatch):
    def fail(host, port):
        raise OSError("no such name")
    monkeypatch.setattr(egress, "resolve", fail)
    with pytest.raises(BlockedTarget, match="无法解析"):
        checked_addresses("nowhere.example", 80, AllowList.parse("nowhere.example"))


@pytest.mark.parametrize("text", ["http://x", "a/b/c", "user@host", "[::1]", "300.1.1.1/8 x"])
def test_finding_4_a_malformed_allow_list_stops_start_up(text):
    with pytest.raises(ValueError):
        AllowList.parse(text)


def test_finding_4_urls_with_credentials_or_other_schemes_are_refused():
    allow = AllowList.parse("127.0.0.1")
    assert egress.check_url("http://127.0.0.1:9/h", allow) is None
    assert egress.check_url("http://u:p@127.0.0.1:9/h", allow) is not None
    assert egress.check_url("file:///etc/passwd", allow) is not None
    assert egress.check_url("http://127.0.0.1:99999/h", allow) is not None
