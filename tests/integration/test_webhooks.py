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
from credit_service.jobs import runner
from tests.factories import id_number, violation
from tests.webhook_receiver import SECRET, Receiver

SCOPE = {"regions": ["370100"]}  # the factories' violations are decided in Jinan


@pytest.fixture
def settings(settings):
    """The receivers here listen on 127.0.0.1, which is refused unless listed (issue 9, finding 4)."""
    return replace(settings, webhook_allowed_hosts="127.0.0.1")


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def hook(client, auth, receiver):
    response = client.post("/api/v1/webhooks", headers=auth(), json={
        "url": receiver.url, "secret": SECRET, "events": ["status.changed"], "scope": SCOPE})
    assert response.status_code == 201, response.json
    assert "secret" not in response.json
    return response.json


def _subject_key(client, auth, webhook_id, subject_type, number) -> str:
    """What the receiver asks the service to match its events to the people it knows."""
    response = client.post(f"/api/v1/webhooks/{webhook_id}/subject-keys", headers=auth("settlement"), json={
        "subjects": [{"subject_type": subject_type, "id_number": number}]})
    assert response.status_code == 200, response.json
    return response.json["subject_keys"][0]


def _deliver(container):
    return runner.run_job(container, "webhook_delivery")


def _later(clock, days=1):
    clock.current += timedelta(days=days)


def _subject_feed(container) -> dict[int, tuple[str, str]]:
    """seq → (subject_type, identity number): the feed holds lookup keys, `subjects` the numbers."""
    from credit_service.adapters.subjects import reveal
    with container.session_factory() as session:
        rows = [r for r in session.scalars(select(SubjectChangeRow)) if r.subject_type != "client"]
        numbers = reveal(session, container.keys, (r.lookup_key for r in rows))
        return {r.seq: (r.subject_type, numbers[r.lookup_key]) for r in rows}


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
        assert "id_number" not in event["status"]  # not even masked (issue 9, finding 3)
        assert number not in json.dumps(event)
        assert event["subject_key"] == _subject_key(client, auth, hook["id"], subject_type, number)
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
            "url": receiver.url, "secret": SECRET, "events": ["status.changed"], "scope": SCOPE}).status_code == 201
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
    registered = http.post("/api/v1/webhooks", headers=admin, json={
        "url": receiver.url, "secret": SECRET, "events": ["status.changed"], "scope": SCOPE})
    assert registered.status_code == 201
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
    third = create_app(settings, clock=clock)
    try:
        keys = third.test_client().post(f"/api/v1/webhooks/{registered.json['id']}/subject-keys", headers=admin,
                                        json={"subjects": [{"subject_type": "insured", "id_number": number}]})
        assert event["subject_key"] == keys.json["subject_keys"][0]
    finally:
        third.extensions["credit_service"].index.stop()
        third.extensions["credit_service"].engine.dispose()


def test_a_change_that_commits_below_the_cursor_is_still_delivered(client, auth, container, receiver, hook):
    # A transaction takes its sequence number, others take later ones and commit, and it commits last.
    with container.engine.begin() as connection:  # hold a number below the others' (a placeholder)
        connection.execute(text("INSERT INTO subject_changes (subject_type, lookup_key, changed_at) "
                                "VALUES ('client', 'placeholder', :t)"), {"t": container.clock.now()})
        late_seq = connection.execute(text("SELECT max(seq) FROM subject_changes")).scalar()
    number = id_number()  # the late transaction changes a subject with a record in the webhook's scope
    assert client.post("/api/v1/violations", json=violation(id_number=number), headers=auth()).status_code == 201
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 201
    assert _deliver(container).startswith("2 enqueued, 2 delivered")
    with container.engine.begin() as connection:  # ... and now that transaction commits
        from credit_service.adapters.subjects import remember
        key = remember(connection, container.keys, [("insured", number)])[("insured", number)]
        connection.execute(text("DELETE FROM subject_changes WHERE seq = :s"), {"s": late_seq})
        connection.execute(text("INSERT INTO subject_changes (seq, subject_type, lookup_key, changed_at) "
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
        "url": receiver.url, "secret": SECRET, "events": ["status.changed"], "scope": SCOPE}).status_code == 201
    assert _deliver(container).startswith("0 enqueued")
    assert client.post("/api/v1/violations", json=violation(), headers=auth()).status_code == 201
    assert _deliver(container).startswith("1 enqueued, 1 delivered")


