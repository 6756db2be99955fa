"""a visit recorded at any outlet raises the member's last visit

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

Digit search ranks "visited this outlet recently" first and looks up the visit at this outlet only for members whose
own `last_visit_at` is recent (most candidates of a fragment or last-4 search are not, so most cost no probe of
`member_visits`). That is right only while no visit at an outlet is later than the member's last visit. Counter sales
keep both (0012's sale trigger); these triggers make it hold for every other writer of `member_visits` too (the
server's visit history, an import), and the upgrade repairs any member a past writer left behind.
"""
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


_RAISE_LAST_VISIT = ("UPDATE members SET last_visit_at = new.last_visit_at WHERE id = new.member_id "
                     "AND (last_visit_at IS NULL OR last_visit_at < new.last_visit_at)")


VISIT_RAISES_LAST_VISIT_TRIGGERS = [
    f"""CREATE TRIGGER member_visits_raise_last_visit_ai AFTER INSERT ON member_visits BEGIN
        {_RAISE_LAST_VISIT}; END""",
    f"""CREATE TRIGGER member_visits_raise_last_visit_au AFTER UPDATE OF last_visit_at ON member_visits BEGIN
        {_RAISE_LAST_VISIT}; END""",
]


def upgrade() -> None:
    op.execute("UPDATE members SET last_visit_at = (SELECT max(v.last_visit_at) FROM member_visits v "
               "WHERE v.member_id = members.id) WHERE id IN (SELECT member_id FROM member_visits) "
               "AND (last_visit_at IS NULL OR last_visit_at < (SELECT max(v.last_visit_at) FROM member_visits v "
               "WHERE v.member_id = members.id))")
    for statement in VISIT_RAISES_LAST_VISIT_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS member_visits_raise_last_visit_ai")
    op.execute("DROP TRIGGER IF EXISTS member_visits_raise_last_visit_au")
