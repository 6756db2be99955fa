"""phone fragments carry what ranks them, so a 5-digit search reads no member it will not list

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02

A 5-digit fragment matches some 30-100 numbers at a million members (up to several hundred for common ones), and
ranking them (number ends with the digits; visited this outlet recently, then anywhere; then by name) used to read
every one of those members. Each `phone_fragments` row now also holds:
- `inside`: 0 when the five digits end the number (a suffix match ranks first), else 1;
- `sort_name`: the member's `search_name`, the name order of the ranking;
- `seen_day`: the whole Julian day of the member's `last_visit_at` (NULL: never seen).
The key is (gram, inside, sort_name, member_id), so the members not seen recently come out of the index already in
ranking order and the search stops after a list's worth; only those seen recently (a few percent) are read to rank
them exactly. The table is rebuilt from `members` during the upgrade; triggers keep every column as before. The price is on
writes: a visit on a new day rewrites the member's five or six rows (about 0.15 ms at a million members), a new
number or name replaces them.
A number holding the same five digits twice has one row for them (the suffix one when there is one).
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

FRAGMENT = 5
# E.164 has at most 15 digits, so at most 11 windows of 5. SQLite triggers cannot use a WITH clause, hence the
# literal list of offsets.
_OFFSETS = " UNION ALL ".join(f"SELECT {n} AS n" for n in range(1, 16 - FRAGMENT + 1 + 1))


def _seen_day(row: str) -> str:
    # A last visit SQLite cannot read as a time keeps a day no cutoff passes over, so it is always checked exactly.
    return (f"CASE WHEN {row}.last_visit_at IS NULL THEN NULL "
            f"ELSE coalesce(CAST(julianday({row}.last_visit_at) AS INTEGER), 99999999) END")


def _grams(row: str) -> str:
    """(gram, inside) for each distinct 5-digit window of `row`'s number: the suffix one wins a repeated gram."""
    digits = f"substr({row}.phone_e164, 2)"
    return (f"SELECT substr({digits}, o.n, {FRAGMENT}) AS gram, "
            f"min(CASE WHEN o.n + {FRAGMENT} = length({digits}) + 1 THEN 0 ELSE 1 END) AS inside "
            f"FROM ({_OFFSETS}) AS o WHERE o.n + {FRAGMENT - 1} <= length({row}.phone_e164) - 1 GROUP BY 1")


def _rows_of(row: str) -> list[str]:
    """WHERE clauses naming `row`'s fragment rows by their whole key: the suffix row, then the others. A gram's range
    can hold thousands of members ("65912…" opens a tenth of all Singapore mobiles), so a trigger must seek each
    row, never scan a range for its member; equality on every key column is what makes SQLite seek."""
    digits = f"substr({row}.phone_e164, 2)"
    # Every window start a 15-digit number has; past the end substr() is shorter than any gram and matches none.
    windows = ", ".join(f"substr({digits}, {n}, {FRAGMENT})" for n in range(1, 15 - FRAGMENT + 2))
    member = f"sort_name = {row}.search_name AND member_id = {row}.id"
    return [f"gram = substr({digits}, -{FRAGMENT}) AND inside = 0 AND {member}",
            f"gram IN ({windows}) AND inside = 1 AND {member}"]


_INSERT_NEW = ("INSERT INTO phone_fragments(gram, inside, sort_name, member_id, seen_day) "
               f"SELECT g.gram, g.inside, new.search_name, new.id, {_seen_day('new')} FROM ({_grams('new')}) AS g")
_DELETE_OLD = ";\n        ".join(f"DELETE FROM phone_fragments WHERE {where}" for where in _rows_of("old"))
_SEE_NEW = ";\n        ".join(f"UPDATE phone_fragments SET seen_day = {_seen_day('new')} WHERE {where}"
                              for where in _rows_of("new"))

