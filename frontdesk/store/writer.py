"""Who may write the counter database, and on which thread.

- `DatabaseExecutor`: the one serial executor that runs a process's database work (Anki's task manager keeps the
  same shape). The UI's task runner owns it in the app and hands it to the sync engine and the mail importer, so our
  own writers queue behind each other instead of fighting over SQLite's write lock. `call` runs a function on it and
  waits; called from the executor's own thread it runs inline, so nested calls cannot deadlock.
- `WriterLock`: one process writes a database file at a time. The app takes it for its lifetime, and command-line
  tools that write (`sync --once`, the drain process, staff and invoice imports) take it for theirs; a second
  process is told who holds the file instead of racing it. The lock is an OS file lock (`filelock`), released by the
  operating system when a process dies, so a crashed counter never leaves a stale lock behind. It is not bound to a
  thread: the app takes it on its database worker (after the first paint) and releases it from the GUI thread at
  exit. `filelock` (which pulls in asyncio) is imported when a lock is made, not when this module is.

Qt-free; imports nothing of Front Desk.
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from filelock import FileLock

T = TypeVar("T")


class DatabaseExecutor:
    """A single worker thread for database work; `submit` returns a Future, `call` waits for the result."""

    def __init__(self, name: str = "frontdesk-db") -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)
        self._thread_ident: int | None = None
        self._closed = False
        self._pool.submit(self._remember_thread).result()

    def _remember_thread(self) -> None:
        self._thread_ident = threading.get_ident()

    @property
    def on_executor_thread(self) -> bool:
        return threading.get_ident() == self._thread_ident

    def submit(self, fn: Callable[[], T]) -> Future[T]:
        if self._closed:
            raise RuntimeError("the database executor is shut down")
        return self._pool.submit(fn)

    def call(self, fn: Callable[[], T], timeout: float | None = None) -> T:
        if self.on_executor_thread:
            return fn()
        return self.submit(fn).result(timeout)

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        self._pool.shutdown(wait=wait, cancel_futures=True)


class DatabaseBusy(RuntimeError):
    """Another process holds the database's writer lock; the message names it in words a person understands."""


class WriterLock:
    """Exclusive right to write `database` for as long as it is held (a context manager, or acquire/release)."""

    def __init__(self, database: str | Path, purpose: str) -> None:
        self.database = Path(database)
        self.purpose = purpose
        self.path = self.database.with_name(self.database.name + ".lock")
        self._info = self.database.with_name(self.database.name + ".lock-owner")
        from filelock import FileLock

        self._lock: FileLock = FileLock(str(self.path), thread_local=False)

    def acquire(self, timeout: float = 0) -> WriterLock:
        from filelock import Timeout

        try:
            self._lock.acquire(timeout=timeout)
        except Timeout:
            raise DatabaseBusy(self._busy_message()) from None
        try:
            self._info.write_text(json.dumps({"pid": os.getpid(), "purpose": self.purpose}), encoding="utf-8")
        except OSError:
            pass  # the note is a courtesy for the next process's message; the lock itself is what counts
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release()

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *_exc: Any) -> None:
        self.release()

    def _busy_message(self) -> str:
        owner = ""
        try:
            info = json.loads(self._info.read_text(encoding="utf-8"))
            owner = f" ({info.get('purpose', 'another Front Desk')}, process {int(info.get('pid', 0))})"
        except (OSError, ValueError, TypeError):
            pass
        return (f"{self.database} is in use by another Front Desk{owner}. Close it first, or wait for it to finish; "
                f"two programs writing one counter database could lose work.")
