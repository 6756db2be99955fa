"""A counter PC upgrading from an earlier release keeps its data."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from frontdesk.search import SearchService
from frontdesk.store import make_engine, session_factory
from frontdesk.store.db import current_revision, head_revision, upgrade_database
from frontdesk.store.members import MemberFields, add_member

RELEASE_0001 = Path(__file__).parents[1] / "data" / "counter-0001.sqlite"


def _counts(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("members", "member_codes", "sales", "sale_items", "points_ledger", "staff")}
    finally:
        conn.close()


def test_database_from_release_0001_upgrades_in_place_with_its_data(tmp_path):
    db = tmp_path / "counter.sqlite"
    shutil.copy2(RELEASE_0001, db)
    before = _counts(db)
    assert current_revision(db) == "0001"

    assert upgrade_database(db) == head_revision()

    assert current_revision(db) == head_revision()
    assert _counts(db) == before
    if head_revision() != "0001":
        assert (tmp_path / "counter.sqlite.0001.bak").exists(), "an upgrade keeps a copy of the old file"
    # The name index still follows the members table after the upgrade.
    engine = make_engine(db)
    with session_factory(engine)() as session, session.begin():
        add_member(session, MemberFields(first_name="Zoë", last_name="Quah", phone_raw="9000 0001"), "SG")
    # 0002: an undelivered outbox entry has no response yet.
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO outbox(idempotency_key, kind, partition_key, payload, status, attempts, created_at) "
            "VALUES ('k1', 'sale', 'member:1', '{}', 'pending', 0, '2026-11-23T00:00:00+00:00')")
    service = SearchService(engine)
    assert [h.name for h in service.search("quah zoe").hits] == ["Zoë Quah"]
    assert service.search("+65 9000 0001").hits[0].match == "phone"
    service.close()


def test_fresh_database_reaches_head_and_upgrading_again_is_a_no_op(tmp_path):
    db = tmp_path / "new.sqlite"
    assert upgrade_database(db) == head_revision()
    assert upgrade_database(db) == head_revision()
    assert not list(tmp_path.glob("*.bak"))
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_models_and_migrations_agree(tmp_path):
    """Autogenerate against a migrated file finds nothing to do: the models are what the migrations build."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine

    from frontdesk.store.models import Base

    db = tmp_path / "check.sqlite"
    upgrade_database(db)
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "include_object": lambda obj, name, type_, reflected, compare_to:
                not (name or "").startswith("members_fts") and name != "ix_members_member_no"})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == []


def test_the_start_up_revision_check_agrees_with_alembic_without_importing_it(tmp_path):
    """Start-up reads the revision graph from the migration files; it must be exactly what Alembic computes."""
    import subprocess
    import sys

    from alembic.script import ScriptDirectory

    from frontdesk.store.db import alembic_config

    assert head_revision() == ScriptDirectory.from_config(alembic_config(":memory:")).get_current_head()
    from frontdesk.store.db import known_revisions

    assert known_revisions() == {r.revision for r in ScriptDirectory.from_config(
        alembic_config(":memory:")).walk_revisions()}
    db = tmp_path / "current.sqlite"
    upgrade_database(db)
    code = ("import sys; from frontdesk.store.db import upgrade_database, current_revision; "
            f"upgrade_database({str(db)!r}); print(current_revision({str(db)!r})); "
            "print('alembic' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [head_revision(), "False"], "an up-to-date file is opened without importing Alembic"


def test_0015_repairs_last_visits_older_than_a_recorded_visit_and_keeps_everything(tmp_path):
    """A file at 0014 where some writer put a visit in member_visits without raising the member's last visit: the
    upgrade raises it (nothing else changes), and from then on the triggers keep it so."""
    from alembic import command

    from frontdesk.store.db import alembic_config

    db = tmp_path / "at-0014.sqlite"
    shutil.copy2(RELEASE_0001, db)
    command.upgrade(alembic_config(db), "0014")
    conn = sqlite3.connect(db)
    member_id, seen = conn.execute("SELECT id, last_visit_at FROM members ORDER BY id LIMIT 1").fetchone()
    conn.execute("INSERT INTO member_visits(member_id, outlet_code, visits, last_visit_at) "
                 "VALUES (?, 'ELSEWHERE', 1, '2099-01-01T00:00:00.000000+00:00')", (member_id,))
    conn.commit()
    untouched = conn.execute("SELECT id, last_visit_at FROM members WHERE id <> ? ORDER BY id", (member_id,)).fetchall()
    conn.close()
    before = _counts(db)

    assert upgrade_database(db) == head_revision()

    conn = sqlite3.connect(db)
    assert conn.execute("SELECT last_visit_at FROM members WHERE id = ?", (member_id,)).fetchone() == (
        "2099-01-01T00:00:00.000000+00:00",)
    assert conn.execute("SELECT id, last_visit_at FROM members WHERE id <> ? ORDER BY id",
                        (member_id,)).fetchall() == untouched
    assert _counts(db) == before
    # No member's last visit is earlier than one of their recorded visits.
    assert conn.execute("SELECT count(*) FROM member_visits v JOIN members m ON m.id = v.member_id "
                        "WHERE m.last_visit_at IS NULL OR m.last_visit_at < v.last_visit_at").fetchone() == (0,)
    conn.close()
    assert seen is None or seen < "2099"


def test_0016_rebuilds_the_fragments_of_every_member_with_their_ranking(tmp_path):
    """Upgrading a release's file rebuilds phone_fragments from the members: one row per distinct 5-digit window,
    each agreeing with its member's number, name and last visit."""
    db = tmp_path / "old.sqlite"
    shutil.copy2(RELEASE_0001, db)
    upgrade_database(db)
    conn = sqlite3.connect(db)
    members = conn.execute("SELECT id, phone_e164, search_name, last_visit_at FROM members "
                           "WHERE phone_e164 IS NOT NULL").fetchall()
    assert members and any(seen for *_, seen in members), "the release file has members with visits"
    expected = set()
    for member_id, phone, name, seen in members:
        digits = phone[1:]
        windows = {digits[i:i + 5] for i in range(len(digits) - 4)}
        day = conn.execute("SELECT CAST(julianday(?) AS INTEGER)", (seen,)).fetchone()[0] if seen else None
        expected |= {(gram, 0 if digits.endswith(gram) else 1, name, member_id, day) for gram in windows}
    rows = set(conn.execute("SELECT gram, inside, sort_name, member_id, seen_day FROM phone_fragments"))
    assert rows == expected
    conn.close()


def test_0017_an_exact_phone_lookup_is_answered_from_the_phone_index(tmp_path):
    """What a search hit shows comes from ix_members_phone_e164 itself; the members table is not read."""
    from frontdesk.search.service import SearchService as Service

    db = tmp_path / "old.sqlite"
    shutil.copy2(RELEASE_0001, db)
    upgrade_database(db)
    conn = sqlite3.connect(db)
    plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + Service._EXACT_PHONE_ONE_FORM_SQL, ("x", "y"))]
    assert "SEARCH m USING COVERING INDEX ix_members_phone_e164 (phone_e164=?)" in plan
    phone = conn.execute("SELECT phone_e164 FROM members WHERE phone_e164 IS NOT NULL LIMIT 1").fetchone()[0]
    conn.close()
    engine = make_engine(db)
    service = SearchService(engine)
    try:
        assert service.search(phone).hits[0].phone_e164 == phone
    finally:
        service.close()
        engine.dispose()
