"""join the two branches from 0001: 0002 (notices, objections, repairs) and 0003_practitioners

They touch different columns and tables, so either order gives the same schema.

Revision ID: 0004_merge
Revises: 0002, 0003_practitioners
Create Date: 2026-11-26
"""

revision = "0004_merge"
down_revision = ("0002", "0003_practitioners")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