RANKED_FRAGMENT_TRIGGERS = [
    f"""CREATE TRIGGER phone_fragments_ai AFTER INSERT ON members WHEN new.phone_e164 IS NOT NULL BEGIN
        {_INSERT_NEW}; END""",
    f"""CREATE TRIGGER phone_fragments_ad AFTER DELETE ON members WHEN old.phone_e164 IS NOT NULL BEGIN
        {_DELETE_OLD}; END""",
    # A new number or a new name: the member's rows are keyed by both, so they are replaced.
    f"""CREATE TRIGGER phone_fragments_au AFTER UPDATE OF phone_e164, search_name ON members
        WHEN old.phone_e164 IS NOT new.phone_e164 OR old.search_name IS NOT new.search_name BEGIN
        {_DELETE_OLD};
        {_INSERT_NEW} WHERE new.phone_e164 IS NOT NULL; END""",
    # A visit on a new day (a counter sale moves last_visit_at): the rows stay where they are, only the day changes.
    # Each row is a random page of a large table, so a second visit the same day writes none of them.
    f"""CREATE TRIGGER phone_fragments_seen AFTER UPDATE OF last_visit_at ON members
        WHEN new.phone_e164 IS NOT NULL AND ({_seen_day('old')}) IS NOT ({_seen_day('new')}) BEGIN
        {_SEE_NEW}; END""",
]

_TRIGGER_NAMES = ("phone_fragments_ai", "phone_fragments_ad", "phone_fragments_au", "phone_fragments_seen")


def fill_statement(where: str = "") -> str:
    """Every member's rows in one sorted pass (the upgrade; the demo loader uses the same shape)."""
    digits = "substr(m.phone_e164, 2)"
    return ("INSERT INTO phone_fragments(gram, inside, sort_name, member_id, seen_day) "
            f"SELECT substr({digits}, o.n, {FRAGMENT}) AS gram, "
            f"min(CASE WHEN o.n + {FRAGMENT} = length({digits}) + 1 THEN 0 ELSE 1 END) AS inside, "
            f"m.search_name, m.id, {_seen_day('m')} FROM members m, ({_OFFSETS}) AS o "
            f"WHERE m.phone_e164 IS NOT NULL AND o.n + {FRAGMENT - 1} <= length(m.phone_e164) - 1{where} "
            "GROUP BY m.id, 1 ORDER BY 1, 2, 3, 4")


def upgrade() -> None:
    for name in _TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('phone_fragments')
    op.create_table(
        'phone_fragments',
        sa.Column('gram', sa.String(length=FRAGMENT), nullable=False),
        sa.Column('inside', sa.Integer(), nullable=False),
        sa.Column('sort_name', sa.String(length=200), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.Column('seen_day', sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint('gram', 'inside', 'sort_name', 'member_id', name=op.f('pk_phone_fragments')),
        sqlite_with_rowid=False,
    )
    op.execute(fill_statement())
    for statement in RANKED_FRAGMENT_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for name in _TRIGGER_NAMES:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table('phone_fragments')
    op.create_table(
        'phone_fragments',
        sa.Column('gram', sa.String(length=FRAGMENT), nullable=False),
        sa.Column('member_id', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('gram', 'member_id', name=op.f('pk_phone_fragments')),
        sqlite_with_rowid=False,
    )
    old_grams = (f"SELECT substr(substr({{row}}.phone_e164, 2), o.n, {FRAGMENT}) AS gram FROM ({_OFFSETS}) AS o "
                 f"WHERE o.n + {FRAGMENT - 1} <= length({{row}}.phone_e164) - 1")
    op.execute(f"INSERT OR IGNORE INTO phone_fragments(gram, member_id) SELECT g.gram, m.id FROM members m, "
               f"({old_grams.format(row='m')}) AS g WHERE m.phone_e164 IS NOT NULL")
    op.execute(f"""CREATE TRIGGER phone_fragments_ai AFTER INSERT ON members WHEN new.phone_e164 IS NOT NULL BEGIN
        INSERT OR IGNORE INTO phone_fragments(gram, member_id) SELECT gram, new.id FROM ({old_grams.format(row='new')});
        END""")
    op.execute(f"""CREATE TRIGGER phone_fragments_ad AFTER DELETE ON members WHEN old.phone_e164 IS NOT NULL BEGIN
        DELETE FROM phone_fragments WHERE member_id = old.id AND gram IN ({old_grams.format(row='old')}); END""")
    op.execute(f"""CREATE TRIGGER phone_fragments_au AFTER UPDATE OF phone_e164 ON members
        WHEN old.phone_e164 IS NOT new.phone_e164 BEGIN
        DELETE FROM phone_fragments WHERE member_id = old.id AND gram IN ({old_grams.format(row='old')});
        INSERT OR IGNORE INTO phone_fragments(gram, member_id) SELECT gram, new.id FROM ({old_grams.format(row='new')})
            WHERE new.phone_e164 IS NOT NULL; END""")
