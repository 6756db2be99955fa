"""The receptionist's first job: find the member, by typing or scanning, and see them."""
from __future__ import annotations

import sqlite3
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt

from frontdesk.app.wiring import build_window
from frontdesk.config import DEMO_CARD_KEY, Settings
from frontdesk.ui.resources import stylesheet
from tests.conftest import save_screenshot


@pytest.fixture
def window(qtbot, qapp, demo_db):
    qapp.setStyleSheet(stylesheet())
    # The demo database's member cards are signed with the demo key (a real counter has its own, from setup).
    settings = replace(Settings(), database=str(demo_db), member_card_key=DEMO_CARD_KEY)
    win = build_window(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.shutdown()
    win.lookup.close()


def _member(db, where="1=1", params=()):
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            f"SELECT id, display_name, phone_e164, email, member_no FROM members WHERE {where} ORDER BY id LIMIT 1",
            params).fetchone()
    finally:
        conn.close()


def test_search_box_has_focus_at_start(window):
    assert window.search_box.hasFocus()


def test_typing_last_four_digits_then_enter_opens_the_member(qtbot, window, demo_db):
    member_id, name, phone, *_ = _member(demo_db, "id = 5")
    with qtbot.waitSignal(window.search_finished, timeout=3000):
        qtbot.keyClicks(window.search_box, phone[-4:])
    assert any(h.id == member_id for h in window.results_model._hits)
    # Pick our member with the arrow keys if the last 4 digits are shared, then Enter.
    row = next(i for i, h in enumerate(window.results_model._hits) if h.id == member_id)
    for _ in range(row):
        qtbot.keyClick(window.search_box, Qt.Key.Key_Down)
    with qtbot.waitSignal(window.member_opened, timeout=3000) as opened:
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert opened.args == [member_id]
    panel = window.member_panel
    assert panel.name_label.text() == name
    assert "pts" in panel.points_label.text()
    save_screenshot(window, "main-window-member")
    save_screenshot(panel, "member-panel")


def test_usb_scanner_types_code_and_enter_and_the_member_opens(qtbot, window, demo_db):
    conn = sqlite3.connect(demo_db)
    code, member_id = conn.execute("SELECT code, member_id FROM member_codes ORDER BY member_id LIMIT 1 OFFSET 9").fetchone()
    conn.close()
    # A scanner "types" the whole code and Enter within a few milliseconds, well inside the typing pause.
    with qtbot.waitSignal(window.member_opened, timeout=3000) as opened:
        qtbot.keyClicks(window.search_box, code)
        qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert opened.args == [member_id]


def test_name_in_any_order_lists_matches_and_escape_clears(qtbot, window, demo_db):
    _, name, *_ = _member(demo_db, "first_name = 'Mei Ling'")
    first, last = name.split()[0], name.split()[-1]
    with qtbot.waitSignal(window.search_finished, timeout=3000) as done:
        qtbot.keyClicks(window.search_box, f"{last.lower()} {first.lower()[:3]}")
    result = done.args[0]
    assert result.kind == "name" and result.hits
    assert all(last.lower() in h.name.lower() for h in result.hits)
    save_screenshot(window, "main-window-results")
    qtbot.keyClick(window.search_box, Qt.Key.Key_Escape)
    assert window.search_box.text() == ""
    assert window.results_model.rowCount() == 0


def test_shared_phone_lists_both_members_and_does_not_pick_one(qtbot, window, demo_db):
    conn = sqlite3.connect(demo_db)
    phone = conn.execute("SELECT phone_e164 FROM members GROUP BY phone_e164 HAVING count(*) > 1 LIMIT 1").fetchone()
    conn.close()
    if phone is None:
        pytest.skip("demo data has no shared phone")
    with qtbot.waitSignal(window.search_finished, timeout=3000):
        qtbot.keyClicks(window.search_box, phone[0])
    assert window.results_model.rowCount() >= 2
    assert "share this phone" in window.hint_label.text()
    save_screenshot(window, "main-window-shared-phone")


def _paste(widget, text: str) -> None:
    """Deliver text the way a paste or an input method does: one key event carrying the whole string."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QKeyEvent
    from PySide6.QtWidgets import QApplication

    QApplication.sendEvent(widget, QKeyEvent(QEvent.Type.KeyPress, 0, Qt.KeyboardModifier.NoModifier, text))


def test_garbage_input_gives_a_hint_not_a_crash(qtbot, window):
    for text in ["12", "😀😀", "x" * 5000, "'; DROP TABLE members;--", "foo@", "   "]:
        window.search_box.clear()
        with qtbot.waitSignal(window.search_finished, timeout=3000) as done:
            _paste(window.search_box, text)
        result = done.args[0]
        assert result.hits == []
        if text.strip():
            assert window.hint_label.text(), f"no hint for {text[:20]!r}"
    qtbot.keyClick(window.search_box, Qt.Key.Key_Return)
    assert window.stack.currentWidget() is window.welcome
    save_screenshot(window, "main-window-hint")


def test_a_late_answer_to_an_older_query_is_dropped(qtbot, window):
    with qtbot.waitSignal(window.search_finished, timeout=3000):
        qtbot.keyClicks(window.search_box, "tan")
    stale = window.lookup.search("ng")
    stale_seq = window._search_seq
    with qtbot.waitSignal(window.search_finished, timeout=3000) as newer:
        qtbot.keyClicks(window.search_box, " mei")
    window._show_result(stale_seq, stale)  # the slow answer to "ng" turns up last
    shown = {h.id for h in window.results_model._hits}
    assert shown == {h.id for h in newer.args[0].hits}
    assert newer.args[0].query == "tan mei"


def test_typing_fast_searches_once_per_pause_and_shows_the_final_text(qtbot, window):
    results = []
    window.search_finished.connect(results.append)
    qtbot.keyClicks(window.search_box, "priya")  # five keystrokes well inside one typing pause
    qtbot.waitUntil(lambda: bool(results), timeout=3000)
    qtbot.wait(200)
    assert [r.query for r in results] == ["priya"]


def test_a_member_card_held_up_to_the_camera_opens_the_member(qtbot, window, demo_db):
    from frontdesk.scan.frames import ImageSequenceSource
    from frontdesk.ui.resources import resources_dir

    member_id = _member(demo_db, "member_no = 'M1000000'")[0]
    window.scanner.set_preview_visible(True)
    with qtbot.waitSignal(window.member_opened, timeout=8000) as opened:
        window.scanner.start(ImageSequenceSource([resources_dir() / "scan" / "sample-member.png"], loop=True))
    window.scanner.stop()
    assert opened.args == [member_id]
    save_screenshot(window, "main-window-camera-scan")


def test_member_qr_card_can_be_shown_for_the_open_member(qtbot, window, demo_db):
    member_id, name, *_ = _member(demo_db, "id = 7")
    with qtbot.waitSignal(window.member_opened, timeout=3000):
        window.open_member(member_id)
    window.member_panel.card_button.click()
    dialog = window._card_dialog
    qtbot.waitExposed(dialog)
    assert dialog.isVisible()
    save_screenshot(dialog, "member-card-dialog")
    dialog.close()