@pytest.mark.parametrize("body,field", [
    ({"url": "ftp://x.example/h", "secret": SECRET, "events": ["status.changed"], "scope": SCOPE}, "url"),
    ({"url": "http://x.example/h", "secret": "short", "events": ["status.changed"], "scope": SCOPE}, "secret"),
    ({"url": "http://x.example/h", "secret": SECRET, "events": ["measure.eaten"], "scope": SCOPE}, "events.0"),
    ({"url": "http://x.example/h", "secret": SECRET, "events": [], "scope": SCOPE}, "events"),
    ({"url": "http://x.example/h", "secret": SECRET, "scope": SCOPE}, "events"),
])
def test_registration_is_validated(client, auth, body, field):
    response = client.post("/api/v1/webhooks", headers=auth(), json=body)
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    assert field in response.json["errors"]


@pytest.mark.parametrize("role", ["settlement", "staff-jinan", "reporter", "person"])
def test_only_admin_registers_or_lists_webhooks(client, auth, role):
    body = {"url": "http://x.example/h", "secret": SECRET, "events": ["status.changed"], "scope": SCOPE}
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
            "url": other.url, "secret": SECRET, "events": ["status.changed"], "scope": SCOPE}).status_code == 201
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


# -- issue 9, finding 3: a receiver learns only what its scope entitles it to --------------------------

JINAN, TAIAN = "370100", "370900"
RECENT = {"occurred_on": "2026-10-01", "determined_on": "2026-11-20"}


def _register(client, auth, receiver, **scope) -> dict:
    response = client.post("/api/v1/webhooks", headers=auth(), json={
        "url": receiver.url, "secret": SECRET, "events": ["status.changed"], "scope": scope})
    assert response.status_code == 201, response.json
    assert response.json["scope"]["regions"] == scope["regions"]
    return response.json


def test_finding_3_a_receiver_outside_the_scope_gets_nothing(client, auth, container):
    jinan, taian, practitioners = Receiver(), Receiver(), Receiver()
    try:
        hooks = {name: _register(client, auth, r, **scope) for name, r, scope in (
            ("jinan", jinan, {"regions": [JINAN]}), ("taian", taian, {"regions": [TAIAN]}),
            ("practitioners", practitioners,
             {"regions": [JINAN, TAIAN], "subject_types": ["physician", "pharmacist"]}))}

        def people(name, receiver) -> set[str]:
            """Whom a receiver heard of, as the people it would match (numbers → subject keys)."""
            keys = {e["subject_key"] for e in receiver.events()}
            return {n for n in (person, taian_only)
                    if _subject_key(client, auth, hooks[name]["id"], "insured", n) in keys}

        person, taian_only = id_number(), id_number()
        assert client.post("/api/v1/violations", headers=auth(), json=violation(
            id_number=person, region=JINAN, **RECENT)).status_code == 201
        _deliver(container)
        [event] = _dedup(jinan.events()).values()
        assert event["status"]["restrictions"][0]["region"] == JINAN
        assert taian.events() == [] and practitioners.events() == []  # other region; other subject types
        # A subject of Taian only: Jinan's receiver hears nothing of it.
        assert client.post("/api/v1/violations", headers=auth(), json=violation(
            id_number=taian_only, region=TAIAN, **RECENT)).status_code == 201
        _deliver(container)
        assert people("jinan", jinan) == {person} and people("taian", taian) == {taian_only}
        assert practitioners.events() == []
        # Once a subject has a record in the scope, every later change of it is pushed — also one decided
        # elsewhere (settlement is refused province-wide, Art 5).
        assert client.post("/api/v1/violations", headers=auth(), json=violation(
            id_number=person, region=TAIAN, **RECENT)).status_code == 201
        _deliver(container)
        assert people("jinan", jinan) == {person} and people("taian", taian) == {taian_only, person}
        assert len(_dedup(jinan.events())) == 2  # the change Taian's decision made reached Jinan too
        assert practitioners.events() == []
    finally:
        for r in (jinan, taian, practitioners):
            r.close()


def _brute_force_birth_dates(first6: str, last4: str, matches) -> tuple[str | None, int]:
    """Every birth date from 1900-01-01 to today with the given first 6 and last 4 digits, as the attack
    of issue 9 did; returns (the number found or None, tries)."""
    from credit_service.domain.identity import check_digit
    day, tries = date(1900, 1, 1), 0
    while day <= date(2026, 11, 26):
        first17 = f"{first6}{day:%Y%m%d}{last4[:3]}"
        if check_digit(first17) == last4[3]:
            tries += 1
            if matches(first17 + last4[3]):
                return first17 + last4[3], tries
        day += timedelta(days=1)
    return None, tries


