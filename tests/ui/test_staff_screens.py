"""Staff at the counter, driven like a person: the demo sign-in shows its PINs, a new counter walks IT through its
first manager, and a manager adds and changes staff behind their PIN, every change audited under their name."""
from __future__ import annotations

import json
import sqlite3
from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog

from frontdesk.app.main import lock_when_ready
from frontdesk.app.wiring import build_window
from frontdesk.config import DEMO_CARD_KEY, Settings
from frontdesk.store.db import upgrade_database
from frontdesk.ui.resources import stylesheet
from tests.conftest import save_screenshot

WAIT = 5000


def _settle() -> None:
    for _ in range(3):
        QApplication.processEvents()


@pytest.fixture
def make_window(qtbot, qapp):
    qapp.setStyleSheet(stylesheet())
    made = []

    def make(settings: Settings):  # type: ignore[no-untyped-def]
        window = build_window(settings)
        qtbot.addWidget(window)
        window.resize(1366, 768)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        for dialog in window.findChildren(QDialog):
            if dialog.isVisible():
                dialog.done(0)
        window.runner.shutdown()
        window.lookup.close()


def _audit(db) -> list[tuple[int | None, str, dict]]:  # type: ignore[no-untyped-def]
    with sqlite3.connect(db) as connection:
        rows = [(staff_id, action, json.loads(details)) for staff_id, action, details in
                connection.execute("SELECT staff_id, action, details FROM audit_log WHERE action LIKE 'staff_%' "
                                   "ORDER BY id")]
    connection.close()
    return rows


def test_the_demo_sign_in_shows_the_demo_pins(qtbot, make_window, demo_db):
    window = make_window(replace(Settings(), database=str(demo_db), demo=True, member_card_key=DEMO_CARD_KEY))
    window.lock()
    panel = window.sign_in
    qtbot.waitUntil(lambda: panel.staff_list.count() == 4, timeout=WAIT)
    assert panel.hint.isVisible() and "Mei Tan 9999 (manager)" in panel.hint.text()
    assert all(pin in panel.hint.text() for pin in ("1111", "2222", "3333"))
    _settle()
    save_screenshot(window, "sign-in-demo-pins")


def test_a_new_counter_walks_it_through_the_first_manager(qtbot, make_window, tmp_path):
    db = tmp_path / "new-counter.sqlite"
    upgrade_database(db)
    settings = replace(Settings(), database=str(db), outlet_code="ORCHARD")
    window = make_window(settings)
    lock_when_ready(window, settings)
    qtbot.waitUntil(lambda: getattr(window, "first_manager_dialog", None) is not None
                    and window.first_manager_dialog.isVisible(), timeout=WAIT)
    dialog = window.first_manager_dialog
    assert dialog.role_combo.currentData() == "manager" and not dialog.role_combo.isEnabled()
    _settle()
    save_screenshot(window.sign_in, "first-manager-behind")
    save_screenshot(dialog, "first-manager-dialog")
    # A mistake first: the PINs differ.
    qtbot.keyClicks(dialog.name_edit, "Mei Tan")
    qtbot.keyClicks(dialog.code_edit, "M01")
    qtbot.keyClicks(dialog.pin_edit, "4821")
    qtbot.keyClicks(dialog.pin_again, "4812")
    qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    assert dialog.pin_error.text() == "The two PINs differ" and dialog.isVisible()
    _settle()
    save_screenshot(dialog, "first-manager-pins-differ")
    dialog.pin_again.clear()
    qtbot.keyClicks(dialog.pin_again, "4821")
    with qtbot.waitSignal(dialog.saved, timeout=WAIT):
        qtbot.mouseClick(dialog.save_button, Qt.MouseButton.LeftButton)
    panel = window.sign_in
    qtbot.waitUntil(lambda: panel.staff_list.count() == 1, timeout=WAIT)
    assert panel.staff_list.item(0).text().startswith("Mei Tan")
    assert _audit(db)[0][1:] == ("staff_added", {"staff_code": "M01", "staff_id": 1, "name": "Mei Tan",
                                                 "role": "manager", "pin_set": True, "via": "first start"})
    panel.pin_edit.setFocus()
    qtbot.keyClicks(panel.pin_edit, "4821")
    with qtbot.waitSignal(panel.pin_checked, timeout=WAIT) as checked:
        qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)
    assert checked.args[0].ok and window.staff.name == "Mei Tan"


