"""The ids intake gives violations and measures: uuid4 hex, the random bytes read a block at a time
(issue 13, item 9), never shared by two processes."""
from __future__ import annotations

import uuid

from credit_service.services import intake


def test_ids_are_distinct_uuid4_hex():
    ids = [intake._new_id() for _ in range(3000)]  # more than one block of 1,024
    assert len(set(ids)) == 3000
    assert all(len(i) == 32 and uuid.UUID(hex=i).version == 4 for i in ids)


def test_a_forked_process_does_not_reuse_the_parents_random_bytes(monkeypatch):
    ids = intake._Ids()
    monkeypatch.setattr(intake.os, "getpid", lambda: 1)
    ids()
    pool = list(ids._pool)
    monkeypatch.setattr(intake.os, "getpid", lambda: 2)  # as after a fork: the inherited pool is dropped
    child = ids()
    assert child not in {uuid.UUID(bytes=b, version=4).hex for b in pool}
    assert not set(ids._pool) & set(pool)
