"""violation fingerprints (body_hash) without the identity number

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26

The replay fingerprint was a plain SHA-256 over the body including the identity number, so a stored
fingerprint let anyone with the table guess the number back offline (the other fields are known to
many). It now leaves the number out; intake compares the subject by its keyed lookup hash instead.
"""
from decimal import Decimal

from alembic import op
import sqlalchemy as sa


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_BATCH = 5000


def upgrade() -> None:
    from credit_service.domain.violations import ViolationInput

    bind = op.get_bind()
    bind.execute(sa.text("CREATE TEMPORARY TABLE fingerprint_map (id VARCHAR(32) NOT NULL, body_hash VARCHAR(64) NOT NULL)"))
    fingerprints = sa.table("fingerprint_map", sa.column("id"), sa.column("body_hash"))
    after = ""
    while True:
        rows = bind.execute(sa.text(
            "SELECT id, source, source_ref, subject_type, name, region, occurred_on, determined_on, fund_loss_fen, "
            "reported_fund_loss_fen, handling, fraud, points, description, months_override, category "
            "FROM violations WHERE id > :after ORDER BY id LIMIT :n"), {"after": after, "n": _BATCH}).all()
        if not rows:
            break
        mapping = []
        for r in rows:
            reported = r.reported_fund_loss_fen if r.reported_fund_loss_fen is not None else r.fund_loss_fen
            body = ViolationInput(
                source=r.source, source_ref=r.source_ref, subject_type=r.subject_type, id_number="", name=r.name,
                region=r.region, occurred_on=_date(r.occurred_on), determined_on=_date(r.determined_on),
                fund_loss=Decimal(reported).scaleb(-2), handling=r.handling, fraud=bool(r.fraud), points=r.points,
                description=r.description, months_override=r.months_override, category=r.category)
            mapping.append({"id": r.id, "body_hash": body.body_hash()})
        bind.execute(fingerprints.insert(), mapping)
        after = rows[-1].id
    bind.execute(sa.text("CREATE INDEX fingerprint_map_id ON fingerprint_map (id)"))
    bind.execute(sa.text("UPDATE violations SET body_hash = fingerprint_map.body_hash FROM fingerprint_map "
                         "WHERE violations.id = fingerprint_map.id"))
    bind.execute(sa.text("DROP TABLE fingerprint_map"))


def _date(value):
    from datetime import date
    return value if isinstance(value, date) else date.fromisoformat(value)


def downgrade() -> None:
    raise NotImplementedError("the identity numbers are no longer stored in plain text: fingerprints cannot go back")
