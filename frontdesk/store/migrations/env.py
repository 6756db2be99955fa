"""Alembic environment for the counter database (run from `frontdesk.store.db.upgrade_database`)."""
from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection, create_engine

from frontdesk.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None, "alembic_config() sets sqlalchemy.url"
    engine = create_engine(url)
    with engine.connect() as conn:
        # Batch migrations copy tables; enforced foreign keys would fire mid-copy. The pragma must precede BEGIN.
        conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
        conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        _run(conn)
        conn.commit()
    engine.dispose()


def _include_object(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    # The FTS5 name index and its shadow tables are managed by hand in the migrations, not by the models.
    return not (name or "").startswith("members_fts") and name != "ix_members_member_no"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True,
                      transaction_per_migration=True, include_object=_include_object)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("offline SQL generation is not supported for the counter database")
run_migrations_online()
