"""The Day window from the counter's main window: F10 as the signed-in manager, then a receipt, then the counter's
own void/refund dialog on top of the day; a receptionist gets their shift."""
from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import QDate, Qt

from frontdesk.app.wiring import build_window
from frontdesk.config import Settings
from frontdesk.ui.resources import stylesheet
from tests.conftest import save_screenshot
from tests.ui.day.conftest import WAIT


@pytest.fixture
def window(qtbot, qapp, generated_day):  # type: ignore[no-untyped-def]
    qapp.setStyleSheet(stylesheet())
    settings = replace(Settings(), database=str(generated_day.db), outlet_code="TAMPINES", counter_id="C2")
    win = build_window(settings)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    yield win
    for dialog in (win.void_dialog, win.day_window):
        if dialog is not None and dialog.isVisible():
            dialog.done(0)
    win.runner.shutdown()
    win.lookup.close()


def _sign_in(qtbot, window, name: str, pin: str) -> None:  # type: ignore[no-untyped-def]
    panel = window.sign_in
    qtbot.waitUntil(lambda: panel.staff_list.count() > 0, timeout=WAIT)
    row = next(i for i in range(panel.staff_list.count()) if panel.staff_list.item(i).text().startswith(name))
    panel.staff_list.setCurrentRow(row)
    panel.pin_edit.setFocus()
    qtbot.keyClicks(panel.pin_edit, pin)
    with qtbot.waitSignal(panel.pin_checked, timeout=WAIT):
        qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)


def _open_day(qtbot, window, generated_day, name: str, pin: str):  # type: ignore[no-untyped-def]
    """F10 with nobody signed in: the sign-in panel first, then the Day window for whoever signed in."""
    qtbot.keyClick(window.search_box, Qt.Key.Key_F10)
    assert window.locked
    with qtbot.waitSignal(window.dialog_opened, timeout=WAIT) as opened:
        _sign_in(qtbot, window, name, pin)
    day = opened.args[0]
    assert day is window.day_window and day.isVisible()
    # The test screen is 800x800 and the window was fitted to it; the counter's is 1366x768 (test_screen_fit
    # checks the fit itself there).
    day.setMaximumSize(16777215, 16777215)
    day.resize(1366, 768)
    qtbot.waitUntil(lambda: day.state is not None, timeout=WAIT)
    d = generated_day.day
    with qtbot.waitSignal(day.loaded, timeout=WAIT):
        day.date_edit.setDate(QDate(d.year, d.month, d.day))
    return day


def test_manager_opens_the_day_and_voids_from_a_receipt(qtbot, window, generated_day) -> None:  # type: ignore[no-untyped-def]
    day = _open_day(qtbot, window, generated_day, "Mei Tan", "9999")
    assert day.manager_mode and day.state.report.scope.day == generated_day.day
    assert day.model.rowCount() == len(day.state.report.rows) > 40
    day.filter_edit.setText("D0012")
    day.table.setFocus()
    day.table.selectRow(0)
    qtbot.keyClick(day.table, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: day.receipt_dialog is not None and day.receipt_dialog.isVisible(), timeout=WAIT)
    qtbot.mouseClick(day.receipt_dialog.view.void_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.void_dialog is not None and window.void_dialog.isVisible(), timeout=WAIT)
    void = window.void_dialog
    assert void.parent() is day  # on top of the day, not hidden behind it
    qtbot.waitUntil(lambda: void.sale is not None, timeout=WAIT)
    assert void.sale.receipt_no == "D0012"
    save_screenshot(day, "day-then-void")
    from tests.ui.day.test_day_window import assert_nothing_cut

    assert_nothing_cut(day)  # a selected row leaves the headers as they were
    with qtbot.waitSignal(day.loaded, timeout=WAIT):
        void.done(0)  # cancelled: the day reloads all the same


def test_receptionist_gets_their_own_shift(qtbot, window, generated_day) -> None:  # type: ignore[no-untyped-def]
    day = _open_day(qtbot, window, generated_day, "Priya Nair", "3333")
    assert not day.manager_mode
    assert {r.staff_name for r in day.state.report.rows if r.kind == "sale"} == {"Priya Nair"}
