"""The webhooks' repository: registrations, the deliveries made from the change feed, and their attempts."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..domain.status import SubjectFacts
from .orm import (ExpertRecommendationRow, SubjectChangeRow, ViolationRow, WebhookAttemptRow, WebhookDeliveryRow,
                  WebhookRow)
from .records import _chunk_size, _chunks, _member_of, latest_change_seq, load_subject_facts
from .status_index import CLIENT_FEED


class Webhooks:
    def __init__(self, session: Session):
        self._session = session

    def get(self, webhook_id: str) -> WebhookRow | None:
        return self._session.get(WebhookRow, webhook_id)

    def add(self, row: WebhookRow) -> None:
        self._session.add(row)

    def all(self) -> list[WebhookRow]:
        return list(self._session.scalars(select(WebhookRow).order_by(WebhookRow.created_at)))

    def active_ids(self) -> list[str]:
        return list(self._session.scalars(select(WebhookRow.id).where(WebhookRow.active.is_(True))))

    def active_cursors(self) -> list[int]:
        return list(self._session.scalars(select(WebhookRow.cursor).where(WebhookRow.active.is_(True))))

    def delivery_counts(self) -> dict[str, dict[str, int]]:
        """webhook id → delivery state → how many."""
        counts: dict[str, dict[str, int]] = {}
        for webhook_id, state, n in self._session.execute(
                select(WebhookDeliveryRow.webhook_id, WebhookDeliveryRow.state, func.count())
                .group_by(WebhookDeliveryRow.webhook_id, WebhookDeliveryRow.state)):
            counts.setdefault(webhook_id, {})[state] = n
        return counts

    def undelivered_counts(self) -> dict[str, int]:
        """Delivery state (pending, dead) → how many, over all webhooks."""
        return dict(self._session.execute(select(WebhookDeliveryRow.state, func.count())
                                          .where(WebhookDeliveryRow.state != "delivered")
                                          .group_by(WebhookDeliveryRow.state)).all())

    def dead_deliveries(self, webhook_id: str) -> list[WebhookDeliveryRow]:
        return list(self._session.scalars(select(WebhookDeliveryRow).where(
            WebhookDeliveryRow.webhook_id == webhook_id, WebhookDeliveryRow.state == "dead")))

    def feed_after(self, floor: int, limit: int) -> list:
        """Subject entries of the change feed after seq `floor` (seq, subject_type, lookup_key, changed_at)."""
        c = SubjectChangeRow.__table__.c
        return self._session.execute(
            select(c.seq, c.subject_type, c.lookup_key, c.changed_at)
            .where(c.seq > floor, c.subject_type != CLIENT_FEED).order_by(c.seq).limit(limit)).all()

    def latest_seq(self) -> int:
        return latest_change_seq(self._session.connection())

    def delivered_seqs(self, webhook_id: str, floor: int) -> set[int]:
        """The feed entries after `floor` this webhook already has a delivery for."""
        d = WebhookDeliveryRow.__table__.c
        return set(self._session.scalars(select(d.seq).where(d.webhook_id == webhook_id, d.seq > floor)))

    def record_regions(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], set[str]]:
        """(subject_type, lookup key) → the regions that decided a violation of the subject (in any state:
        a voided or corrected one, and so a revoked measure, still counts) or recommended it (Art 8)."""
        found: dict[tuple[str, str], set[str]] = {}
        wanted = sorted({key for _, key in keys})
        if not wanted:
            return found
        connection = self._session.connection()
        dialect = connection.dialect.name
        for table in (ViolationRow.__table__, ExpertRecommendationRow.__table__):
            t = table.c
            for chunk in _chunks(wanted, _chunk_size(dialect)):
                for subject_type, key, region in connection.execute(
                        select(t.subject_type, t.lookup_key, t.region).where(_member_of(dialect, t.lookup_key, chunk))
                        .distinct()):
                    found.setdefault((subject_type, key), set()).add(region)
        return found

    def subject_facts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], SubjectFacts]:
        return load_subject_facts(self._session.connection(), keys)

    def add_deliveries(self, rows: list[dict]) -> None:
        self._session.execute(WebhookDeliveryRow.__table__.insert(), rows)

    def due(self, now: datetime, limit: int) -> list[tuple[WebhookDeliveryRow, WebhookRow]]:
        return [tuple(r) for r in self._session.execute(
            select(WebhookDeliveryRow, WebhookRow)
            .join(WebhookRow, WebhookRow.id == WebhookDeliveryRow.webhook_id)
            .where(WebhookDeliveryRow.state == "pending", WebhookDeliveryRow.next_attempt_at <= now,
                   WebhookRow.active.is_(True))
            .order_by(WebhookDeliveryRow.next_attempt_at, WebhookDeliveryRow.id).limit(limit)).all()]

    def deliveries(self, ids: list[int]) -> dict[int, WebhookDeliveryRow]:
        return {d.id: d for d in self._session.scalars(select(WebhookDeliveryRow).where(WebhookDeliveryRow.id.in_(ids)))}

    def add_attempt(self, delivery_id: int, at: datetime, status_code: int | None, error: str | None,
                    duration_ms: int) -> None:
        self._session.add(WebhookAttemptRow(delivery_id=delivery_id, attempted_at=at, status_code=status_code,
                                            error=error, duration_ms=duration_ms))
