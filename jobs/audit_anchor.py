"""Anchor the audit trail: append its signed head to the anchor file (services/audit.anchor).

Runs every CREDIT_SERVICE_AUDIT_ANCHOR_INTERVAL_SECONDS under its own lock (one runner at a time);
a head already anchored is not written again, so every web worker's scheduler may try.
"""
from __future__ import annotations

from credit_service.services.audit import anchor


def run(container, as_of=None) -> str:
    path = container.settings.audit_anchor_file
    with container.session_factory() as session:
        record = anchor(session, path, container.clock.now(), keys=container.audit_keys)
    return "nothing new to anchor" if record is None else f"anchored seq {record['seq']}"
