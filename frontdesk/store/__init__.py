"""Local SQLite store, the source of truth on the counter: models, connection settings, migrations, the one
database executor and the one-writer lock.

May import `frontdesk.domain` only (and SQLAlchemy, Alembic, filelock); never Qt, HTTP or anything above it.

The names below load `frontdesk.store.db` (and with it SQLAlchemy) when first used, not when the package is
imported: the app's window imports `frontdesk.store.writer` (its database executor) before its first paint, and
SQLAlchemy is loaded on the database worker after it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from frontdesk.store.db import (
        make_engine,
        make_read_engine,
        open_database,
        session_factory,
        upgrade_database,
    )

__all__ = ["make_engine", "make_read_engine", "open_database", "session_factory", "upgrade_database"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from frontdesk.store import db

        return getattr(db, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
