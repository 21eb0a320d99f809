"""Issue 13 item 3: a status check in a process that has been notified of a change waits (≤ 100 ms) for
its poller to apply it — so the request after a write, on any worker, sees it. The poll interval here
is 30 s: without the wait, the answer would be the old one."""
from __future__ import annotations

import dataclasses

from sqlalchemy import text

from credit_service import create_app
from tests.factories import id_number, violation


def test_the_request_after_a_notification_sees_the_change(app, client, auth, settings, clock, monkeypatch):
    from credit_service.adapters import change_notify
    monkeypatch.setattr(change_notify, "start_listener", lambda *args: None)  # wake() below stands for it
    other = create_app(dataclasses.replace(settings, index_poll_seconds=30), clock=clock)
    index = other.extensions["credit_service"].index
    try:
        reader = other.test_client()
        number = id_number()
        url = f"/api/v1/subjects/insured/{number}/status?on=2025-06-01"
        assert reader.get(url, headers=auth("settlement")).json["settlement_allowed"] is True  # loaded, poller on
        assert client.post("/api/v1/violations", headers=auth(), json=violation(id_number=number)).status_code == 201
        with index._engine.begin() as connection:  # as written by another process (both apps share this one's id)
            connection.execute(text("UPDATE subject_changes SET origin = 'another-process'"))
        index.wake()  # what the LISTEN connection does when the writer's transaction commits
        assert reader.get(url, headers=auth("settlement")).json["settlement_allowed"] is False
    finally:
        index.stop()
        other.extensions["credit_service"].engine.dispose()
