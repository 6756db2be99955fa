"""Is the counter's database file, and the disk it is on, fit to use? One clear sentence when it is not.

Checked before anything opens the file (the app, `search`, `sync --once`, `staff`, the self-test), so a damaged
disk gives a message and an exit code instead of a traceback, and nothing is ever silently replaced:

- a zero-byte or truncated file, or one that is not SQLite at all, is `DatabaseDamaged`; the newest `.bak` backup
  next to it (made before every upgrade) is offered, and restoring it keeps the damaged file beside it;
- a file written by a newer Front Desk (a schema revision this version does not know) is `DatabaseTooNew`;
- a folder or file we cannot write is `StorageReadOnly`; a disk without room for a sale is `StorageFull`.

The checks are cheap (a header read, one query on a read-only connection, `shutil.disk_usage`), so start-up stays
fast on a 1M-member cache. Qt-free; standard library and Alembic's script directory only.
"""
from __future__ import annotations

import datetime as _dt
import errno
import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

SQLITE_MAGIC = b"SQLite format 3\x00"
# A sale, its outbox entry and the WAL growth of a busy day need far less; below this the counter refuses new
# sales rather than fail half-way through one. IT gets the same sentence from `self-test`.
MIN_FREE_BYTES = 20 * 1024 * 1024

EXIT_DATABASE = 6  # damaged, empty or newer-schema database
EXIT_READ_ONLY = 7
EXIT_FULL = 8


class StorageProblem(Exception):
    """Something about the database file or its disk; `str()` is the one line a person reads."""

    exit_code = EXIT_DATABASE
    title = "The counter database cannot be used"

    def __init__(self, message: str, path: Path | None = None) -> None:
        super().__init__(message)
        self.path = path


class DatabaseDamaged(StorageProblem):
    title = "The counter database is damaged"

    def __init__(self, message: str, path: Path, backup: Path | None) -> None:
        advice = (f" The newest backup is {backup.name} ({_age(backup)}); restoring it (Front Desk offers it "
                  "at start, or `frontdesk restore-backup`) keeps the damaged file beside it. Sales made since "
                  "that backup that had not synced are in the damaged file: keep it for support." if backup else
                  " There is no backup next to it. Keep the file and contact support; do not delete it.")
        super().__init__(message + advice, path)
        self.backup = backup


class DatabaseTooNew(StorageProblem):
    title = "This Front Desk is older than its database"


class StorageReadOnly(StorageProblem):
    exit_code = EXIT_READ_ONLY
    title = "Front Desk cannot write its files"


class StorageFull(StorageProblem):
    exit_code = EXIT_FULL
    title = "The disk is full"


def _age(path: Path) -> str:
    try:
        stamp = _dt.datetime.fromtimestamp(path.stat().st_mtime)
    except OSError:
        return "date unknown"
    return f"from {stamp:%Y-%m-%d %H:%M}"


def backups(path: Path) -> list[Path]:
    """`<name>.<revision>.bak` files next to the database that look like whole SQLite files, newest first."""
    path = Path(path)
    found = [p for p in path.parent.glob(f"{path.name}.*.bak") if header_problem(p) is None]
    return sorted(found, key=lambda p: p.stat().st_mtime, reverse=True)


def newest_backup(path: Path) -> Path | None:
    found = backups(path)
    return found[0] if found else None


def header_problem(path: Path) -> str | None:
    """Why the file cannot be a whole SQLite database (empty, not SQLite, cut short), or None if it can."""
    try:
        size = path.stat().st_size
        if size == 0:
            return "is empty (0 bytes)"
        with open(path, "rb") as handle:
            header = handle.read(100)
    except OSError as error:
        return f"cannot be read ({error.strerror or error})"
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return "is not a SQLite database (its first bytes are wrong)"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    change_counter, valid_for = header[24:28], header[92:96]
    if pages and change_counter == valid_for and size < pages * page_size:
        return f"is cut short ({size:,} of {pages * page_size:,} bytes)"
    return None


def _known_revisions() -> set[str]:
    from frontdesk.store.db import known_revisions

    return known_revisions()


def inspect_database(path: Path) -> None:
    """Raise a `StorageProblem` when the file at `path` must not be opened or upgraded; a missing file is fine."""
    path = Path(path)
    if not path.exists():
        return
    problem = header_problem(path)
    if problem is not None:
        raise DatabaseDamaged(f"{path} {problem}.", path, newest_backup(path))
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as error:
        raise _from_sqlite(error, path) from None
    try:
        try:
            rows = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        except sqlite3.OperationalError as error:
            if "no such table" in str(error):
                rows = []
            else:
                raise
    except sqlite3.Error as error:
        raise _from_sqlite(error, path) from None
    finally:
        connection.close()
    unknown = sorted({str(row[0]) for row in rows} - _known_revisions())
    if unknown:
        from frontdesk import __version__
        from frontdesk.store.db import head_revision

        raise DatabaseTooNew(f"{path} was written by a newer Front Desk (schema {', '.join(unknown)}); this is "
                             f"Front Desk {__version__} with schema {head_revision()}. Install the newer version; "
                             "the file was not changed.", path)


