"""Daily: prune change-feed entries and delivered webhook rows older than
CREDIT_SERVICE_CHANGE_RETENTION_DAYS that every active receiver has (services/retention.py)."""
from __future__ import annotations

from credit_service.services.retention import prune


def run(container, as_of=None) -> str:
    return str(prune(container.uow, container.clock.now(), container.settings.change_retention_days))
