"""The form pieces every counter dialog shares: the dialog style, a field's error line, money edits, the footer
with its message line and action button, and the card frame. Qt widgets only; no services, no I/O."""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from frontdesk.ui.widgets.screen import grow_to_fit

# The one dialog style, added to the application stylesheet (ui.resources.stylesheet) so every dialog, wizard and
# message box looks like the counter, not plain grey Qt; dialogs also set it on themselves, for use without the app.
DIALOG_STYLE = """
QDialog, QMessageBox, QWizard, QWizardPage { background: #f5f7fa; }
QMessageBox QLabel { font-size: 14px; color: #1f2933; }
QMessageBox QPushButton { min-width: 96px; }
QLineEdit[invalid="true"], QComboBox[invalid="true"] { border: 1px solid #c62828; background: #fff5f5; }
QLabel#FieldError { color: #c62828; font-size: 12px; }
QLabel#ErrorSummary { color: #8a1c1c; background: #fdecec; border: 1px solid #f3b8b8; border-radius: 6px;
                      padding: 6px 8px; font-size: 12px; }
QLabel#ColumnHead { color: #52606d; font-size: 12px; font-weight: 600; }
QLabel#Total { font-size: 20px; font-weight: 600; color: #102a43; }
QLabel#Good { color: #1e7b34; font-weight: 600; }
QLabel#Bad { color: #c62828; font-weight: 600; }
QLabel#Wess { background: #e8f0fe; color: #143d8c; border-radius: 6px; padding: 8px 10px; }
QPushButton#Flat { border: none; padding: 4px 6px; color: #616e7c; }
QPushButton#Flat:hover { color: #c62828; background: #fdecec; }
"""


# --- shared form helpers -----------------------------------------------------------------------------------------
class FieldError(QLabel):
    """The message beside (under) a field. Its line is kept while empty, so a message appearing never pushes the
    fields below it away from under the receptionist's mouse."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("", parent)
        self.setObjectName("FieldError")
        self.setWordWrap(True)
        policy = self.sizePolicy()
        policy.setRetainSizeWhenHidden(True)
        self.setSizePolicy(policy)
        self.hide()

    def show_message(self, text: str | None) -> None:
        self.setText(text or "")
        self.setVisible(bool(text))
        dialog = self.window()
        if text and isinstance(dialog, QDialog) and dialog.isVisible():
            grow_to_fit(dialog)  # a message longer than its kept line would squeeze the other wrapped labels


def mark_invalid(widget: QWidget, invalid: bool) -> None:
    if widget.property("invalid") == invalid:
        return
    widget.setProperty("invalid", invalid)
    widget.style().unpolish(widget)
    widget.style().polish(widget)


def money_edit(placeholder: str = "0.00", width: int | None = 84) -> QLineEdit:
    edit = QLineEdit()
    edit.setPlaceholderText(placeholder)
    edit.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    edit.setMaxLength(16)
    if width:
        edit.setFixedWidth(width)
    return edit


def no_default(*buttons: QPushButton) -> None:
    """In a QDialog, Enter presses the default button; counter dialogs act only on an explicit click or shortcut."""
    for button in buttons:
        button.setAutoDefault(False)
        button.setDefault(False)


def dialog_footer(dialog: QDialog, layout: QVBoxLayout, action_text: str,
                  on_action: Callable[[], None]) -> tuple[FieldError, QPushButton, QPushButton]:
    """The bottom of a counter dialog: a message line for errors that belong to no field, Cancel on the left,
    the one action on the right (also Ctrl+Enter). Returns (message line, cancel, action)."""
    general_error = FieldError()
    layout.addWidget(general_error)
    buttons = QHBoxLayout()
    cancel = QPushButton("Cancel")
    cancel.clicked.connect(dialog.reject)
    action = QPushButton(action_text)
    action.setObjectName("Primary")
    action.clicked.connect(on_action)
    no_default(cancel, action)
    buttons.addWidget(cancel)
    buttons.addStretch(1)
    buttons.addWidget(action)
    layout.addLayout(buttons)
    QShortcut(QKeySequence("Ctrl+Return"), dialog, activated=on_action)
    return general_error, cancel, action


def card(title: str | None = None) -> tuple[QFrame, QVBoxLayout]:
    frame = QFrame()
    frame.setObjectName("Card")
    layout = QVBoxLayout(frame)
    layout.setContentsMargins(14, 10, 14, 12)
    layout.setSpacing(6)
    if title:
        heading = QLabel(title)
        heading.setObjectName("SectionTitle")
        layout.addWidget(heading)
    return frame, layout


# --- rows ----------------------------------------------------------------------------------------------------------


def refusal_as_value(action, refusal: type[Exception]):  # type: ignore[no-untyped-def]
    """Run `action`, returning an expected refusal (bad input) instead of raising it: the task runner logs raised
    errors as failures, and a receptionist's typo is not one."""
    try:
        return action()
    except refusal as error:
        return error


def list_table(columns: list[str]) -> QTableWidget:
    """A read-only, one-row-at-a-time list: columns sized to their contents, the last one taking the rest."""
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.verticalHeader().hide()
    table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
    table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
    table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
    header = table.horizontalHeader()
    for column in range(len(columns) - 1):
        header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
    header.setSectionResizeMode(len(columns) - 1, QHeaderView.ResizeMode.Stretch)
    return table
