"""Where webhooks may be sent: public addresses only, unless the operator listed the host or network in
CREDIT_SERVICE_WEBHOOK_ALLOWED_HOSTS (comma-separated host names, addresses or CIDRs).

Checked twice: when a webhook is registered, and on every connection the sender opens — DNS may have
changed in between (rebinding). The sender connects to the very address it checked (webhook_sender.py),
never resolving the name a second time.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class BlockedTarget(Exception):
    """The target is not one the service may connect to; `str()` says why, in Chinese."""


@dataclass(frozen=True)
class AllowList:
    hosts: frozenset[str] = frozenset()
    networks: tuple = ()

    @classmethod
    def parse(cls, text: str | None) -> "AllowList":
        """"hooks.internal, 10.0.0.0/8, 127.0.0.1" → AllowList; raises ValueError on a malformed entry."""
        hosts, networks = set(), []
        for entry in (e.strip() for e in (text or "").split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            name = entry.lower().rstrip(".")
            if not name or any(c in name for c in "/:@ ") or name.startswith("["):
                raise ValueError(f"CREDIT_SERVICE_WEBHOOK_ALLOWED_HOSTS: not a host name, address or CIDR: {entry!r}")
            hosts.add(name)
        return cls(frozenset(hosts), tuple(networks))

    def allows_host(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def allows_address(self, address: Address) -> bool:
        return any(address in network for network in self.networks)


def non_public(address: Address) -> str | None:
    """Why this address is not a public one (Chinese), or None when it is."""
    if isinstance(address, ipaddress.IPv6Address):
        # An IPv4 address carried in IPv6 (mapped, NAT64, 6to4) reaches that IPv4 host: judge it as such.
        inner = address.ipv4_mapped or address.sixtofour or (
            ipaddress.IPv4Address(int(address) & 0xFFFFFFFF) if address in _NAT64 else None)
        if inner is not None:
            reason = non_public(inner)
            return f"内嵌IPv4{reason}" if reason else None
        for teredo in address.teredo or ():
            if reason := non_public(teredo):
                return f"内嵌IPv4{reason}"
    for attribute, reason in (("is_unspecified", "未指定地址"), ("is_loopback", "回环地址"),
                              ("is_link_local", "链路本地地址"), ("is_multicast", "组播地址"),
                              ("is_private", "私有地址"), ("is_reserved", "保留地址")):
        if getattr(address, attribute):
            return reason
    if not address.is_global or any(address in network for network in _SPECIAL):
        return "非公网地址"
    return None


# Special-purpose ranges that some Python versions still call global (IANA: not globally reachable).
_SPECIAL = (ipaddress.ip_network("192.0.0.0/24"),)


def resolve(host: str, port: int) -> list[str]:
    """Every address the name resolves to (an address literal resolves to itself)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def checked_addresses(host: str, port: int, allow: AllowList) -> list[str]:
    """The addresses to connect to, all of them allowed; BlockedTarget if the name does not resolve or
    any of its addresses is not public and not listed (an answer mixing both is refused whole)."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError) as exc:
        raise BlockedTarget(f"无法解析主机 {host}（{exc.__class__.__name__}）。") from None
    if not addresses:
        raise BlockedTarget(f"无法解析主机 {host}。")
    if allow.allows_host(host):
        return addresses
    for text in addresses:
        address = ipaddress.ip_address(text.split("%", 1)[0])  # an IPv6 zone id names no other host
        if (reason := non_public(address)) and not allow.allows_address(address):
            raise BlockedTarget(f"目标地址 {address} 为{reason}，不得推送（除非列入 "
                                "CREDIT_SERVICE_WEBHOOK_ALLOWED_HOSTS）。")
    return addresses


def check_url(url: str, allow: AllowList) -> str | None:
    """At registration: why this URL may not be a webhook target (Chinese), or None."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "地址格式无效。"
    if parts.scheme not in ("http", "https") or not host:
        return "须为 http:// 或 https:// 开头的完整地址。"
    if parts.username is not None or parts.password is not None:
        return "地址中不得包含用户名或密码（用签名密钥认证）。"
    try:
        checked_addresses(host, port or (443 if parts.scheme == "https" else 80), allow)
    except BlockedTarget as exc:
        return str(exc)
    return None
