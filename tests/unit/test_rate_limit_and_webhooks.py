"""Pure parts of operations and change push: token buckets, back-off, signatures."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest

from credit_service.domain.webhooks import event_id, next_attempt, signature, subject_key
from credit_service.rate_limit import Limit, RateLimiter, parse_overrides, retry_after_header


class FakeTime:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_bucket_allows_the_burst_then_the_rate_and_says_how_long_to_wait():
    clock = FakeTime()
    limiter = RateLimiter(Limit(rate=2, burst=3), now=clock)
    assert [limiter.take("a", limiter.default) for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = limiter.take("a", limiter.default)
    assert wait == pytest.approx(0.5) and retry_after_header(wait) == "1"
    assert limiter.take("b", limiter.default) == 0.0  # another client, another bucket
    clock.now += 0.5
    assert limiter.take("a", limiter.default) == 0.0
    assert limiter.take("a", limiter.default) > 0
    clock.now += 100  # refills up to the burst, not beyond
    assert [limiter.take("a", limiter.default) == 0.0 for _ in range(4)] == [True, True, True, False]


def test_limits_parse_and_overrides_by_client_name():
    assert Limit.parse("200/400") == Limit(200, 400)
    assert Limit.parse("50") == Limit(50, 100)
    assert Limit.parse("off") is None and Limit.parse("0") is None
    with pytest.raises(ValueError):
        Limit.parse("-1/5")
    limiter = RateLimiter(Limit(1, 1), parse_overrides("loader=off, fast=100/200"))
    assert limiter.limit_for("loader") is None and limiter.limit_for("fast") == Limit(100, 200)
    assert limiter.limit_for("other") == Limit(1, 1) and limiter.limit_for(None) == Limit(1, 1)
    assert limiter.take("loader", limiter.limit_for("loader")) == 0.0


def test_back_off_doubles_is_capped_and_ends_in_dead_letter():
    t0 = datetime(2026, 11, 26, tzinfo=timezone.utc)
    delays = [next_attempt(t0, n, 10, 12) for n in range(1, 13)]
    assert [d - t0 for d in delays[:4]] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert delays[10] - t0 == timedelta(hours=1)  # 10 × 2^10 s would be 2.8 h
    assert delays[11] is None


def test_signature_and_subject_key_are_hmac_sha256():
    body = '{"event_id":"chg-7"}'.encode()
    assert signature("k" * 16, body) == "sha256=" + hmac.new(b"k" * 16, body, hashlib.sha256).hexdigest()
    assert subject_key("k" * 16, "insured", "370102199001011237") != subject_key("j" * 16, "insured",
                                                                               "370102199001011237")
    assert event_id(7) == "chg-7"
