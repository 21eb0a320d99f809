"""practitioners: violation category, re-registration date of ended qualifications, expert recommendations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("category", sa.String(length=32), nullable=True))
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reregistration_from", sa.Date(), nullable=True))
    op.create_table(
        "expert_recommendations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("marked_by", sa.String(length=64), nullable=False),
        sa.Column("marked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("subject_type", "id_number", "year", name="uq_expert_recommendations"),
    )
    with op.batch_alter_table("expert_recommendations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_recommendations_id_number"), ["id_number"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("expert_recommendations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_recommendations_id_number"))
    op.drop_table("expert_recommendations")
    with op.batch_alter_table("measures", schema=None) as batch_op:
        batch_op.drop_column("reregistration_from")
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.drop_column("category")
