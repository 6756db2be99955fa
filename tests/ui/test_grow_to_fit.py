"""A dialog whose content grew (a two-line message appeared) grows with it, within the screen, instead of cutting
the last line of its wrapped labels."""
from __future__ import annotations

from PySide6.QtWidgets import QDialog, QLabel, QLineEdit, QVBoxLayout

from frontdesk.ui.widgets.screen import FRAME_ALLOWANCE_HEIGHT, grow_to_fit, usable_area


def _cut(label: QLabel) -> bool:
    return label.height() < label.heightForWidth(label.width())


def test_a_dialog_grows_when_a_long_message_appears_and_stays_on_screen(qtbot) -> None:
    dialog = QDialog()
    qtbot.addWidget(dialog)
    layout = QVBoxLayout(dialog)
    labels = [QLabel("") for _ in range(4)]
    for label in labels:
        label.setWordWrap(True)
        layout.addWidget(label)
        layout.addWidget(QLineEdit())
    dialog.resize(420, 220)
    dialog.show()
    qtbot.waitExposed(dialog)
    for label in labels:
        label.setText("The disk is full (1.9 MB free on the drive holding the data folder): this void cannot be "
                      "saved. Ask IT to free some space; nothing already saved is lost.")
    qtbot.wait(20)
    assert any(_cut(label) for label in labels)  # what the receptionist saw before
    grow_to_fit(dialog)
    qtbot.waitUntil(lambda: not any(_cut(label) for label in labels), timeout=2000)
    assert dialog.height() <= usable_area(dialog).height() - FRAME_ALLOWANCE_HEIGHT
    before = dialog.height()
    grow_to_fit(dialog)  # fits already: left as it is
    assert dialog.height() == before
