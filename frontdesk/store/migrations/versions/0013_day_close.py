"""the manager's day: day closes with their snapshot, point adjustments, day indexes

Revision ID: 0013
Revises: 0002
Create Date: 2026-12-01

A closed day keeps a frozen copy of its totals (`day_closes.snapshot`) so later changes show as after-close
adjustments instead of rewriting what was closed. Point adjustments get a table of their own (reason, approving
manager) beside the ledger row and the outbox entry that carry them. The outbox gains an index on created_at,
and on sale_id, and sales on original_sale_id: the day's sync health, each sale's entry and the reversals of a
day's sales are looked up by them.
"""
from alembic import op
import sqlalchemy as sa
import frontdesk.store.types


revision = '0013'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'day_closes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('outlet_code', sa.String(length=32), nullable=False),
        sa.Column('counter_id', sa.String(length=32), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('closed_at', frontdesk.store.types.UTCDateTime(), nullable=False),
        sa.Column('closed_by', sa.Integer(), nullable=True),
        sa.Column('override_reason', sa.Text(), nullable=True),
        sa.Column('blockers', frontdesk.store.types.JSONText(), nullable=False),
        sa.Column('snapshot', frontdesk.store.types.JSONText(), nullable=False),
        sa.Column('reopened_at', frontdesk.store.types.UTCDateTime(), nullable=True),
        sa.Column('reopened_by', sa.Integer(), nullable=True),
        sa.Column('reopen_reason', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['closed_by'], ['staff.id'], name=op.f('fk_day_closes_closed_by_staff')),
        sa.ForeignKeyConstraint(['reopened_by'], ['staff.id'], name=op.f('fk_day_closes_reopened_by_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_day_closes')),
    )
    with op.batch_alter_table('day_closes', schema=None) as batch_op:
        batch_op.create_index('ix_day_closes_business_date', ['business_date'], unique=False)
        batch_op.create_index('uq_day_closes_scope_closed', ['business_date', 'outlet_code', 'counter_id'],
                              unique=True, sqlite_where=sa.text("status = 'closed'"))

    op.create_table(
        'point_adjustments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('points', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('approved_by', sa.Integer(), nullable=True),
        sa.Column('requested_by', sa.Integer(), nullable=True),
        sa.Column('outlet_code', sa.String(length=32), nullable=False),
        sa.Column('counter_id', sa.String(length=32), nullable=False),
        sa.Column('occurred_at', frontdesk.store.types.UTCDateTime(), nullable=False),
        sa.Column('ledger_entry_id', sa.Integer(), nullable=True),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['approved_by'], ['staff.id'], name=op.f('fk_point_adjustments_approved_by_staff')),
        sa.ForeignKeyConstraint(['ledger_entry_id'], ['points_ledger.id'],
                                name=op.f('fk_point_adjustments_ledger_entry_id_points_ledger')),
        sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_point_adjustments_member_id_members')),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_point_adjustments_outbox_id_outbox')),
        sa.ForeignKeyConstraint(['requested_by'], ['staff.id'],
                                name=op.f('fk_point_adjustments_requested_by_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_point_adjustments')),
    )
    with op.batch_alter_table('point_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_point_adjustments_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_point_adjustments_occurred_at'), ['occurred_at'], unique=False)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_outbox_sale_id', ['sale_id'], unique=False)
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.create_index('ix_sales_original_sale_id', ['original_sale_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sales', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_original_sale_id')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_sale_id')
        batch_op.drop_index('ix_outbox_created_at')
    with op.batch_alter_table('point_adjustments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_point_adjustments_occurred_at'))
        batch_op.drop_index(batch_op.f('ix_point_adjustments_member_id'))
    op.drop_table('point_adjustments')
    with op.batch_alter_table('day_closes', schema=None) as batch_op:
        batch_op.drop_index('uq_day_closes_scope_closed')
        batch_op.drop_index('ix_day_closes_business_date')
    op.drop_table('day_closes')
