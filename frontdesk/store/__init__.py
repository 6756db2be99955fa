"""Local SQLite store, the source of truth on the counter: models, connection settings, migrations, the one
database executor and the one-writer lock.

May import `frontdesk.domain` only (and SQLAlchemy, Alembic, filelock); never Qt, HTTP or anything above it.
"""
from frontdesk.store.db import (
    make_engine,
    make_read_engine,
    open_database,
    session_factory,
    upgrade_database,
)

__all__ = ["make_engine", "make_read_engine", "open_database", "session_factory", "upgrade_database"]
