"""the subject's lookup-key columns named for what they hold: `subjects.subject_key` and
`web_sessions.subject_key` → `lookup_key`

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29

Both columns hold the subject's lookup key (keyed HMAC, adapters/pii.py), the value every other table
calls `lookup_key` since 0019; `subject_key` is the name of the webhook events' per-webhook pseudonym
(domain/webhooks.py, the public contract), a different value (issue 10, item 6: one meaning per name).
Only names change: no row is rewritten, so renaming back is lossless.

- Columns are renamed in place (PostgreSQL `ALTER TABLE … RENAME COLUMN`; SQLite ≥ 3.25 the same, in
  Alembic batch mode without copying the table, as 0019 does). The primary key of `subjects` follows
  the column; its name (`subjects_pkey` on PostgreSQL, none on SQLite) does not name the column, and no
  index names either column: nothing else is renamed.
- Migrations 0006 and 0013, which created these columns, keep the old name (history).
"""
from alembic import op


revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# table → (old column, new column)
COLUMNS = {
    "subjects": ("subject_key", "lookup_key"),
    "web_sessions": ("subject_key", "lookup_key"),
}


def upgrade() -> None:
    _rename(forward=True)


def downgrade() -> None:
    _rename(forward=False)


def _rename(forward: bool) -> None:
    for table, (old, new) in COLUMNS.items():
        before, after = (old, new) if forward else (new, old)
        # recreate="never": SQLite renames the column itself (and the primary key naming it)
        with op.batch_alter_table(table, recreate="never") as batch_op:
            batch_op.alter_column(before, new_column_name=after)
