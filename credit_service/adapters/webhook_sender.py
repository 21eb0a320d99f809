"""POSTs one signed event with requests, to a checked address only.

- No proxy from the environment (`trust_env = False`): HTTP(S)_PROXY set for something else on the
  host must not carry events — or their signatures — through a machine nobody chose for them.
- Every connection resolves the host itself, checks every address (adapters/egress.py) and connects to
  the checked one; TLS still verifies the certificate against the host name, and `Host` names it.
- No redirects: a receiver cannot send the event on to an address that was never checked.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from ..domain.webhooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, signature
from . import egress


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None
    duration_ms: int


class BlockedAddress(NewConnectionError):
    """The host resolved to an address the service may not connect to (not public, not listed)."""


def _guarded(base: type, allow: egress.AllowList) -> type:
    class Guarded(base):
        def _new_conn(self):
            try:
                addresses = egress.checked_addresses(self._dns_host, self.port, allow)
            except egress.BlockedTarget as exc:
                raise BlockedAddress(self, str(exc)) from None
            last: Exception | None = None
            for address in addresses:  # every one of them was checked; try them in the resolver's order
                try:
                    return urllib3_connection.create_connection(
                        (address, self.port), self.timeout, source_address=self.source_address,
                        socket_options=self.socket_options)
                except TimeoutError as exc:
                    last = ConnectTimeoutError(self, f"Connection to {self.host} timed out.")
                    last.__cause__ = exc
                except OSError as exc:
                    last = NewConnectionError(self, f"Failed to establish a new connection: {exc}")
            raise last

    Guarded.__name__ = f"Guarded{base.__name__}"
    return Guarded


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow: egress.AllowList):
        self.allow = allow
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        http = type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": _guarded(HTTPConnection, self.allow)})
        https = type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                     {"ConnectionCls": _guarded(HTTPSConnection, self.allow)})
        self.poolmanager.pool_classes_by_scheme = {"http": http, "https": https}


class WebhookSender:
    def __init__(self, timeout_seconds: float = 5.0, allow: egress.AllowList | None = None,
                 wall_clock: Callable[[], float] = time.time):
        self.timeout = timeout_seconds
        self.wall_clock = wall_clock  # the receiver compares the signed timestamp with its own clock
        self.http = requests.Session()
        self.http.trust_env = False
        adapter = _GuardedAdapter(allow or egress.AllowList())
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)

    def send(self, url: str, secret: str, event_id: str, event_type: str, body: bytes, attempt: int) -> SendResult:
        timestamp = int(self.wall_clock())
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "credit-service-webhooks/1",
                   "X-Credit-Event-Id": event_id, "X-Credit-Event-Type": event_type,
                   "X-Credit-Delivery-Attempt": str(attempt), TIMESTAMP_HEADER: str(timestamp),
                   SIGNATURE_HEADER: signature(secret, timestamp, body)}
        started = time.perf_counter()
        try:
            response = self.http.post(url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False,
                                      proxies={})
            response.close()
            error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
            return SendResult(response.status_code, error, _ms(started))
        except requests.RequestException as exc:
            return SendResult(None, _error_name(exc), _ms(started))

    def close(self) -> None:
        self.http.close()


def _error_name(exc: requests.RequestException) -> str:
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    if isinstance(reason, BlockedAddress):
        return "BlockedAddress"
    return exc.__class__.__name__


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
