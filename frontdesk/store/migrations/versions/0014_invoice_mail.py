"""invoice mail: mailbox state, and what the review list and the reconciliation need of each mail

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01

Issue 14 (WESS invoice mail). Adds to `inbound_invoices` the receipt's own time, total, customer and member, the
machine-readable reason a mail stopped, the mail itself (capped), resend counts and the manager's decision; adds
`invoice_mailbox_state` (UIDVALIDITY and last UID per IMAP folder).
"""
from alembic import op
import sqlalchemy as sa
import frontdesk.store.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('invoice_mailbox_state',
    sa.Column('account', sa.String(length=255), nullable=False),
    sa.Column('folder', sa.String(length=255), nullable=False),
    sa.Column('uidvalidity', sa.Integer(), nullable=False),
    sa.Column('last_uid', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('rescans', sa.Integer(), nullable=False, server_default='0'),
    sa.Column('updated_at', frontdesk.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'folder', name=op.f('pk_invoice_mailbox_state'))
    )
    with op.batch_alter_table('inbound_invoices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_code', sa.String(length=32), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('sender', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('subject', sa.String(length=255), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('occurred_at', frontdesk.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('currency', sa.String(length=3), nullable=False, server_default='SGD'))
        batch_op.add_column(sa.Column('total_minor', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('customer_label', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('member_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('related_invoice_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('raw_mail', sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column('raw_size', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('seen_count', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('decided_by', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_at', frontdesk.store.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('decision_note', sa.Text(), nullable=False, server_default=''))
        batch_op.create_foreign_key(batch_op.f('fk_inbound_invoices_member_id_members'), 'members',
                                    ['member_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_inbound_invoices_related_invoice_id_inbound_invoices'),
                                    'inbound_invoices', ['related_invoice_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_inbound_invoices_decided_by_staff'), 'staff',
                                    ['decided_by'], ['id'])
        batch_op.create_index('ix_inbound_invoices_outlet_code_receipt_no', ['outlet_code', 'receipt_no'])
        batch_op.create_index('ix_inbound_invoices_status', ['status'])


def downgrade() -> None:
    with op.batch_alter_table('inbound_invoices', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_invoices_status')
        batch_op.drop_index('ix_inbound_invoices_outlet_code_receipt_no')
        batch_op.drop_constraint(batch_op.f('fk_inbound_invoices_decided_by_staff'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_inbound_invoices_related_invoice_id_inbound_invoices'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_inbound_invoices_member_id_members'), type_='foreignkey')
        for column in ('decision_note', 'decided_at', 'decided_by', 'seen_count', 'raw_size', 'raw_mail',
                       'related_invoice_id', 'member_id', 'customer_label', 'total_minor', 'currency',
                       'occurred_at', 'subject', 'sender', 'review_code'):
            batch_op.drop_column(column)
    op.drop_table('invoice_mailbox_state')
