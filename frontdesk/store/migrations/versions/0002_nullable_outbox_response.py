"""nullable outbox response and invoice extraction

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23

An outbox entry has no server response until it is delivered, and a mail that could not be parsed has no extraction;
both columns were NOT NULL in 0001, which forced writers to invent placeholder values.
"""
import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_invoices', schema=None) as batch_op:
        batch_op.alter_column('extracted',
               existing_type=sa.TEXT(),
               nullable=True)

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('response',
               existing_type=sa.TEXT(),
               nullable=True)



def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('response',
               existing_type=sa.TEXT(),
               nullable=False)

    with op.batch_alter_table('inbound_invoices', schema=None) as batch_op:
        batch_op.alter_column('extracted',
               existing_type=sa.TEXT(),
               nullable=False)

