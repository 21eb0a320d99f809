"""POSTs one signed event with requests."""
from __future__ import annotations

import time
from dataclasses import dataclass

import requests

from ..domain.webhooks import SIGNATURE_HEADER, signature


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    error: str | None
    duration_ms: int


class WebhookSender:
    def __init__(self, timeout_seconds: float = 5.0):
        self.timeout = timeout_seconds
        self.http = requests.Session()

    def send(self, url: str, secret: str, event_id: str, event_type: str, body: bytes, attempt: int) -> SendResult:
        headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "credit-service-webhooks/1",
                   "X-Credit-Event-Id": event_id, "X-Credit-Event-Type": event_type,
                   "X-Credit-Delivery-Attempt": str(attempt), SIGNATURE_HEADER: signature(secret, body)}
        started = time.perf_counter()
        try:
            response = self.http.post(url, data=body, headers=headers, timeout=self.timeout, allow_redirects=False)
            response.close()
            error = None if 200 <= response.status_code < 300 else f"HTTP {response.status_code}"
            return SendResult(response.status_code, error, _ms(started))
        except requests.RequestException as exc:
            return SendResult(None, exc.__class__.__name__, _ms(started))

    def close(self) -> None:
        self.http.close()


def _ms(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)
