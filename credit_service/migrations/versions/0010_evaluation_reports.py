"""monthly statistics frozen on the 1st; why a measure's credit state is what it is

Revision ID: 0010
Revises: 0007
Create Date: 2026-11-29

`monthly_reports` keeps each frozen month's report (月度统计报表) as the exact bytes handed out (JSON,
CSV, XLSX): fetched again after later corrections it is byte-identical. `measures.credit_note` says
which way credit was restored (第十二条 automatically at the end of the period, also when a repair filed
within the period was approved after it; or 第十一条 by a repair approved later) or why it is not yet.
"""
from alembic import op
import sqlalchemy as sa


revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("measures", sa.Column("credit_note", sa.Text(), nullable=True))
    op.create_table(
        "monthly_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("region", sa.String(6), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("frozen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body_json", sa.LargeBinary(), nullable=False),
        sa.Column("body_csv", sa.LargeBinary(), nullable=False),
        sa.Column("body_xlsx", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.UniqueConstraint("region", "month", name="uq_monthly_reports"),
    )


def downgrade() -> None:
    op.drop_table("monthly_reports")
    with op.batch_alter_table("measures") as batch:
        batch.drop_column("credit_note")
