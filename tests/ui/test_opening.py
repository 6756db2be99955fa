"""The window opens before the database: what is typed meanwhile is searched once the member cache is open, and
every way the database can refuse to open still gets its message and stops the start (frontdesk.app.main's
CounterOpening, as `frontdesk` runs it). Real files, a real second process holding the writer lock."""
from __future__ import annotations

import hashlib
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from frontdesk import config
from frontdesk.app.main import EXIT_ALREADY_OPEN, EXIT_OPEN_FAILED, CounterOpening
from frontdesk.app.wiring import build_window_shell
from frontdesk.store.health import EXIT_DATABASE
from frontdesk.store.writer import WriterLock
from frontdesk.ui.main_window import OPENING_TEXT, TYPING_PAUSE_MS
from frontdesk.ui.resources import stylesheet
from tests.conftest import save_screenshot
from tests.store.test_damaged_disks import Shown

ROOT = Path(__file__).resolve().parents[2]


def _settings(path: Path) -> config.Settings:
    return replace(config.Settings(), database=str(path), member_card_key=config.DEMO_CARD_KEY)


class Opening:
    """A shown window in its opening state and the CounterOpening that completes it (not started yet)."""

    def __init__(self, qtbot, settings: config.Settings, show, writer: WriterLock | None = None) -> None:  # type: ignore[no-untyped-def]
        self.ready = False
        self.refused: list[int] = []
        self.window = build_window_shell(settings)
        qtbot.addWidget(self.window)
        self.window.show()
        qtbot.waitExposed(self.window)
        self.writer = writer
        self.opening = CounterOpening(self.window, settings, show, writer=writer, on_ready=self._ready,
                                      on_refused=self.refused.append)

    def _ready(self) -> None:
        self.ready = True

    def close(self) -> None:
        self.window.runner.shutdown()
        if self.window.lookup is not None:
            self.window.lookup.close()
        if self.writer is not None:
            self.writer.release()


@pytest.fixture
def opened(qtbot, qapp):  # type: ignore[no-untyped-def]
    qapp.setStyleSheet(stylesheet())
    made: list[Opening] = []

    def make(settings: config.Settings, show=None, writer: WriterLock | None = None) -> Opening:  # type: ignore[no-untyped-def]
        opening = Opening(qtbot, settings, show or Shown("unexpected", accept=False), writer)
        made.append(opening)
        return opening

    yield make
    for opening in made:
        opening.close()


def _member(db: Path, member_id: int) -> tuple[int, str, str]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT id, display_name, phone_e164 FROM members WHERE id = ?", (member_id,)).fetchone()
    finally:
        conn.close()


def test_typing_while_the_cache_opens_is_searched_once_it_is_open(qtbot, opened, demo_db):
    member_id, name, _phone = _member(demo_db, 7)
    started = opened(_settings(demo_db), writer=WriterLock(demo_db, "the counter app"))
    window = started.window
    assert not window.ready and window.opening_label.text() == OPENING_TEXT and window.search_box.isEnabled()
    save_screenshot(window, "opening-empty")
    qtbot.keyClicks(window.search_box, name)
    qtbot.wait(TYPING_PAUSE_MS * 3)  # the typing pause is over: the search waits for the cache, it is not lost
    assert window.search_box.text() == name and window.results_model.rowCount() == 0
    assert "still opening" in window.hint_label.text()
    save_screenshot(window, "opening-typed")

    with qtbot.waitSignal(window.search_finished, timeout=15000) as finished:
        started.opening.start()
    assert finished.args[0].query == name and any(hit.id == member_id for hit in finished.args[0].hits)
    assert window.results_model.rowCount() >= 1 and "still opening" not in window.hint_label.text()
    qtbot.waitUntil(lambda: started.ready, timeout=5000)
    assert window.ready and window.opening_label is None and started.writer is not None and started.writer.held
    assert window.enrol_button.isVisible() and window.sign_in is not None  # the counter's own parts are there
    assert window.scanner.isVisible() and window.stack.indexOf(window.member_panel) >= 0
    save_screenshot(window, "opening-ready")


def test_enter_pressed_while_the_cache_opens_opens_the_member_once_it_is_open(qtbot, opened, demo_db):
    member_id, name, _phone = _member(demo_db, 12)
    started = opened(_settings(demo_db))
    window = started.window
    qtbot.keyClicks(window.search_box, name)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)  # a USB scanner's Enter, before the typing pause
    with qtbot.waitSignal(window.member_opened, timeout=15000) as opened_member:
        started.opening.start()
    assert opened_member.args == [member_id] and window.member_panel.name_label.text() == name


def test_clearing_the_box_while_the_cache_opens_searches_nothing(qtbot, opened, demo_db):
    started = opened(_settings(demo_db))
    window = started.window
    qtbot.keyClicks(window.search_box, "tan")
    qtbot.wait(TYPING_PAUSE_MS * 3)
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    with qtbot.waitSignal(window.services_ready, timeout=15000):
        started.opening.start()
    qtbot.wait(TYPING_PAUSE_MS * 3)
    assert window.search_box.text() == "" and window.results_model.rowCount() == 0
    assert window.hint_label.text() == "" and window.stack.currentWidget() is window.welcome


