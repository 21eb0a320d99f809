"""Change push against a real HTTP receiver on 127.0.0.1: signed, at least once, exactly once after
de-duplication by event id, back-off and dead letter, and nothing lost when a process dies."""
from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from credit_service import create_app
from credit_service.adapters.orm import SubjectChangeRow, WebhookAttemptRow, WebhookDeliveryRow
from credit_service.services import webhooks as webhook_service
from credit_service.services.clients import revoke_client
from jobs import runner
from tests.factories import id_number, violation
from tests.webhook_receiver import SECRET, Receiver

@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hook(client, auth, receiver):
    response = client.post("/api/v1/webhooks", headers=auth(), json={
        "url": receiver.url, "secret": SECRET, "events": ["status.changed"]})
    assert response.status_code == 201, response.json
    assert "secret" not in response.json
    return response.json


def _deliver(container):
    return runner.run_job(container, "webhook_delivery")


def _later(clock, days=1):
    clock.current += timedelta(days=days)


def _subject_feed(container) -> dict[int, tuple[str, str]]:
    """seq → (subject_type, identity number): the feed holds lookup keys, `subjects` the numbers."""
    from credit_service.adapters.subjects import reveal
    with container.session_factory() as session:
        rows = [r for r in session.scalars(select(SubjectChangeRow)) if r.subject_type != "client"]
        numbers = reveal(session, container.keys, (r.id_number for r in rows))
        return {r.seq: (r.subject_type, numbers[r.id_number]) for r in rows}


def _dedup(events: list[dict]) -> dict[str, dict]:
    unique: dict[str, dict] = {}
    for e in events:
        unique.setdefault(e["event_id"], e)
    return unique


def test_a_receiver_that_fails_then_recovers_gets_every_change_exactly_once_after_dedup(
        client, auth, container, clock, receiver, hook, monkeypatch):
    numbers = [id_number() for _ in range(4)]
    recent = {"occurred_on": "2026-10-01", "determined_on": "2026-11-20"}  # suspended still, when delivered
    assert client.post("/api/v1/violations", json=violation(id_number=numbers[0], **recent),
                       headers=auth()).status_code == 201
    rows = [violation(id_number=n, **recent) for n in numbers[1:]]
    assert client.post("/api/v1/violations/import", json=rows, headers=auth()).status_code == 200
    revoke_client(container.uow(), container.clock, "reporter")  # a feed entry that is not a status change

    receiver.fail_next = 10**6
    # A failing receiver is tried once per pass (its other events wait), and a failed event backs off.
    assert _deliver(container).startswith("4 enqueued, 0 delivered, 1 to retry")
    assert _deliver(container).startswith("0 enqueued, 0 delivered, 1 to retry")
    assert receiver.events() == []  # 500s are not accepted
    # The receiver recovers, but the runner dies after the receiver took the events and before it could
    # write that down: the next pass sends them again.
    receiver.fail_next = 0
    real_record = webhook_service.record_attempts

    def killed(*args, **kwargs):
        raise RuntimeError("killed")

    monkeypatch.setattr(webhook_service, "record_attempts", killed)
    _later(clock)
    with pytest.raises(RuntimeError):
        _deliver(container)
    assert len(receiver.events()) == 4
    monkeypatch.setattr(webhook_service, "record_attempts", real_record)
    assert _deliver(container).startswith("0 enqueued, 4 delivered")

    events = receiver.events()
    assert len(events) == 8  # every event twice: at least once
    unique = _dedup(events)
    feed = _subject_feed(container)
    assert sorted(unique) == sorted(f"chg-{seq}" for seq in feed)  # every change, once
    for event in unique.values():
        subject_type, number = feed[event["seq"]]
        assert event["type"] == "status.changed" and event["status"]["subject_type"] == subject_type
        assert event["status"]["id_number"] == number[:6] + "********" + number[-4:]
        assert number not in json.dumps(event)
        assert event["subject_key"] == hmac.new(SECRET.encode(), f"{subject_type}:{number}".encode(),
                                                hashlib.sha256).hexdigest()
        assert event["status"]["settlement_allowed"] is False and event["status"]["restrictions"]
    with container.session_factory() as session:
        deliveries = session.scalars(select(WebhookDeliveryRow)).all()
        assert {d.state for d in deliveries} == {"delivered"} and len(deliveries) == 4
        assert session.query(WebhookAttemptRow).count() == 2 + 4  # the delivery log: 2 failed, 4 succeeded
    assert _deliver(container).startswith("0 enqueued, 0 delivered")
    assert len(receiver.events()) == 8


