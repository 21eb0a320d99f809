"""Pure parts of operations and change push: token buckets, back-off, signatures."""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timedelta, timezone

import pytest

from credit_service.domain.webhooks import (Scope, event_id, next_attempt, scope_problems, signature,
                                            subject_pseudonym, verify_signature)
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


def test_signature_over_timestamp_and_body_and_pseudonyms_are_hmac_sha256():
    body = '{"event_id":"chg-7"}'.encode()
    assert signature("k" * 16, 1764115200, body) == "sha256=" + hmac.new(
        b"k" * 16, b"1764115200." + body, hashlib.sha256).hexdigest()
    assert signature("k" * 16, 1764115200, body) != signature("k" * 16, 1764115201, body)
    assert subject_pseudonym(b"k" * 32, "insured", "370102199001011231") == hmac.new(
        b"k" * 32, b"insured:370102199001011231", hashlib.sha256).hexdigest()
    assert subject_pseudonym(b"k" * 32, "insured", "370102199001011231") != subject_pseudonym(
        b"j" * 32, "insured", "370102199001011231")
    assert event_id(7) == "chg-7"


def test_finding_4_a_receiver_rejects_old_timestamps_and_bad_signatures():
    body, secret, now = b'{"event_id":"chg-7"}', "s" * 16, 1764115200
    good = signature(secret, now, body)
    assert verify_signature(secret, str(now), good, body, now=now + 300)
    assert not verify_signature(secret, str(now), good, body, now=now + 301)  # more than five minutes old
    assert not verify_signature(secret, str(now), good, body, now=now - 301)  # from the future
    assert not verify_signature(secret, str(now + 1), good, body, now=now)  # timestamp moved
    assert not verify_signature(secret, str(now), good, body + b" ", now=now)  # body changed
    assert not verify_signature("t" * 16, str(now), good, body, now=now)
    assert not verify_signature(secret, None, good, body, now=now)
    assert not verify_signature(secret, "-1", good, body, now=now)


@pytest.mark.parametrize("body,subject_type,regions,entitled", [
    ({"regions": ["370100"]}, "insured", {"370100"}, True),
    ({"regions": ["370100"]}, "insured", {"370900"}, False),
    ({"regions": ["370100"]}, "insured", set(), False),
    ({"regions": ["370100", "370900"]}, "physician", {"370900", "371000"}, True),
    ({"regions": ["370100"], "subject_types": ["physician"]}, "insured", {"370100"}, False),
    ({"regions": ["370100"], "subject_types": ["physician"]}, "physician", {"370100"}, True),
])
def test_finding_3_scope_entitles_subjects_with_a_record_in_its_regions(body, subject_type, regions, entitled):
    assert scope_problems(body) == {}
    assert Scope.from_json(body).entitles(subject_type, regions) is entitled
    assert Scope.from_json(Scope.from_json(body).to_json()) == Scope.from_json(body)


@pytest.mark.parametrize("body,field", [
    (None, "scope"), ([], "scope"), ({}, "scope.regions"), ({"regions": []}, "scope.regions"),
    ({"regions": ["37010"]}, "scope.regions.0"), ({"regions": ["370100"], "subject_types": []}, "scope.subject_types"),
    ({"regions": ["370100"], "subject_types": ["dog"]}, "scope.subject_types.0"),
    ({"regions": ["370100"], "colour": "red"}, "scope.colour"),
])
def test_finding_3_a_malformed_scope_is_refused(body, field):
    assert field in scope_problems(body)