def test_finding_3_a_brute_force_over_birth_dates_cannot_recover_the_number(client, auth, container, receiver):
    number = id_number(birth="19700707", seq=111)  # the example: 370102197007071113
    hook = _register(client, auth, receiver, regions=[JINAN])
    assert client.post("/api/v1/violations", headers=auth(), json=violation(
        id_number=number, region=JINAN, **RECENT)).status_code == 201
    _deliver(container)
    [(headers, body)] = receiver.received
    event = json.loads(body)
    assert number not in body.decode() and number[6:14] not in body.decode()
    assert "id_number" not in event["status"]  # not even masked
    # Everything the receiver knows: its secret, the webhook's id and URL, the event. Grant it more than
    # that: the first 6 and last 4 digits the masked number used to give away.
    first6, last4 = number[:6], number[-4:]
    key = event["subject_key"]
    known = [SECRET.encode(), hook["id"].encode(), hook["url"].encode(), body]
    guesses = []
    for secret in known:
        guesses += [lambda t, n, s=secret: hmac.new(s, f"{t}:{n}".encode(), hashlib.sha256).hexdigest(),
                    lambda t, n, s=secret: hmac.new(s, n.encode(), hashlib.sha256).hexdigest()]
    guesses += [lambda t, n: hashlib.sha256(f"{t}:{n}".encode()).hexdigest(),
                lambda t, n: hashlib.sha256(n.encode()).hexdigest()]
    found, tries = _brute_force_birth_dates(first6, last4, lambda n: any(g("insured", n) == key for g in guesses))
    assert found is None and tries > 4000  # it did try: every birth date whose check digit fits
    # The same search finds the number from the old subject_key (HMAC under the receiver's own secret):
    old_key = hmac.new(SECRET.encode(), f"insured:{number}".encode(), hashlib.sha256).hexdigest()
    assert _brute_force_birth_dates(first6, last4, lambda n: guesses[0]("insured", n) == old_key)[0] == number
    # The receiver matches the people it asked about through the service, which it asks with the number.
    asked = client.post(f"/api/v1/webhooks/{hook['id']}/subject-keys", headers=auth("settlement"), json={
        "subjects": [{"subject_type": "insured", "id_number": number},
                     {"subject_type": "insured", "id_number": id_number()}]})
    assert asked.status_code == 200, asked.json
    assert asked.json["subject_keys"][0] == key and asked.json["subject_keys"][1] != key
    other = _register(client, auth, receiver, regions=[JINAN])  # another webhook: another pseudonym
    assert client.post(f"/api/v1/webhooks/{other['id']}/subject-keys", headers=auth(), json={
        "subjects": [{"subject_type": "insured", "id_number": number}]}).json["subject_keys"] != [key]


def test_finding_3_registration_needs_a_scope(client, auth, receiver):
    for scope in (None, {}, {"regions": []}, {"regions": ["3701"]}, {"regions": [JINAN], "subject_types": ["cat"]}):
        body = {"url": receiver.url, "secret": SECRET, "events": ["status.changed"]}
        if scope is not None:
            body["scope"] = scope
        response = client.post("/api/v1/webhooks", headers=auth(), json=body)
        assert response.status_code == 422 and response.mimetype == "application/problem+json", scope
        assert any(k.startswith("scope") for k in response.json["errors"]), response.json


# -- issue 9, finding 4: webhook hygiene --------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1:9/h", "http://localhost:9/h", "http://10.1.2.3/h", "http://172.16.0.1/h",
    "http://192.168.1.1/h", "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0/h", "http://[::1]/h",
    "http://[::ffff:127.0.0.1]/h", "http://[::ffff:10.0.0.1]/h", "http://[fe80::1]/h", "http://[fc00::1]/h",
    "http://224.0.0.1/h", "http://240.0.0.1/h", "http://100.64.0.1/h", "http://[::]/h", "http://2130706433/h",
])
def test_finding_4_targets_that_are_not_public_are_refused(settings, clock, url):
    with _app(replace(settings, webhook_allowed_hosts=""), clock) as (client, admin, _):
        response = client.post("/api/v1/webhooks", headers=admin, json={
            "url": url, "secret": SECRET, "events": ["status.changed"], "scope": {"regions": [JINAN]}})
        assert response.status_code == 422 and response.mimetype == "application/problem+json"
        assert "url" in response.json["errors"], response.json


@pytest.mark.parametrize("allowed,url,ok", [
    ("127.0.0.1", "http://127.0.0.1:9/h", True),
    ("127.0.0.0/8", "http://127.0.0.2:9/h", True),
    ("localhost", "http://localhost:9/h", True),
    ("10.0.0.0/8, hooks.internal", "http://10.9.9.9/h", True),
    ("10.0.0.0/8", "http://192.168.0.1/h", False),
    ("127.0.0.2", "http://127.0.0.1:9/h", False),
])
def test_finding_4_the_allow_list_lets_listed_hosts_and_networks_through(settings, clock, allowed, url, ok):
    with _app(replace(settings, webhook_allowed_hosts=allowed), clock) as (client, admin, _):
        response = client.post("/api/v1/webhooks", headers=admin, json={
            "url": url, "secret": SECRET, "events": ["status.changed"], "scope": {"regions": [JINAN]}})
        assert response.status_code == (201 if ok else 422), response.json


