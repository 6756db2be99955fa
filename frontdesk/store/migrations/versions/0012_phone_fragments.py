"""phone fragments and visit history for search ranking; a voided receipt can be recorded again

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-01

Two search aids, both kept by triggers so no writer (enrolment, sync pull, the demo loader, a future import) can
forget them:
- `phone_fragments`: every 5-digit window of each member's number (E.164 digits without the plus), so a fragment
  of five or more digits from anywhere in a number is an indexed lookup followed by a substring check;
- `member_visits`: how often and when last each member bought at each outlet, so type-ahead can put the member who
  is likely standing at this counter first. Counter sales feed it; the server's visit history may add to it.
Both are filled for existing members and sales during the upgrade.

A receipt recorded for the wrong member is voided and recorded again: `sales.voided` (set by a trigger when the void
is written) takes voided sales out of the one-sale-per-receipt index.
"""
import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None

FRAGMENT = 5
# E.164 has at most 15 digits, so at most 11 windows of 5. SQLite triggers cannot use a WITH clause, hence the
# literal list of offsets.
_OFFSETS = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(1, 16 - FRAGMENT + 1 + 1))


def _grams(row: str) -> str:
    return (f"SELECT substr(substr({row}.phone_e164, 2), o.n, {FRAGMENT}) AS gram FROM ({_OFFSETS}) AS o "
            f"WHERE o.n + {FRAGMENT - 1} <= length({row}.phone_e164) - 1")


PHONE_FRAGMENT_TRIGGERS = [
    f"""CREATE TRIGGER phone_fragments_ai AFTER INSERT ON members WHEN new.phone_e164 IS NOT NULL BEGIN
        INSERT OR IGNORE INTO phone_fragments(gram, member_id) SELECT gram, new.id FROM ({_grams('new')}); END""",
    f"""CREATE TRIGGER phone_fragments_ad AFTER DELETE ON members WHEN old.phone_e164 IS NOT NULL BEGIN
        DELETE FROM phone_fragments WHERE member_id = old.id AND gram IN ({_grams('old')}); END""",
    f"""CREATE TRIGGER phone_fragments_au AFTER UPDATE OF phone_e164 ON members
        WHEN old.phone_e164 IS NOT new.phone_e164 BEGIN
        DELETE FROM phone_fragments WHERE member_id = old.id AND gram IN ({_grams('old')});
        INSERT OR IGNORE INTO phone_fragments(gram, member_id) SELECT gram, new.id FROM ({_grams('new')})
            WHERE new.phone_e164 IS NOT NULL; END""",
]

# A counter sale is a visit at its outlet. Voids and refunds are not new visits.
VISIT_TRIGGERS = [
    """CREATE TRIGGER member_visits_sale AFTER INSERT ON sales
        WHEN new.kind = 'sale' AND new.member_id IS NOT NULL BEGIN
        INSERT INTO member_visits(member_id, outlet_code, visits, last_visit_at)
            VALUES (new.member_id, new.outlet_code, 1, new.occurred_at)
            ON CONFLICT(member_id, outlet_code) DO UPDATE SET visits = visits + 1,
                last_visit_at = max(last_visit_at, excluded.last_visit_at);
        UPDATE members SET last_visit_at = new.occurred_at
            WHERE id = new.member_id AND (last_visit_at IS NULL OR last_visit_at < new.occurred_at); END""",
]


SALE_VOIDED_TRIGGER = """CREATE TRIGGER sales_voided AFTER INSERT ON sales WHEN new.kind = 'void' BEGIN
    UPDATE sales SET voided = 1 WHERE id = new.original_sale_id; END"""


def upgrade() -> None:
    op.add_column('sales', sa.Column('voided', sa.Boolean(), nullable=False, server_default=sa.text('0')))
    op.execute("UPDATE sales SET voided = 1 WHERE id IN (SELECT original_sale_id FROM sales WHERE kind = 'void')")
    op.execute("DROP INDEX uq_sales_outlet_receipt_sale")
    op.execute("CREATE UNIQUE INDEX uq_sales_outlet_receipt_sale ON sales (outlet_code, receipt_no) "
               "WHERE kind = 'sale' AND voided = 0")
    op.execute(SALE_VOIDED_TRIGGER)
    op.create_table(
        'phone_fragments',
        sa.Column('gram', sa.String(length=FRAGMENT), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('gram', 'member_id', name=op.f('pk_phone_fragments')),
        sqlite_with_rowid=False,
    )
    op.create_table(
        'member_visits',
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('outlet_code', sa.String(length=32), nullable=False),
        sa.Column('visits', sa.Integer(), nullable=False),
        sa.Column('last_visit_at', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('member_id', 'outlet_code', name=op.f('pk_member_visits')),
        sqlite_with_rowid=False,
    )
    op.execute(f"INSERT OR IGNORE INTO phone_fragments(gram, member_id) "
               f"SELECT substr(substr(m.phone_e164, 2), o.n, {FRAGMENT}), m.id FROM members m, ({_OFFSETS}) AS o "
               f"WHERE m.phone_e164 IS NOT NULL AND o.n + {FRAGMENT - 1} <= length(m.phone_e164) - 1")
    op.execute("INSERT INTO member_visits(member_id, outlet_code, visits, last_visit_at) "
               "SELECT member_id, outlet_code, count(*), max(occurred_at) FROM sales "
               "WHERE kind = 'sale' AND member_id IS NOT NULL GROUP BY member_id, outlet_code")
    op.execute("UPDATE members SET last_visit_at = (SELECT max(v.last_visit_at) FROM member_visits v "
               "WHERE v.member_id = members.id) WHERE id IN (SELECT member_id FROM member_visits) "
               "AND (last_visit_at IS NULL OR last_visit_at < (SELECT max(v.last_visit_at) FROM member_visits v "
               "WHERE v.member_id = members.id))")
    for statement in PHONE_FRAGMENT_TRIGGERS + VISIT_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS sales_voided")
    op.execute("DROP INDEX uq_sales_outlet_receipt_sale")
    op.execute("CREATE UNIQUE INDEX uq_sales_outlet_receipt_sale ON sales (outlet_code, receipt_no) WHERE kind = 'sale'")
    with op.batch_alter_table('sales') as batch_op:
        batch_op.drop_column('voided')
    for name in ("phone_fragments_ai", "phone_fragments_ad", "phone_fragments_au", "member_visits_sale"):
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('member_visits')
    op.drop_table('phone_fragments')
