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
import re
import shutil
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

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
# Start-up only needs to know the file is current; importing Alembic for that costs more than the rest of the
# window. The revision graph is read from the migration files' own `revision = ...` lines, and Alembic is imported
# only to upgrade (a test checks this reading against Alembic's).
_REVISION_LINE = re.compile(r"^(down_revision|revision)\s*=\s*['\"]?([^'\"\s]*)['\"]?\s*$", re.MULTILINE)


def alembic_config(path: str | Path) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", f"sqlite:///{Path(path)}")
    return config


def head_revision() -> str:
    head = _head_from_files()
    if head is not None:
        return head
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(alembic_config(":memory:")).get_current_head()
    assert found is not None
    return found


def _revision_graph() -> tuple[set[str], set[str]]:
    """(every revision, every revision some migration builds on), read from the migration files' own lines."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for file in (MIGRATIONS_DIR / "versions").glob("*.py"):
        fields = dict((key, value) for key, value in _REVISION_LINE.findall(file.read_text(encoding="utf-8")))
        if "revision" in fields:
            revisions.add(fields["revision"])
            if fields.get("down_revision") not in (None, "", "None"):
                parents.add(fields["down_revision"])
    return revisions, parents


def _head_from_files() -> str | None:
    """The one revision no other migration builds on, or None when the files do not say it plainly."""
    revisions, parents = _revision_graph()
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def known_revisions() -> set[str]:
    """Every revision this version of Front Desk can upgrade from (or is at), without importing Alembic when the
    migration files say it plainly (the start-up check of a current file stays Alembic-free)."""
    revisions, parents = _revision_graph()
    if revisions and parents <= revisions and _head_from_files() is not None:
        return revisions
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(":memory:"))
    return {revision.revision for revision in script.walk_revisions()}


def current_revision(path: str | Path) -> str | None:
    path = Path(path)
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return _current_revision_by_alembic(path)
    try:
        rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    except sqlite3.DatabaseError as error:
        if "no such table" not in str(error):
            conn.close()
            return _current_revision_by_alembic(path)
        rows = None  # no alembic_version table: an empty or pre-migration file
    finally:
        conn.close()
    if not rows:
        return None
    if len(rows) > 1:
        return _current_revision_by_alembic(path)
    return str(rows[0][0])


def _current_revision_by_alembic(path: Path) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_engine(f"sqlite:///{path}")
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
    from alembic import command

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