def test_a_counter_with_a_manager_goes_straight_to_sign_in(qtbot, make_window, demo_db):
    settings = replace(Settings(), database=str(demo_db))
    window = make_window(settings)
    lock_when_ready(window, settings)
    qtbot.waitUntil(lambda: window.sign_in.staff_list.count() > 0, timeout=WAIT)
    assert getattr(window, "first_manager_dialog", None) is None and window.locked


def test_a_manager_adds_and_changes_staff_behind_their_pin(qtbot, make_window, demo_db):
    window = make_window(replace(Settings(), database=str(demo_db)))
    window.staff = window.counter.staff.list_staff()[0]  # someone is signed in; the manager approves on top
    window.open_staff_admin()
    approval = next(d for d in window.findChildren(QDialog) if d.windowTitle() == "Staff administration")
    qtbot.waitUntil(lambda: approval.manager_combo.currentData() is not None, timeout=WAIT)
    assert approval.manager_combo.currentText() == "Mei Tan (S03) · manager"
    qtbot.keyClicks(approval.pin_edit, "1234")
    approval.buttons.accepted.emit()
    qtbot.waitUntil(lambda: "Wrong PIN" in approval.message.text(), timeout=WAIT)
    qtbot.keyClicks(approval.pin_edit, "9999")
    with qtbot.waitSignal(approval.finished, timeout=WAIT):
        approval.buttons.accepted.emit()
    qtbot.waitUntil(lambda: getattr(window, "staff_admin_screen", None) is not None, timeout=WAIT)
    screen = window.staff_admin_screen
    qtbot.waitUntil(lambda: screen.table.rowCount() == 4, timeout=WAIT)
    _settle()
    save_screenshot(screen, "staff-admin-list")

    qtbot.mouseClick(screen.add_button, Qt.MouseButton.LeftButton)
    form = screen.child_dialog
    qtbot.keyClicks(form.name_edit, "Nurul Huda")
    qtbot.keyClicks(form.code_edit, "s01")  # WESS codes are compared without regard to case
    qtbot.keyClicks(form.pin_edit, "6042")
    qtbot.keyClicks(form.pin_again, "6042")
    qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "already used by Jason Lim" in form.general_error.text(), timeout=WAIT)
    _settle()
    save_screenshot(form, "staff-admin-add-duplicate")
    form.code_edit.clear()
    qtbot.keyClicks(form.code_edit, "S05")
    with qtbot.waitSignal(form.saved, timeout=WAIT):
        qtbot.mouseClick(form.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: screen.table.rowCount() == 5, timeout=WAIT)
    assert screen.selected().code == "S05"

    # The only manager cannot be deactivated; a receptionist can.
    assert screen.select_code("S03")
    qtbot.mouseClick(screen.active_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "only active manager" in screen.message.text(), timeout=WAIT)
    _settle()
    save_screenshot(screen, "staff-admin-last-manager")
    assert screen.select_code("S04")
    qtbot.mouseClick(screen.active_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: any(r.code == "S04" and not r.active for r in screen.records), timeout=WAIT)
    assert screen.active_button.text() == "Reactivate"

    assert screen.select_code("S05")
    qtbot.mouseClick(screen.pin_button, Qt.MouseButton.LeftButton)
    pin = screen.child_dialog
    qtbot.keyClicks(pin.pin_edit, "7153")
    qtbot.keyClicks(pin.pin_again, "7153")
    with qtbot.waitSignal(pin.finished, timeout=WAIT):
        qtbot.mouseClick(pin.save_button, Qt.MouseButton.LeftButton)
    _settle()
    save_screenshot(screen, "staff-admin-after-changes")
    audit = _audit(demo_db)
    assert [(staff_id, action) for staff_id, action, _ in audit] == [
        (3, "staff_added"), (3, "staff_deactivated"), (3, "staff_pin_set")]
    assert all(details["via"] == "screen" for _, _, details in audit)
    assert window.counter.staff.check_pin(audit[0][2]["staff_id"], "7153").ok
