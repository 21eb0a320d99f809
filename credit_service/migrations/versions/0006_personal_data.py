"""personal data: identity numbers as keyed lookup hashes, sealed numbers in `subjects`

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

Every column that held an identity number now holds its lookup key (adapters/pii.py); the keys are
read from configuration like the application does (CREDIT_SERVICE_PII_* or var/pii-keys.json).
Existing rows are converted here. The audit trail's payloads named the numbers: they are rewritten to
name the lookup key instead and the chain is re-hashed once — after checking that it was intact
(a broken chain stops the migration: run `credit-service audit verify` and investigate first).
"""
import json

from alembic import op
import sqlalchemy as sa


revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# table -> (identity column, indexes on it: name, columns)
_COLUMNS = {
    "violations": ("id_number", False, [("ix_violations_subject_year", ["id_number", "subject_type", "record_year"])]),
    "measures": ("id_number", False, [("ix_measures_subject", ["id_number", "subject_type"])]),
    "notices": ("id_number", False, [("ix_notices_id_number", ["id_number"])]),
    "objections": ("id_number", False, [("ix_objections_id_number", ["id_number"])]),
    "repairs": ("id_number", False, [("ix_repairs_id_number", ["id_number"])]),
    "measure_events": ("id_number", False, []),
    "audit_events": ("id_number", True, [("ix_audit_events_subject", ["id_number", "subject_type", "day"])]),
    "api_clients": ("subject_id_number", True, []),
}
_ALL = [*_COLUMNS, "expert_recommendations", "subject_changes"]


def _column(table: str) -> str:
    return "subject_id_number" if table == "api_clients" else "id_number"


def _widen() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        for table in [*_COLUMNS, "expert_recommendations"]:
            op.alter_column(table, _column(table), type_=sa.String(64), existing_type=sa.String(18))
        return
    # SQLite: no ALTER COLUMN, and violations/measures are parents of foreign keys (a table copy would
    # break them): add a wide column, copy, drop the narrow one, rename.
    for table, (column, nullable, indexes) in _COLUMNS.items():
        for name, _ in indexes:
            op.drop_index(name, table_name=table)
        not_null = "" if nullable else " NOT NULL DEFAULT ''"
        op.execute(f"ALTER TABLE {table} ADD COLUMN {column}_wide VARCHAR(64){not_null}")
        op.execute(f"UPDATE {table} SET {column}_wide = {column}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        op.execute(f"ALTER TABLE {table} RENAME COLUMN {column}_wide TO {column}")
        for name, columns in indexes:
            op.create_index(name, table, columns)
    with op.batch_alter_table("expert_recommendations") as batch_op:  # no foreign keys point at it
        batch_op.alter_column("id_number", type_=sa.String(64), existing_type=sa.String(18),
                              existing_nullable=False)


def _is_plain(value) -> bool:
    return isinstance(value, str) and len(value) == 18 and ":" not in value


def _convert() -> None:
    from credit_service.adapters.pii import ring
    from credit_service.services.audit import GENESIS, chain_hash

    bind = op.get_bind()
    keyring = ring()
    pairs: set[tuple[str, str]] = set()
    for table in _ALL:
        column = _column(table)
        for subject_type, number in bind.execute(sa.text(
                f"SELECT DISTINCT subject_type, {column} FROM {table} WHERE {column} IS NOT NULL")):
            if subject_type in ("insured", "physician", "pharmacist") and _is_plain(number):
                pairs.add((subject_type, number))
    if not pairs:
        return
    keys = {pair: keyring.lookup_key(*pair) for pair in pairs}
    subjects = sa.table("subjects", sa.column("subject_key"), sa.column("subject_type"), sa.column("id_sealed"))
    rows = [{"subject_key": key, "subject_type": t, "id_sealed": keyring.seal(t, n)} for (t, n), key in keys.items()]
    import logging

    from credit_service.progress import Progress
    progress = Progress("0006: subjects sealed", len(rows), "subjects", log=logging.getLogger("alembic.runtime.migration"))
    for i in range(0, len(rows), 1000):
        bind.execute(subjects.insert(), rows[i:i + 1000])
        progress(i + len(rows[i:i + 1000]))
    progress.finish()
    # Set-based: one UPDATE … FROM a mapping table per table (a statement per subject and table took
    # over 5 minutes for 500,000 subjects on PostgreSQL).
    bind.execute(sa.text("CREATE TEMPORARY TABLE pii_map (subject_type VARCHAR(16) NOT NULL, "
                         "number VARCHAR(18) NOT NULL, lookup VARCHAR(64) NOT NULL)"))
    pii_map = sa.table("pii_map", sa.column("subject_type"), sa.column("number"), sa.column("lookup"))
    mapping = [{"subject_type": t, "number": n, "lookup": key} for (t, n), key in keys.items()]
    for i in range(0, len(mapping), 5000):
        bind.execute(pii_map.insert(), mapping[i:i + 5000])
    bind.execute(sa.text("CREATE INDEX pii_map_number ON pii_map (number, subject_type)"))
    for table in _ALL:
        column = _column(table)
        logging.getLogger("alembic.runtime.migration").info("0006: lookup keys into %s", table)
        bind.execute(sa.text(f"UPDATE {table} SET {column} = pii_map.lookup FROM pii_map "
                             f"WHERE {table}.subject_type = pii_map.subject_type AND {table}.{column} = pii_map.number"))
    bind.execute(sa.text("DROP TABLE pii_map"))

    # The audit trail: check the chain, name the lookup key in each payload, re-hash the chain.
    previous, expected = GENESIS, 1
    audit_rows = bind.execute(sa.text("SELECT seq, payload, prev_hash, hash FROM audit_events ORDER BY seq")).all()
    for seq, payload, prev_hash, digest in audit_rows:
        if seq != expected or prev_hash != previous or chain_hash(prev_hash, payload) != digest:
            raise RuntimeError(f"审计记录哈希链在序号{seq}处已断裂：请先运行 credit-service audit verify 查明原因，再迁移。")
        previous, expected = digest, seq + 1
    previous, changed = GENESIS, []
    for seq, payload, prev_hash, digest in audit_rows:
        number = json.loads(payload).get("id_number")
        if _is_plain(number):
            subject_type = json.loads(payload).get("subject_type")
            payload = payload.replace(f'"id_number":"{number}"', f'"id_number":"{keys[(subject_type, number)]}"')
        new_digest = chain_hash(previous, payload)
        if new_digest != digest or prev_hash != previous:
            changed.append({"seq": seq, "payload": payload, "prev_hash": previous, "hash": new_digest})
        previous = new_digest
    if changed:
        bind.execute(sa.text("UPDATE audit_events SET payload = :payload, prev_hash = :prev_hash, hash = :hash "
                             "WHERE seq = :seq"), changed)


def upgrade() -> None:
    op.create_table(
        "subjects",
        sa.Column("subject_key", sa.String(length=64), nullable=False),
        sa.Column("subject_type", sa.String(length=16), nullable=False),
        sa.Column("id_sealed", sa.String(length=128), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("subject_key"),
    )
    _widen()
    _convert()


def downgrade() -> None:
    raise NotImplementedError("identity numbers are not written back in plain text; restore a backup instead")
