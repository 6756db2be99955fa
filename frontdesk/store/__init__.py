"""Local SQLite store: the source of truth on the counter."""
from frontdesk.store.db import (
    make_engine,
    make_read_engine,
    open_database,
    session_factory,
    upgrade_database,
)

__all__ = ["make_engine", "make_read_engine", "open_database", "session_factory", "upgrade_database"]
