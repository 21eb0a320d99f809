"""notices, objections, repairs, measure events; measure and violation workflow columns

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('violations') as batch:
        batch.add_column(sa.Column('intake_order', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('voided_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('voided_by', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('reported_fund_loss_fen', sa.BigInteger(), nullable=True))
    with op.batch_alter_table('measures') as batch:
        batch.add_column(sa.Column('revoked_by', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('activated_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('ended_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('credit_state', sa.String(length=16), nullable=True))
        batch.add_column(sa.Column('credit_restored_on', sa.Date(), nullable=True))
        batch.add_column(sa.Column('credit_restored_how', sa.String(length=16), nullable=True))
    op.create_table('notices',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('measure_id', sa.String(length=32), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('served_on', sa.Date(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('objection_deadline', sa.Date(), nullable=False),
    sa.Column('deadline_provisional', sa.Boolean(), nullable=False),
    sa.Column('window_closed_on', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measures.id']),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('measure_id')
    )
    op.create_index('ix_notices_id_number', 'notices', ['id_number'])
    op.create_table('objections',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('measure_id', sa.String(length=32), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('acceptance_note', sa.Text(), nullable=False),
    sa.Column('evidence_complete_on', sa.Date(), nullable=True),
    sa.Column('review_due_on', sa.Date(), nullable=False),
    sa.Column('review_due_provisional', sa.Boolean(), nullable=False),
    sa.Column('overdue_on', sa.Date(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('corrected_fund_loss_fen', sa.BigInteger(), nullable=True),
    sa.Column('decided_late', sa.Boolean(), nullable=True),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measures.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_objections_measure_id', 'objections', ['measure_id'])
    op.create_index('ix_objections_id_number', 'objections', ['id_number'])
    op.create_index('ix_objections_region', 'objections', ['region'])
    op.create_index('uq_objections_open', 'objections', ['measure_id'], unique=True,
                    sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
    op.create_table('repairs',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('measure_id', sa.String(length=32), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('region', sa.String(length=6), nullable=False),
    sa.Column('filed_on', sa.Date(), nullable=False),
    sa.Column('corrected', sa.Boolean(), nullable=False),
    sa.Column('adverse_effects_removed', sa.Boolean(), nullable=False),
    sa.Column('commitment', sa.Boolean(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=False),
    sa.Column('reply_due_on', sa.Date(), nullable=False),
    sa.Column('reply_due_provisional', sa.Boolean(), nullable=False),
    sa.Column('overdue_on', sa.Date(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('decided_on', sa.Date(), nullable=True),
    sa.Column('decision_reason', sa.Text(), nullable=True),
    sa.Column('filed_by', sa.String(length=64), nullable=False),
    sa.Column('decided_by', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['measure_id'], ['measures.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_repairs_measure_id', 'repairs', ['measure_id'])
    op.create_index('ix_repairs_id_number', 'repairs', ['id_number'])
    op.create_index('ix_repairs_region', 'repairs', ['region'])
    op.create_index('uq_repairs_open', 'repairs', ['measure_id'], unique=True,
                    sqlite_where=sa.text("state = 'open'"), postgresql_where=sa.text("state = 'open'"))
    op.create_table('measure_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('measure_id', sa.String(length=32), nullable=False),
    sa.Column('subject_type', sa.String(length=16), nullable=False),
    sa.Column('id_number', sa.String(length=18), nullable=False),
    sa.Column('event', sa.String(length=32), nullable=False),
    sa.Column('ref', sa.String(length=32), nullable=False),
    sa.Column('on', sa.Date(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('measure_id', 'event', 'ref', name='uq_measure_events')
    )
    op.create_index('ix_measure_events_measure_id', 'measure_events', ['measure_id'])
    # The sweeps look for measures due to start or end.
    op.create_index('ix_measures_due_start', 'measures', ['starts_on'], sqlite_where=sa.text('activated_on IS NULL'),
                    postgresql_where=sa.text('activated_on IS NULL'))
    op.create_index('ix_measures_due_end', 'measures', ['restores_on'], sqlite_where=sa.text('ended_on IS NULL'),
                    postgresql_where=sa.text('ended_on IS NULL'))


def downgrade() -> None:
    op.drop_index('ix_measures_due_end', 'measures')
    op.drop_index('ix_measures_due_start', 'measures')
    op.drop_table('measure_events')
    op.drop_table('repairs')
    op.drop_table('objections')
    op.drop_table('notices')
    with op.batch_alter_table('measures') as batch:
        for column in ('credit_restored_how', 'credit_restored_on', 'credit_state', 'ended_on', 'activated_on',
                       'revoked_by'):
            batch.drop_column(column)
    with op.batch_alter_table('violations') as batch:
        for column in ('reported_fund_loss_fen', 'voided_by', 'voided_on', 'intake_order'):
            batch.drop_column(column)
