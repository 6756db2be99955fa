"""the phone index covers what a search hit shows

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

An exact phone lookup (a typed or scanned number) lists the member with name, number, email, member ID, tier and
points. With those columns in `ix_members_phone_e164` the lookup reads one index page instead of an index page and
the member's row, a random page of the largest table (the common case at a million members: not in the cache).
The index replaces the phone-only one, so every other lookup by phone uses it as before.
"""
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_members_phone_e164', table_name='members')
    op.create_index('ix_members_phone_e164', 'members',
                    ['phone_e164', 'display_name', 'email', 'member_no', 'tier_code', 'points_balance'])


def downgrade() -> None:
    op.drop_index('ix_members_phone_e164', table_name='members')
    op.create_index('ix_members_phone_e164', 'members', ['phone_e164'])
