"""Per-client token buckets: `rate` requests a second sustained, `burst` at once.

Pure and in-process: each worker limits on its own, so with N workers a client may get up to N times
the rate in total (the server spreads connections over the workers). The bound matters for runaway
loops, not for fairness to the request; a shared limit would cost a database round trip per request.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Limit:
    rate: float   # tokens added per second
    burst: float  # bucket size

    @classmethod
    def parse(cls, text: str) -> "Limit | None":
        """"RATE/BURST" (e.g. "200/400"), "RATE" (burst = 2 × rate), or "off"."""
        text = text.strip().lower()
        if text in ("", "off", "0", "none"):
            return None
        rate, _, burst = text.partition("/")
        try:
            limit = cls(float(rate), float(burst) if burst else 2 * float(rate))
        except ValueError:
            raise ValueError(f"rate limit {text!r}: write RATE/BURST in requests per second "
                             f"(e.g. 500/1000), RATE, or off") from None
        if limit.rate <= 0 or limit.burst < 1:
            raise ValueError(f"rate limit {text!r}: rate must be > 0 and burst >= 1")
        return limit


class RateLimiter:
    MAX_KEYS = 100_000  # unauthenticated callers are keyed by address: bound the memory they can take

    def __init__(self, default: Limit | None, overrides: dict[str, Limit | None] | None = None,
                 now: Callable[[], float] = time.monotonic, anonymous: Limit | None = None):
        self.default = default
        self.overrides = overrides or {}
        # Callers without a token this process knows (per address): the stricter of the two limits.
        self.anonymous = stricter(default, anonymous)
        self._now = now
        self._buckets: dict[str, list[float]] = {}  # key -> [tokens, last refill time]
        self._lock = threading.Lock()

    def limit_for(self, client_name: str | None) -> Limit | None:
        if client_name is not None and client_name in self.overrides:
            return self.overrides[client_name]
        return self.default

    def take(self, key: str, limit: Limit | None) -> float:
        """0.0 if the request may proceed, else how many seconds until it could."""
        if limit is None:
            return 0.0
        now = self._now()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                if len(self._buckets) >= self.MAX_KEYS:
                    self._buckets.clear()
                bucket = self._buckets[key] = [limit.burst, now]
            tokens = min(limit.burst, bucket[0] + (now - bucket[1]) * limit.rate)
            bucket[1] = now
            if tokens >= 1.0:
                bucket[0] = tokens - 1.0
                return 0.0
            bucket[0] = tokens
            return (1.0 - tokens) / limit.rate


    def refund(self, key: str, limit: Limit | None) -> None:
        """Give back one request taken from this bucket (it was charged to another one instead)."""
        if limit is None:
            return
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is not None:
                bucket[0] = min(limit.burst, bucket[0] + 1.0)


def stricter(a: Limit | None, b: Limit | None) -> Limit | None:
    """The lower rate and the lower burst of two limits (None: no limit)."""
    if a is None or b is None:
        return a or b
    return Limit(min(a.rate, b.rate), min(a.burst, b.burst))


def retry_after_header(wait: float) -> str:
    return str(max(1, math.ceil(wait)))


def parse_overrides(text: str) -> dict[str, Limit | None]:
    """"name=RATE/BURST,other=off" → per-client-name limits."""
    overrides: dict[str, Limit | None] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, spec = part.partition("=")
        overrides[name.strip()] = Limit.parse(spec)
    return overrides
