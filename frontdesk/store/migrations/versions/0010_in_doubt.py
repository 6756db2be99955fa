"""in-doubt deliveries, row claims, refused parts of a sale, households

Revision ID: 0010
Revises: 0002
Create Date: 2026-12-01

- outbox.lease_owner / lease_until: the drainer that claimed a row before sending it. A claim left behind by a
  drainer that died mid-request is how the next one knows the request may have reached the server ("in doubt").
- sale_redemptions.status / server_note: a reward or voucher the server refused no longer sinks its sale; the sale
  posts without it and the refusal is recorded on the redemption for the manager to settle with the customer.
- members.household_member_id: a member the server refused because another member holds the same phone (a child
  on a parent's phone) can be linked to that member as a household by a manager.

The new status values (outbox.status 'in_doubt', sales.status 'in_doubt', members.status 'conflict') need no schema
change: the columns are plain strings. Existing rows keep their meaning.
"""
import sqlalchemy as sa
from alembic import op

import frontdesk.store.types

revision = '0010'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_owner', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('lease_until', frontdesk.store.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table('sale_redemptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=16), nullable=False, server_default='pending'))
        batch_op.add_column(sa.Column('server_note', sa.Text(), nullable=False, server_default=''))
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('household_member_id', sa.Integer(), nullable=True))
    # An entry the old worker had already tried may have reached the server with its answer lost: in doubt, so
    # a duplicate refusal of its resend is taken as applied rather than as a rejection.
    op.execute("UPDATE outbox SET status = 'in_doubt' WHERE status = 'pending' AND attempts > 0")
    op.execute("UPDATE sales SET status = 'in_doubt' WHERE status = 'pending' AND id IN "
               "(SELECT sale_id FROM outbox WHERE status = 'in_doubt' AND sale_id IS NOT NULL)")
    # Redemptions of sales that already reached the server were applied with them.
    op.execute("UPDATE sale_redemptions SET status = 'applied' WHERE sale_id IN "
               "(SELECT id FROM sales WHERE status = 'synced')")


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'pending' WHERE status = 'in_doubt'")
    op.execute("UPDATE sales SET status = 'pending' WHERE status = 'in_doubt'")
    op.execute("UPDATE members SET status = 'pending' WHERE status = 'conflict'")
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_column('household_member_id')
    with op.batch_alter_table('sale_redemptions', schema=None) as batch_op:
        batch_op.drop_column('server_note')
        batch_op.drop_column('status')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_owner')
