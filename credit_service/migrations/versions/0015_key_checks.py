"""key checks and change notifications: a check value of the configured keys, compared by every process
at start; on PostgreSQL, a NOTIFY for every insert into the change feed

Revision ID: 0015
Revises: 0013
Create Date: 2026-11-29

Two nodes on one database with different keys answered differently for the same person (issue 13).
Each process now compares its keys with the check values stored here (adapters/key_check.py).
Changes reached other nodes only at their next poll: a trigger now notifies every listening process when
a transaction that wrote the change feed commits (adapters/change_notify.py).
"""
from alembic import op
import sqlalchemy as sa


revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "key_checks",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("checks", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind"),
    )
    if op.get_bind().dialect.name == "postgresql":
        from credit_service.adapters.change_notify import TRIGGER_SQL
        for statement in TRIGGER_SQL:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        from credit_service.adapters.change_notify import DROP_TRIGGER_SQL
        for statement in DROP_TRIGGER_SQL:
            op.execute(statement)
    op.drop_table("key_checks")
