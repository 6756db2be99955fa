"""Every dialog looks like the counter (the one dialog style from ui/widgets), not plain grey Qt; pictures of each
at the counter's 1366x768 go to tests/screenshots/."""
from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication, QMessageBox

from frontdesk.app.wiring import build_window
from frontdesk.config import Settings
from frontdesk.ui.resources import stylesheet
from tests.conftest import save_screenshot

BACKGROUND = QColor("#f5f7fa")


@pytest.fixture
def window(qtbot, qapp, demo_db):
    qapp.setStyleSheet(stylesheet())
    win = build_window(replace(Settings(), database=str(demo_db)))
    qtbot.addWidget(win)
    win.resize(1366, 768)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.runner.shutdown()
    win.lookup.close()


def _looks_like_the_counter(qtbot, dialog, name: str) -> None:  # type: ignore[no-untyped-def]
    dialog.show()
    qtbot.waitExposed(dialog)
    for _ in range(3):
        QApplication.processEvents()
    save_screenshot(dialog, name)
    corner = dialog.grab().toImage().pixelColor(3, dialog.height() - 3)
    assert corner == BACKGROUND, f"{name}: background {corner.name()}, not the counter's {BACKGROUND.name()}"


def test_enrolment_approval_and_message_boxes_share_the_dialog_style(qtbot, window):
    from frontdesk.ui.enrol_dialog import EnrolDialog
    from frontdesk.ui.manager_approval import ManagerApprovalDialog

    enrol = EnrolDialog(window.settings, window.counter, window.runner, parent=window)
    _looks_like_the_counter(qtbot, enrol, "style-enrol")
    enrol.done(0)
    approval = ManagerApprovalDialog(window.counter.staff, window.runner, "Discard the parked sale W1001?", window)
    _looks_like_the_counter(qtbot, approval, "style-manager-approval")
    approval.done(0)
    box = QMessageBox(QMessageBox.Icon.Question, "Discard this sale?",
                      "Nothing has been saved. Close and discard what you typed?",
                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, window)
    _looks_like_the_counter(qtbot, box, "style-message-box")
    box.done(0)


def test_the_setup_wizard_shares_the_dialog_style(qtbot, qapp, monkeypatch):
    import keyring

    from tests.packaging.conftest import MemoryKeyring

    previous = keyring.get_keyring()
    keyring.set_keyring(MemoryKeyring())
    qapp.setStyleSheet(stylesheet())
    from frontdesk.ui.setup_wizard import SetupWizard

    wizard = SetupWizard()
    qtbot.addWidget(wizard)
    try:
        _looks_like_the_counter(qtbot, wizard, "style-setup-wizard")
    finally:
        wizard.runner.shutdown(wait=True)
        keyring.set_keyring(previous)