def _from_sqlite(error: BaseException, path: Path) -> StorageProblem:
    problem = describe_storage_error(error, path)
    if problem is not None:
        return problem
    return DatabaseDamaged(f"{path} cannot be opened ({error}).", path, newest_backup(path))


def describe_storage_error(error: BaseException, path: Path) -> StorageProblem | None:
    """The `StorageProblem` a SQLite / OS error means (disk full, read-only, damaged), or None for other errors.

    Accepts SQLAlchemy's wrappers too (their `.orig` is the sqlite3 error)."""
    original = getattr(error, "orig", None) or error
    text = str(original).lower()
    if isinstance(original, OSError):
        if original.errno == errno.ENOSPC:
            return StorageFull(f"The disk holding {path.parent} is full: nothing more can be saved. Free some "
                               "space (or ask IT); nothing already saved was lost.", path)
        if original.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            return StorageReadOnly(f"Front Desk may not write to {path.parent} ({original.strerror}). Ask IT to "
                                   "give this Windows account write access; nothing was changed.", path)
        return None
    if not isinstance(original, sqlite3.Error):
        return None
    full = "disk is full" in text or ("disk i/o error" in text and _nearly_full(path))
    if full:
        return StorageFull(f"The disk holding {path} is full: nothing more can be saved. Free some space (or ask "
                           "IT); nothing already saved was lost.", path)
    if "readonly" in text or "read-only" in text or "unable to open database file" in text:
        return StorageReadOnly(f"Front Desk may not write to {path} or its folder. Ask IT to give this Windows account write "
                               "access to it; nothing was changed.", path)
    if "malformed" in text or "not a database" in text:
        return DatabaseDamaged(f"{path} is damaged ({original}).", path, newest_backup(path))
    if "disk i/o error" in text:
        return StorageProblem(f"{path} could not be read or written (disk I/O error): the disk or its connection "
                              "may be failing. Nothing was changed; ask IT to check the disk.", path)
    return None


def _nearly_full(path: Path) -> bool:
    """SQLite reports a full disk as an I/O error when it is its shared-memory file that cannot grow."""
    try:
        return shutil.disk_usage(Path(path).parent).free < 1024 * 1024
    except OSError:
        return False


def check_writable(folder: Path, what: str = "data") -> None:
    """Raise `StorageReadOnly` unless a file can be created in `folder` (made if missing)."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".frontdesk-write-test-"):
            pass
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise StorageFull(f"The disk holding the {what} folder {folder} is full. Free some space (or ask "
                              "IT); nothing already saved was lost.", folder) from None
        raise StorageReadOnly(f"Front Desk cannot write to its {what} folder {folder} "
                              f"({error.strerror or error}). Ask IT to give this account write access to it; "
                              "nothing was changed.", folder) from None


def check_database_writable(path: Path) -> None:
    """The folder must take new files (journal, WAL, backups) and an existing file must be writable."""
    path = Path(path)
    check_writable(path.parent)
    if path.exists() and not os.access(path, os.W_OK):
        raise StorageReadOnly(f"The counter database {path} is read-only. Ask IT to give this account write "
                              "access to it; nothing was changed.", path)


def free_space_problem(path: Path, minimum: int = MIN_FREE_BYTES, what: str = "this sale") -> str | None:
    """A sentence when the disk holding `path` has less than `minimum` bytes free, else None."""
    folder = Path(path).parent
    try:
        free = shutil.disk_usage(folder).free
    except OSError:
        return None  # cannot tell: the write itself will say if it fails
    if free >= minimum:
        return None
    return (f"The disk is full ({free / 1e6:.1f} MB free on the drive holding {folder}): {what} cannot be "
            "saved. Ask IT to free some space; nothing already saved is lost.")


def restore_backup(path: Path, backup: Path) -> Path:
    """Put `backup` in place of the damaged database; the damaged file (and its -wal/-shm) is kept, renamed.

    Returns where the damaged file now is."""
    path = Path(path)
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    kept = path.with_name(f"{path.name}.damaged-{stamp}")
    if path.exists():
        os.replace(path, kept)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, kept.with_name(kept.name + suffix))
    tmp = path.with_name(path.name + ".restoring")
    shutil.copy2(backup, tmp)
    os.replace(tmp, path)
    return kept
