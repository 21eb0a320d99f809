"""The bearer-token cache reads its clients through a unit of work like every use case (issue 10), so it
runs here on the in-memory one, no database: a token is looked up once, a revocation that reaches the
cache through the change feed is refused from the next request on, an expired token at once."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from credit_service.adapters.orm import ApiClientRow
from credit_service.adapters.status_index import CLIENT_FEED
from credit_service.services.clients import TokenCache, hash_token
from tests.unit.fakes import FakeStore, FakeUnitOfWork

NOW = datetime(2026, 11, 29, 10, tzinfo=timezone.utc)


class _Clock:
    def __init__(self):
        self.current = NOW

    def now(self):
        return self.current


def _cache(store: FakeStore, clock=None) -> TokenCache:
    return TokenCache(lambda: FakeUnitOfWork(store), clock or _Clock(), now=lambda: 1000.0)


def _client(store: FakeStore, token: str, **kw) -> ApiClientRow:
    row = ApiClientRow(id=f"c-{token}", name=token, role="settlement", region=None, subject_type=None,
                       subject_lookup_key=None, token_hash=hash_token(token), created_at=NOW, revoked_at=None,
                       expires_at=kw.get("expires_at"))
    store.clients[row.id] = row
    return row


def test_a_token_is_looked_up_once_through_the_unit_of_work():
    store = FakeStore()
    _client(store, "tok-1")
    cache = _cache(store)
    principals = [cache.principal_for("tok-1") for _ in range(5)]
    assert {(p.client_id, p.role) for p in principals} == {("c-tok-1", "settlement")}
    assert store.client_lookups == 1
    assert cache.principal_for("not-a-token") is None and cache.principal_for("not-a-token") is None
    assert store.client_lookups == 2  # a miss is remembered too


def test_a_revocation_from_the_change_feed_is_refused_at_the_next_request():
    store = FakeStore()
    row = _client(store, "tok-2")
    cache = _cache(store)
    assert cache.principal_for("tok-2") is not None
    row.revoked_at = NOW  # revoke_client's write; the feed entry (CLIENT_FEED, token hash) reaches every cache
    assert cache.principal_for("tok-2") is not None  # until the feed entry arrives: the bound is the poll
    cache.on_change((CLIENT_FEED, row.token_hash))
    assert cache.principal_for("tok-2") is None and cache.refusal("tok-2") == "invalid_token"


def test_an_expired_token_is_refused_at_once_without_a_look_up():
    store, clock = FakeStore(), _Clock()
    _client(store, "tok-3", expires_at=NOW + timedelta(minutes=1))
    cache = _cache(store, clock)
    assert cache.principal_for("tok-3") is not None
    clock.current = NOW + timedelta(minutes=1)
    assert cache.principal_for("tok-3") is None and cache.refusal("tok-3") == "token_expired"
    assert store.client_lookups == 1
