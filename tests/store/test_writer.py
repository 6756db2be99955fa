"""One writer per database file, and one serial executor per process."""
from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from frontdesk.store.writer import DatabaseBusy, DatabaseExecutor, WriterLock

ROOT = Path(__file__).resolve().parents[2]


def test_a_second_process_is_told_who_holds_the_database(tmp_path: Path) -> None:
    db = tmp_path / "counter.sqlite"
    db.touch()
    with WriterLock(db, "the counter app"):
        probe = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            from frontdesk.store.writer import DatabaseBusy, WriterLock
            try:
                WriterLock({str(db)!r}, "frontdesk sync --once").acquire()
            except DatabaseBusy as busy:
                print(busy)
            else:
                print("ACQUIRED")
        """)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert "ACQUIRED" not in probe.stdout
    assert "in use by another Front Desk (the counter app, process" in probe.stdout


def test_the_lock_dies_with_a_killed_process(tmp_path: Path) -> None:
    db = tmp_path / "counter.sqlite"
    db.touch()
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from frontdesk.store.writer import WriterLock
        lock = WriterLock({str(db)!r}, "a drain").acquire()
        print("HELD", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        with pytest.raises(DatabaseBusy):
            WriterLock(db, "the counter app").acquire()
    finally:
        holder.kill()
        holder.wait(10)
    with WriterLock(db, "the counter app") as lock:  # no stale lock after kill -9
        assert lock.held


def test_database_work_runs_on_one_thread_and_nested_calls_do_not_deadlock() -> None:
    executor = DatabaseExecutor()
    try:
        seen: set[int] = set()

        def inner() -> int:
            seen.add(threading.get_ident())
            return 2

        def outer() -> int:
            seen.add(threading.get_ident())
            return executor.call(inner) + 1

        futures = [executor.submit(outer) for _ in range(20)]
        assert [f.result(10) for f in futures] == [3] * 20
        assert len(seen) == 1 and threading.get_ident() not in seen
    finally:
        executor.shutdown()
