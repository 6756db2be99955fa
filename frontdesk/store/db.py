"""Opening the counter database: engine, connection settings, migrations.

SQLite settings, per connection:
- WAL so the search worker reads while the sync worker writes;
- synchronous=FULL because a committed sale must survive a power cut (NORMAL may roll back the last commit);
- busy_timeout so two of our own workers wait for each other instead of failing;
- foreign_keys on.
Python's sqlite3 module opens transactions lazily and never for reads; we take control of BEGIN ourselves so that
writers take the write lock up front (BEGIN IMMEDIATE) and never deadlock upgrading a read lock.
"""
from __future__ import annotations

import logging
import shutil
import sqlite3
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def _configure_connection(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA cache_size=-16000")  # 16 MB page cache per connection
    cursor.close()


def make_engine(path: str | Path, *, immediate: bool = True) -> Engine:
    """An engine on a database file. Every transaction begins IMMEDIATE (takes the write lock) when `immediate`."""
    engine = create_engine(f"sqlite:///{Path(path)}", pool_size=4, max_overflow=4, pool_pre_ping=False)
    event.listen(engine, "connect", _configure_connection)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def make_read_engine(path: str | Path) -> Engine:
    """An engine for readers (search, screens): plain deferred BEGIN, never blocks on a writer thanks to WAL."""
    return make_engine(path, immediate=False)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


# --- migrations ----------------------------------------------------------------------------------------------
def alembic_config(path: str | Path) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{Path(path)}")
    return config


def head_revision() -> str:
    script = ScriptDirectory.from_config(alembic_config(":memory:"))
    head = script.get_current_head()
    assert head is not None
    return head


def current_revision(path: str | Path) -> str | None:
    if not Path(path).exists():
        return None
    engine = create_engine(f"sqlite:///{Path(path)}")
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade_database(path: str | Path) -> str:
    """Bring the file at `path` to the newest schema, creating it if needed; returns the revision reached.

    An existing file on an older revision is copied to `<name>.<revision>.bak` first, so a failed upgrade on a
    counter PC never costs the shop its unsynced sales. A damaged, empty or newer-schema file is refused with a
    `frontdesk.store.health.StorageProblem` before anything touches it (never silently replaced by a new one).
    """
    from frontdesk.store.health import inspect_database

    path = Path(path)
    inspect_database(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    head = head_revision()
    current = current_revision(path)
    if current == head:
        return head
    if current is not None or (path.exists() and path.stat().st_size > 0):
        backup = path.with_name(f"{path.name}.{current or 'unversioned'}.bak")
        _backup_sqlite(path, backup)
        log.info("database %s is at revision %s; backed up to %s before upgrading", path, current, backup)
    command.upgrade(alembic_config(path), "head")
    return head


def copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy even while the app runs with WAL (SQLite's online backup, not a file copy)."""
    src = sqlite3.connect(str(source))
    try:
        dst = sqlite3.connect(str(target))
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _backup_sqlite(source: Path, target: Path) -> None:
    try:
        copy_sqlite(source, target)
    except sqlite3.DatabaseError:
        shutil.copy2(source, target)  # a damaged file is still worth keeping byte for byte


def open_database(path: str | Path) -> Engine:
    """Upgrade then open: the one call the app makes at start-up."""
    upgrade_database(path)
    return make_engine(path)
