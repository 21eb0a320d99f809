"""lookup-key columns named for what they hold: `id_number` → `lookup_key`,
`api_clients.subject_id_number` → `subject_lookup_key`, and the indexes named after them

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29

Since 0006 these columns hold the subject's lookup key (keyed HMAC, adapters/pii.py), never the number;
the old name misled (issue 10, item 6). Only names change: no row is rewritten, so renaming back is
lossless.

- Columns are renamed in place (PostgreSQL `ALTER TABLE … RENAME COLUMN`; SQLite ≥ 3.25 the same, in
  Alembic batch mode without copying the table), which also rewrites the indexes and unique constraints
  that name them (`ix_violations_subject_year`, `ix_measures_subject`, `ix_audit_events_subject`,
  `uq_expert_recommendations`) and keeps the partial indexes of `measures`, `objections`, `repairs` as
  they are. Nothing is copied: the time does not grow with the tables.
- Indexes named after the column (`ix_<table>_id_number`) are renamed: PostgreSQL `ALTER INDEX … RENAME`,
  SQLite (no such statement) dropped and created again.
- The change feed's NOTIFY trigger (0015, PostgreSQL) does not read any column: it stays as it is.
- The audit trail is not rewritten. Each event's hashed payload keeps its field `id_number` (the event
  document's field, shown to readers as the number: GET /api/v1/audit); only the column that mirrors it
  for queries is renamed, and `audit verify` compares that field with `lookup_key` (adapters/audit_trail.py),
  for events written before this migration and after it alike.
"""
from alembic import op


revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# table → (old column, new column)
COLUMNS = {
    "violations": ("id_number", "lookup_key"),
    "measures": ("id_number", "lookup_key"),
    "subject_changes": ("id_number", "lookup_key"),
    "expert_recommendations": ("id_number", "lookup_key"),
    "notices": ("id_number", "lookup_key"),
    "objections": ("id_number", "lookup_key"),
    "repairs": ("id_number", "lookup_key"),
    "measure_events": ("id_number", "lookup_key"),
    "audit_events": ("id_number", "lookup_key"),
    "evidence_files": ("id_number", "lookup_key"),
    "api_clients": ("subject_id_number", "subject_lookup_key"),
}
# the single-column indexes named after the column (index=True in the models)
INDEXED = ("notices", "objections", "repairs", "expert_recommendations", "evidence_files")


def upgrade() -> None:
    _rename(forward=True)


def downgrade() -> None:
    _rename(forward=False)


def _rename(forward: bool) -> None:
    for table, (old, new) in COLUMNS.items():
        before, after = (old, new) if forward else (new, old)
        # recreate="never": SQLite renames the column itself (and every index and constraint naming it)
        with op.batch_alter_table(table, recreate="never") as batch_op:
            batch_op.alter_column(before, new_column_name=after)
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in INDEXED:
        old, new = COLUMNS[table]
        before, after = (f"ix_{table}_{old}", f"ix_{table}_{new}")
        if not forward:
            before, after = after, before
        column = new if forward else old
        if postgresql:
            op.execute(f'ALTER INDEX "{before}" RENAME TO "{after}"')
        else:
            with op.batch_alter_table(table, recreate="never") as batch_op:
                batch_op.drop_index(before)
                batch_op.create_index(after, [column], unique=False)
