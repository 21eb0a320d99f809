"""webhook scopes, sealed webhook secrets and pseudonym keys; audit events MAC'd under an outside key

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27

Issue 9, findings 3, 4 and 12:
- `webhooks.secret` (plain) becomes `secret_sealed` (AES-GCM with the identity numbers' key ring, read
  from configuration like the application: CREDIT_SERVICE_PII_ENCRYPTION_KEYS or var/pii-keys.json);
  each webhook gets a fresh sealed pseudonym key for its events' `subject_key`; `scope` is added.
  A webhook registered before scopes existed would get every subject of the province: it is
  deactivated here, keeping its cursor — `credit-service webhooks scope ID --region …` gives it a scope
  and activates it again, and it then carries on with the changes made meanwhile.
- `audit_events.mac`: every existing event is MAC'd with the audit key (CREDIT_SERVICE_AUDIT_MAC_KEYS,
  or var/audit-keys.json), after checking that the chain is intact — a broken chain stops the
  migration (run `credit-service audit verify` and investigate first). Tampering before this upgrade
  is what the hash chain alone could show; from here on, the MAC and the anchors show the rest.
"""
import base64
import secrets

from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_BATCH = 5000


def _add_not_null(table: str, name: str, type_) -> None:
    """Add a NOT NULL column to a table that may have rows: with a temporary default ('' — every row is
    filled before anything reads it); PostgreSQL drops the default again (SQLite cannot)."""
    op.add_column(table, sa.Column(name, type_, nullable=False, server_default=sa.text("''")))


def _webhooks() -> None:
    from credit_service.adapters.pii import ring

    _add_not_null("webhooks", "secret_sealed", sa.Text())
    _add_not_null("webhooks", "pseudonym_key_sealed", sa.String(length=128))
    op.add_column("webhooks", sa.Column("scope", sa.Text(), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, secret FROM webhooks")).all()
    if rows:
        keyring = ring()
        bind.execute(sa.text("UPDATE webhooks SET secret_sealed = :secret_sealed, "
                             "pseudonym_key_sealed = :pseudonym_key_sealed, active = :inactive WHERE id = :id"),
                     [{"id": webhook_id, "inactive": False,
                       # as services/webhooks.seal_webhook_keys does: the webhook's id in the associated data
                       "secret_sealed": keyring.seal_secret(f"webhook-secret:{webhook_id}", secret),
                       "pseudonym_key_sealed": keyring.seal_secret(
                           f"webhook-pseudonym:{webhook_id}", base64.b64encode(secrets.token_bytes(32)).decode())}
                      for webhook_id, secret in rows])
    if bind.dialect.name == "postgresql":
        op.alter_column("webhooks", "secret_sealed", server_default=None)
        op.alter_column("webhooks", "pseudonym_key_sealed", server_default=None)
    op.drop_column("webhooks", "secret")


def _audit() -> None:
    from credit_service.adapters.audit_keys import current
    from credit_service.services.audit import GENESIS, chain_hash

    op.add_column("audit_events", sa.Column("mac", sa.String(length=80), nullable=True))
    bind = op.get_bind()
    keys = current()
    bind.execute(sa.text("CREATE TEMPORARY TABLE audit_mac_map (seq BIGINT NOT NULL, mac VARCHAR(80) NOT NULL)"))
    macs = sa.table("audit_mac_map", sa.column("seq"), sa.column("mac"))
    previous, expected = GENESIS, 1
    import logging

    from credit_service.progress import Progress
    progress = Progress("0008: audit events MAC'd", bind.execute(sa.text("SELECT count(*) FROM audit_events")).scalar(),
                        "events", log=logging.getLogger("alembic.runtime.migration"))
    while True:
        progress(expected - 1)
        rows = bind.execute(sa.text("SELECT seq, payload, prev_hash, hash FROM audit_events WHERE seq >= :s "
                                    "ORDER BY seq LIMIT :n"), {"s": expected, "n": _BATCH}).all()
        if not rows:
            break
        for seq, payload, prev_hash, digest in rows:
            if seq != expected or prev_hash != previous or chain_hash(prev_hash, payload) != digest:
                raise RuntimeError(f"审计记录哈希链在序号{seq}处已断裂：请先运行 credit-service audit verify 查明原因，再迁移。")
            previous, expected = digest, seq + 1
        bind.execute(macs.insert(), [{"seq": seq, "mac": keys.event_mac(seq, digest)} for seq, _, _, digest in rows])
    progress.finish()
    if expected > 1:
        bind.execute(sa.text("CREATE INDEX audit_mac_map_seq ON audit_mac_map (seq)"))
        bind.execute(sa.text("UPDATE audit_events SET mac = audit_mac_map.mac FROM audit_mac_map "
                             "WHERE audit_events.seq = audit_mac_map.seq"))
    bind.execute(sa.text("DROP TABLE audit_mac_map"))


def upgrade() -> None:
    _webhooks()
    _audit()


def downgrade() -> None:
    raise NotImplementedError("webhook secrets are not written back in plain text; restore a backup instead")