def test_finding_4_the_address_is_checked_again_at_delivery_and_the_checked_one_is_used(
        settings, clock, receiver, monkeypatch):
    """DNS may change after registration (rebinding): delivery resolves again, refuses a private answer,
    and connects to the very address it checked (the name here exists only in the patched resolver)."""
    from credit_service.adapters import egress
    answers = {"hooks.example.test": "93.184.216.34"}
    real = egress.resolve

    def resolve(host, port):
        if host in answers:
            return [answers[host]]
        return real(host, port)

    monkeypatch.setattr(egress, "resolve", resolve)
    url = receiver.url.replace("127.0.0.1", "hooks.example.test")
    with _app(replace(settings, webhook_allowed_hosts=""), clock) as (client, admin, container):
        assert client.post("/api/v1/webhooks", headers=admin, json={
            "url": url, "secret": SECRET, "events": ["status.changed"],
            "scope": {"regions": [JINAN]}}).status_code == 201
        assert client.post("/api/v1/violations", headers=admin, json=violation(**RECENT)).status_code == 201
        answers["hooks.example.test"] = "127.0.0.1"  # the name now points inside
        assert _deliver(container).startswith("1 enqueued, 0 delivered, 1 to retry")
        assert receiver.received == []
        with container.session_factory() as session:
            assert session.scalars(select(WebhookDeliveryRow.last_error)).one() == "BlockedAddress"
    # Listed: the delivery goes to the checked address, with the registered host name in Host.
    with _app(replace(settings, webhook_allowed_hosts="127.0.0.1"), clock) as (client, admin, container):
        assert _deliver(container).startswith("0 enqueued, 0 delivered")  # its back-off has not passed yet
        clock.current += timedelta(days=1)
        assert _deliver(container).startswith("0 enqueued, 1 delivered")
    [(headers, _)] = receiver.received
    assert headers["Host"] == url.split("/")[2]


def test_finding_4_proxy_settings_in_the_environment_are_not_used(client, auth, container, receiver, hook,
                                                                   monkeypatch):
    proxy = Receiver()  # anything sent through it would land here
    try:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
            monkeypatch.setenv(name, proxy.url.rsplit("/hooks", 1)[0])
        assert client.post("/api/v1/violations", headers=auth(), json=violation(**RECENT)).status_code == 201
        assert _deliver(container).startswith("1 enqueued, 1 delivered")
        assert proxy.received == [] and len(receiver.events()) == 1
    finally:
        proxy.close()


def test_finding_4_secrets_are_stored_sealed(client, auth, container, hook):
    from credit_service.adapters.orm import WebhookRow
    from tests.factories import TEST_KEYS
    with container.engine.connect() as connection:
        [row] = connection.execute(select(WebhookRow.__table__)).mappings().all()
    assert not any(SECRET in str(value) for value in row.values())
    assert TEST_KEYS.open_secret(f"webhook-secret:{row['id']}", row["secret_sealed"]) == SECRET
    from cryptography.exceptions import InvalidTag
    with pytest.raises(InvalidTag):  # moved to another webhook, it does not open
        TEST_KEYS.open_secret("webhook-secret:another", row["secret_sealed"])


def test_finding_4_the_signature_covers_a_timestamp_and_old_ones_are_rejected(client, auth, container, receiver,
                                                                              hook):
    import time
    from credit_service.domain.webhooks import verify_signature
    assert client.post("/api/v1/violations", headers=auth(), json=violation(**RECENT)).status_code == 201
    before = int(time.time())
    _deliver(container)
    [(headers, body)] = receiver.received
    timestamp = int(headers["X-Credit-Timestamp"])
    assert before - 1 <= timestamp <= time.time() + 1
    expected = hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["X-Credit-Signature"] == "sha256=" + expected
    assert verify_signature(SECRET, headers["X-Credit-Timestamp"], headers["X-Credit-Signature"], body,
                            now=timestamp + 10)
    # A replay five minutes later, or with the timestamp moved forward, is refused.
    assert not verify_signature(SECRET, headers["X-Credit-Timestamp"], headers["X-Credit-Signature"], body,
                                now=timestamp + 301)
    assert not verify_signature(SECRET, str(timestamp + 100), headers["X-Credit-Signature"], body,
                                now=timestamp + 100)


class _app:
    """A service with its own settings (and an admin token) for one test."""

    def __init__(self, settings, clock):
        self.app = create_app(settings, clock=clock)

    def __enter__(self):
        import uuid
        from credit_service.services.clients import create_client
        container = self.app.extensions["credit_service"]
        _, token = create_client(container.uow(), container.clock, f"admin-{uuid.uuid4().hex[:8]}", "admin")
        return self.app.test_client(), {"Authorization": f"Bearer {token}"}, container

    def __exit__(self, *exc):
        container = self.app.extensions["credit_service"]
        container.index.stop()
        container.engine.dispose()