def test_back_off_then_dead_letter_after_the_last_attempt(settings, clock, receiver):
    app = create_app(replace(settings, webhook_max_attempts=3, webhook_backoff_seconds=60), clock=clock)
    container = app.extensions["credit_service"]
    try:
        _, admin = _admin(container)
        client = app.test_client()
        assert client.post("/api/v1/webhooks", headers=admin, json={
            "url": receiver.url, "secret": SECRET, "events": ["status.changed"]}).status_code == 201
        assert client.post("/api/v1/violations", json=violation(), headers=admin).status_code == 201
        receiver.fail_next, receiver.drop = 10**6, True  # the connection drops: no HTTP answer at all
        due_times = []
        for _ in range(5):
            _deliver(container)
            with container.session_factory() as session:
                delivery = session.scalars(select(WebhookDeliveryRow)).one()
            due_times.append((delivery.attempts, delivery.state, _aware(delivery.next_attempt_at) - container.clock.now()))
            clock.current += timedelta(days=1)
        assert [(a, s) for a, s, _ in due_times] == [(1, "pending"), (2, "pending"), (3, "dead"), (3, "dead"),
                                                     (3, "dead")]
        # (the test clock moves a microsecond per reading)
        assert [round(d.total_seconds()) for _, _, d in due_times[:2]] == [60, 120]
        assert delivery.last_error == "ConnectionError" and delivery.last_status is None
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'credit_service_outbox_backlog{state="dead"} 1.0' in metrics
        assert 'credit_service_outbox_backlog{state="pending"} 0.0' in metrics
        hooks = client.get("/api/v1/webhooks", headers=admin).json["webhooks"]
        assert hooks[0]["deliveries"] == {"pending": 0, "delivered": 0, "dead": 1} and "secret" not in hooks[0]
        # The receiver is fixed; the operator puts the dead letter back in the queue.
        receiver.fail_next = 0
        assert client.post(f"/api/v1/webhooks/{hooks[0]['id']}/redeliver", headers=admin).json == {"requeued": 1}
        assert _deliver(container).startswith("0 enqueued, 1 delivered")
        assert len(receiver.events()) == 1
        # Deactivated: nothing more is pushed to it.
        assert client.delete(f"/api/v1/webhooks/{hooks[0]['id']}", headers=admin).json["active"] is False
        assert client.post("/api/v1/violations", json=violation(), headers=admin).status_code == 201
        assert _deliver(container).startswith("0 enqueued, 0 delivered")
        assert client.delete("/api/v1/webhooks/nope", headers=admin).status_code == 404
    finally:
        container.index.stop()
        container.engine.dispose()


def _aware(moment):
    """SQLite gives back naive datetimes (in the clock's zone, Asia/Shanghai)."""
    from credit_service.clock import SHANGHAI
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def _admin(container):
    from credit_service.services.clients import create_client
    principal, token = create_client(container.uow(), container.clock, "hook-admin", "admin")
    return principal, {"Authorization": f"Bearer {token}"}


def test_a_change_committed_by_a_process_that_then_died_is_still_delivered(settings, clock, receiver):
    """Nothing is sent in the request that makes the change: the feed entry committed with it is the
    outbox, and any later runner — here a fresh process's container — delivers it."""
    first = create_app(settings, clock=clock)
    c1 = first.extensions["credit_service"]
    _, admin = _admin(c1)
    http = first.test_client()
    assert http.post("/api/v1/webhooks", headers=admin, json={
        "url": receiver.url, "secret": SECRET, "events": ["status.changed"]}).status_code == 201
    number = id_number()
    assert http.post("/api/v1/violations", json=violation(id_number=number), headers=admin).status_code == 201
    c1.index.stop()
    c1.engine.dispose()  # the process is gone; nothing was delivered
    assert receiver.events() == []
    second = create_app(settings, clock=clock)
    c2 = second.extensions["credit_service"]
    try:
        assert _deliver(c2).startswith("1 enqueued, 1 delivered")
    finally:
        c2.index.stop()
        c2.engine.dispose()
    [event] = receiver.events()
    assert event["status"]["id_number"] == number[:6] + "********" + number[-4:]


def test_a_change_that_commits_below_the_cursor_is_still_delivered(client, auth, container, receiver, hook):
    # A transaction takes its sequence number, others take later ones and commit, and it commits last.
    with container.engine.begin() as connection:  # hold a number below the others' (a placeholder)
        connection.execute(text("INSERT INTO subject_changes (subject_type, id_number, changed_at) "
                                "VALUES ('client', 'placeholder', :t)"), {"t": container.clock.now()})
        late_seq = connection.execute(text("SELECT max(seq) FROM subject_changes")).scalar()
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 201
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 201
    assert _deliver(container).startswith("2 enqueued, 2 delivered")
    number = id_number()
    with container.engine.begin() as connection:  # ... and now that transaction commits
        from credit_service.adapters.subjects import remember
        key = remember(connection, container.keys, [("insured", number)])[("insured", number)]
        connection.execute(text("DELETE FROM subject_changes WHERE seq = :s"), {"s": late_seq})
        connection.execute(text("INSERT INTO subject_changes (seq, subject_type, id_number, changed_at) "
                                "VALUES (:s, 'insured', :n, :t)"), {"s": late_seq, "n": key,
                                                                      "t": container.clock.now()})
    with container.session_factory() as session:
        from credit_service.adapters.orm import WebhookRow
        assert session.scalars(select(WebhookRow.cursor)).one() > late_seq
    assert _deliver(container).startswith("1 enqueued, 1 delivered")
    assert f"chg-{late_seq}" in _dedup(receiver.events())


