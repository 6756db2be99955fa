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
