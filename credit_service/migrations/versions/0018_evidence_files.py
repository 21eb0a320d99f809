"""evidence files: the PDF/JPEG/PNG files brought with objections and repair applications

Revision ID: 0018
Revises: 0016
Create Date: 2026-11-29

Issue 12: a person files an objection (第十条) or a repair application (第十一、十二条) with its evidence
from the self-service pages or the API. The files are kept in the database, in the filing's
transaction and so in its backups, each with the SHA-256 of its content.
"""
from alembic import op
import sqlalchemy as sa


revision = "0018"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "evidence_files",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("case_kind", sa.String(length=16), nullable=False),
        sa.Column("case_id", sa.String(length=32), nullable=False),
        sa.Column("measure_id", sa.String(length=32), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("id_number", sa.String(length=64), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("filename", sa.String(length=160), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["measure_id"], ["measures.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_evidence_files_case", "evidence_files", ["case_kind", "case_id"], unique=False)
    op.create_index(op.f("ix_evidence_files_id_number"), "evidence_files", ["id_number"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_evidence_files_id_number"), table_name="evidence_files")
    op.drop_index("ix_evidence_files_case", table_name="evidence_files")
    op.drop_table("evidence_files")