def test_a_database_held_by_another_process_is_refused_with_who_holds_it(qtbot, opened, demo_db):
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from frontdesk.store.writer import WriterLock
        lock = WriterLock({str(demo_db)!r}, "frontdesk sync --once").acquire()
        print("HELD", flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "HELD"
        shown = Shown("opening-already-open", accept=False)
        started = opened(_settings(demo_db), shown, writer=WriterLock(demo_db, "the counter app"))
        started.opening.start()
        qtbot.waitUntil(lambda: bool(started.refused), timeout=15000)
    finally:
        holder.kill()
        holder.wait(10)
    assert started.refused == [EXIT_ALREADY_OPEN] and len(shown.texts) == 1
    assert "in use by another Front Desk (frontdesk sync --once, process" in shown.texts[0]
    assert not started.window.ready and started.writer is not None and not started.writer.held
    assert started.window.opening_label.text() == "The member cache could not be opened"


def test_a_damaged_database_offers_its_backup_and_opens_once_restored(qtbot, opened, demo_db):
    backup = demo_db.with_name(demo_db.name + ".0001.bak")
    shutil.copy2(demo_db, backup)
    demo_db.write_bytes(demo_db.read_bytes()[:8192])
    damaged = hashlib.sha256(demo_db.read_bytes()).hexdigest()

    refused = Shown("opening-damaged-quit", accept=False)
    quitting = opened(_settings(demo_db), refused)
    quitting.opening.start()
    qtbot.waitUntil(lambda: bool(quitting.refused), timeout=15000)
    assert quitting.refused == [EXIT_DATABASE] and "is cut short" in refused.texts[0]
    assert "counter.sqlite.0001.bak" in refused.texts[0] and not quitting.window.ready
    assert hashlib.sha256(demo_db.read_bytes()).hexdigest() == damaged

    restored = Shown("opening-damaged-restore", accept=True)
    restoring = opened(_settings(demo_db), restored)
    with qtbot.waitSignal(restoring.window.services_ready, timeout=15000):
        restoring.opening.start()
    assert len(restored.texts) == 1 and restoring.ready and not restoring.refused
    kept = [p for p in demo_db.parent.glob("counter.sqlite.damaged-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(kept) == 1 and hashlib.sha256(kept[0].read_bytes()).hexdigest() == damaged


def test_a_newer_schema_database_is_refused_with_one_message(qtbot, opened, demo_db):
    with sqlite3.connect(demo_db) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0099'")
    connection.close()
    before = hashlib.sha256(demo_db.read_bytes()).hexdigest()
    shown = Shown("opening-newer-schema", accept=False)
    started = opened(_settings(demo_db), shown)
    started.opening.start()
    qtbot.waitUntil(lambda: bool(started.refused), timeout=15000)
    assert started.refused == [EXIT_DATABASE] and len(shown.texts) == 1 and "newer Front Desk" in shown.texts[0]
    assert hashlib.sha256(demo_db.read_bytes()).hexdigest() == before


def test_a_failed_migration_writes_a_crash_report_and_says_where(qtbot, opened, demo_db):
    # The file says it is one revision behind, but already has that revision's tables: the upgrade fails.
    with sqlite3.connect(demo_db) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '0013'")
    connection.close()
    shown = Shown("opening-migration-failed", accept=False)
    started = opened(_settings(demo_db), shown)
    started.opening.start()
    qtbot.waitUntil(lambda: bool(started.refused), timeout=30000)
    assert started.refused == [EXIT_OPEN_FAILED] and len(shown.texts) == 1
    assert "Front Desk could not open the counter database" in shown.texts[0] and "already exists" in shown.texts[0]
    said = re.search(r"A report was saved to (\S+\.txt)\.", shown.texts[0])
    assert said is not None, shown.texts[0]
    report = Path(said.group(1))
    assert report.name.startswith("crash-") and "already exists" in report.read_text(encoding="utf-8")
    assert demo_db.with_name("counter.sqlite.0013.bak").exists()  # backed up before the upgrade was tried


def test_a_cache_from_an_earlier_release_says_it_is_being_updated_then_opens(qtbot, opened, tmp_path):
    import threading

    from alembic import command

    from frontdesk.app.main import UPGRADING_TEXT
    from frontdesk.store.db import alembic_config, current_revision, head_revision

    db = tmp_path / "earlier-release.sqlite"
    command.upgrade(alembic_config(db), "0014")
    started = opened(_settings(db))
    window = started.window
    hold = threading.Event()
    started.opening.start()
    window.runner.run_db(lambda: hold.wait(10))  # the worker busy: the upgrade waits behind this
    qtbot.waitUntil(lambda: window.opening_label is not None and window.opening_label.text() == UPGRADING_TEXT,
                    timeout=5000)
    save_screenshot(window, "opening-upgrading")
    hold.set()
    qtbot.waitUntil(lambda: started.ready, timeout=30000)
    assert window.opening_label is None and current_revision(db) == head_revision()
