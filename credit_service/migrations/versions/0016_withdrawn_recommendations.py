"""expert recommendations can be withdrawn: when, by whom, why

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29

Staff could mark a practitioner for 优先推荐入医保专家库 (第八条第一项) but never take the mark back
(issue 11, loose ends). A withdrawn mark stays, with its withdrawal, and no longer gives the incentive.
"""
from alembic import op
import sqlalchemy as sa


revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("expert_recommendations") as batch_op:
        batch_op.add_column(sa.Column("withdrawn_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("withdrawal_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("expert_recommendations") as batch_op:
        batch_op.drop_column("withdrawal_reason")
        batch_op.drop_column("withdrawn_by")
        batch_op.drop_column("withdrawn_on")
