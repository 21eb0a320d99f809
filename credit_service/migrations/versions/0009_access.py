"""access: tokens that expire; filing dates entered by staff

Revision ID: 0009
Revises: 0007
Create Date: 2026-11-29

`api_clients.expires_at`: a token is refused from that instant (NULL: it does not expire).
`objections.filed_on_entered` / `repairs.filed_on_entered`: the filing date is one a staff member
entered (the day a paper filing was received), not the service's own day of filing (API.md v1.1).
Rows written before are the service's own dates as far as anyone knows: false.
"""
from alembic import op
import sqlalchemy as sa


revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    for table in ("objections", "repairs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("filed_on_entered", sa.Boolean(), nullable=False,
                                       server_default=sa.false()))


def downgrade() -> None:
    for table in ("repairs", "objections"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("filed_on_entered")
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("expires_at")
