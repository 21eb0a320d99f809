"""The rows retention prunes (services/retention.py): old change-feed entries and delivered webhook
deliveries with their attempts."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from .orm import SubjectChangeRow, WebhookAttemptRow, WebhookDeliveryRow, WebhookRow

_CH = SubjectChangeRow.__table__.c
_D = WebhookDeliveryRow.__table__.c


class Retention:
    def __init__(self, session: Session):
        self._session = session

    def feed_head(self) -> int:
        """The newest change-feed entry's seq (0 if none)."""
        return self._session.scalar(select(func.max(_CH.seq))) or 0

    def lowest_active_cursor(self) -> int | None:
        """How far the slowest active webhook has read the feed (None: no active webhook)."""
        return self._session.scalar(select(func.min(WebhookRow.cursor)).where(WebhookRow.active.is_(True)))

    def webhook_cursors(self) -> list[tuple[str, int]]:
        return [tuple(r) for r in self._session.execute(select(WebhookRow.id, WebhookRow.cursor)).all()]

    def old_changes(self, below_seq: int, before: datetime, limit: int) -> list[int]:
        return list(self._session.scalars(select(_CH.seq).where(_CH.seq < below_seq, _CH.changed_at < before)
                                          .order_by(_CH.seq).limit(limit)))

    def delete_changes(self, seqs: list[int]) -> None:
        self._session.execute(delete(SubjectChangeRow).where(_CH.seq.in_(seqs)))

    def old_deliveries(self, webhook_id: str, delivered_before: datetime, up_to_seq: int, limit: int) -> list[int]:
        """Delivered rows of the webhook older than `delivered_before` whose feed entry is ≤ `up_to_seq`."""
        return list(self._session.scalars(select(_D.id).where(
            _D.webhook_id == webhook_id, _D.state == "delivered", _D.delivered_at < delivered_before,
            _D.seq <= up_to_seq).order_by(_D.id).limit(limit)))

    def delete_deliveries(self, ids: list[int]) -> int:
        """Deletes the deliveries and their attempts; returns how many attempts went."""
        attempts = self._session.execute(delete(WebhookAttemptRow).where(WebhookAttemptRow.delivery_id.in_(ids))).rowcount
        self._session.execute(delete(WebhookDeliveryRow).where(_D.id.in_(ids)))
        return attempts