def test_changes_before_registration_are_not_pushed(client, auth, container, receiver):
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 201
    assert client.post("/api/v1/webhooks", headers=auth(), json={
        "url": receiver.url, "secret": SECRET, "events": ["status.changed"]}).status_code == 201
    assert _deliver(container).startswith("0 enqueued")
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 201
    assert _deliver(container).startswith("1 enqueued, 1 delivered")


@pytest.mark.parametrize("body,field", [
    ({"url": "ftp://x.example/h", "secret": SECRET, "events": ["status.changed"]}, "url"),
    ({"url": "http://x.example/h", "secret": "short", "events": ["status.changed"]}, "secret"),
    ({"url": "http://x.example/h", "secret": SECRET, "events": ["measure.eaten"]}, "events.0"),
    ({"url": "http://x.example/h", "secret": SECRET, "events": []}, "events"),
    ({"url": "http://x.example/h", "secret": SECRET}, "events"),
])
def test_registration_is_validated(client, auth, body, field):
    response = client.post("/api/v1/webhooks", headers=auth(), json=body)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


@pytest.mark.parametrize("role", ["settlement", "staff-jinan", "reporter", "person"])
def test_only_admin_registers_or_lists_webhooks(client, auth, role):
    body = {"url": "http://x.example/h", "secret": SECRET, "events": ["status.changed"]}
    assert client.post("/api/v1/webhooks", headers=auth(role), json=body).status_code == 403
    assert client.get("/api/v1/webhooks", headers=auth(role)).status_code == 403
    assert client.post("/api/v1/webhooks", json=body).status_code == 401


def test_a_status_that_turns_by_the_calendar_is_pushed_when_the_sweep_ends_the_measure(
        client, auth, container, clock, receiver, hook):
    number = id_number()
    created = client.post("/api/v1/violations", headers=auth(), json=violation(
        id_number=number, occurred_on="2026-10-01", determined_on="2026-11-20"))
    [measure] = [m for m in created.json["measures"] if m["kind"] == "settlement_suspension"]
    restores_on = date.fromisoformat(measure["restores_on"])
    assert _deliver(container).startswith("1 enqueued, 1 delivered")  # the change itself
    clock.current = restores_on + timedelta(days=1)  # the runner was down on the day itself: caught up
    assert runner.run_job(container, "end_measures", clock.current) is not None
    _deliver(container)
    events = sorted(_dedup(receiver.events()).values(), key=lambda e: e["seq"])
    assert events[0]["status"]["settlement_allowed"] is False and events[-1]["status"]["settlement_allowed"] is True


def test_a_dead_receiver_costs_one_attempt_per_pass_and_never_holds_up_another(client, auth, container, receiver,
                                                                               hook):
    other = Receiver()
    try:
        assert client.post("/api/v1/webhooks", headers=auth(), json={
            "url": other.url, "secret": SECRET, "events": ["status.changed"]}).status_code == 201
        receiver.fail_next, receiver.drop = 10**6, True
        rows = [violation() for _ in range(120)]  # more than one recording chunk
        assert client.post("/api/v1/violations/import", json=rows, headers=auth()).status_code == 200
        assert _deliver(container).startswith("240 enqueued, 120 delivered, 1 to retry")
        assert len(_dedup(other.events())) == 120 and receiver.events() == []
    finally:
        other.close()


def test_an_upheld_objection_is_pushed_as_a_status_change(client, auth, container, receiver, hook):
    number = id_number()
    created = client.post("/api/v1/violations", headers=auth(), json=violation(
        id_number=number, occurred_on="2026-10-01", determined_on="2026-11-20"))
    measure_id = created.json["measures"][0]["id"]
    _deliver(container)
    objection = client.post("/api/v1/objections", headers=auth("staff-jinan"), json={
        "measure_id": measure_id, "filed_on": "2026-11-23", "reason": "金额计算有误", "evidence": ["费用清单"]})
    assert objection.status_code == 201, objection.json
    assert client.post(f"/api/v1/objections/{objection.json['id']}/decision", headers=auth("staff-jinan"), json={
        "outcome": "upheld", "decided_on": "2026-11-25", "reason": "材料属实"}).status_code == 200
    _deliver(container)
    events = sorted(_dedup(receiver.events()).values(), key=lambda e: e["seq"])
    assert events[0]["status"]["settlement_allowed"] is False
    assert events[-1]["status"]["settlement_allowed"] is True and events[-1]["status"]["restrictions"] == []
