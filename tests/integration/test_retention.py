"""Issue 13 item 6: the change feed and the webhook delivery rows stay bounded — pruned after the
configured retention, once every active receiver has them; pending deliveries are never pruned."""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from credit_service.adapters.orm import SubjectChangeRow, WebhookAttemptRow, WebhookDeliveryRow
from credit_service.services import webhooks as webhook_service
from credit_service.jobs import runner
from tests.factories import id_number, violation
from tests.webhook_receiver import SECRET, Receiver

SCOPE = {"regions": ["370100"]}


@pytest.fixture
def settings(settings):
    return replace(settings, webhook_allowed_hosts="127.0.0.1", change_retention_days=2)


@pytest.fixture
def receivers():
    made = [Receiver(), Receiver()]
    yield made
    for r in made:
        r.close()


def _count(container, row) -> int:
    with container.session_factory() as session:
        return session.scalar(select(func.count()).select_from(row))


def test_the_feed_and_the_outbox_stay_bounded_and_nothing_undelivered_goes(client, auth, container, clock,
                                                                           receivers, monkeypatch):
    monkeypatch.setattr(webhook_service, "GAP_WINDOW", 3)  # the re-check window, small for a small test
    good, down = receivers
    for r in receivers:
        assert client.post("/api/v1/webhooks", headers=auth(), json={
            "url": r.url, "secret": SECRET, "events": ["status.changed"], "scope": SCOPE}).status_code == 201
    per_day, days = 4, 12
    sizes = []
    for day in range(days):
        down.fail_next = 10_000  # this receiver never answers: its deliveries stay pending
        for _ in range(per_day):
            assert client.post("/api/v1/violations", headers=auth(),
                               json=violation(id_number=id_number())).status_code == 201
        runner.run_job(container, "webhook_delivery")
        summary = runner.run_job(container, "retention", as_of=clock.today(), force=True)
        sizes.append((_count(container, SubjectChangeRow), _count(container, WebhookDeliveryRow)))
        clock.current += timedelta(days=1)
    feed_sizes = [f for f, _ in sizes]
    # Retention 2 days: the feed holds at most the last 3 days' entries (+ the re-check window) …
    assert max(feed_sizes[4:]) <= 3 * per_day + 3 + 1, sizes
    assert feed_sizes[-1] <= feed_sizes[5], sizes  # … and does not grow
    assert "pruned" in summary
    with container.session_factory() as session:
        states = dict(session.execute(select(WebhookDeliveryRow.state, func.count())
                                      .group_by(WebhookDeliveryRow.state)).all())
        attempts = session.scalar(select(func.count()).select_from(WebhookAttemptRow))
    # every delivery of the receiver that is down is still there, pending; the delivered ones are bounded
    assert states["pending"] == days * per_day, states
    assert states.get("delivered", 0) <= 3 * per_day + 3, states
    assert attempts > 0  # the delivery log of what is kept stays with it
    assert len({e["event_id"] for e in good.events()}) == days * per_day  # the good receiver got every change
