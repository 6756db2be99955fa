"""Sign-in and lock screen: an opaque panel over the whole window, so a locked counter shows no member data.

Keyboard first: the staff list has focus (↑ ↓ or the first letters of a name pick a person), Enter or Tab goes to
the PIN, Enter signs in. PINs are checked off the GUI thread (scrypt takes ~40 ms by design) by the staff service,
which also slows down repeated wrong PINs; its message appears under the PIN field.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from frontdesk.staff.service import PinCheck, StaffInfo, StaffService
from frontdesk.ui.tasks import TaskRunner
from frontdesk.ui.widgets.forms import FieldError

log = logging.getLogger(__name__)

class SignInPanel(QWidget):
    signed_in = Signal(object)  # StaffInfo
    pin_checked = Signal(object)  # PinCheck, right or wrong (tests and the status bar listen)

    def __init__(self, staff_service: StaffService, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.staff_service = staff_service
        self.runner = runner
        self._busy = False
        self.setObjectName("LockScreen")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#LockScreen { background: #1f2933; }"
                           "#LockCard { background: white; border-radius: 12px; }"
                           "#LockTitle { font-size: 22px; font-weight: 600; }"
                           "QListWidget { border: 1px solid #cbd2d9; border-radius: 6px; font-size: 15px; }"
                           "QListWidget::item { padding: 6px; }"
                           "QListWidget::item:selected { background: #2f6fde; color: white; }"
                           "#PinEdit { font-size: 22px; letter-spacing: 6px; padding: 8px 12px; }"
                           "QLabel#FieldError { color: #c62828; font-size: 13px; }")

        outer = QVBoxLayout(self)
        outer.addStretch(1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.card = QFrame()
        self.card.setObjectName("LockCard")
        self.card.setFixedWidth(420)
        layout = QVBoxLayout(self.card)
        layout.setContentsMargins(28, 24, 28, 24)
        layout.setSpacing(10)
        self.title = QLabel("Sign in")
        self.title.setObjectName("LockTitle")
        layout.addWidget(self.title)
        self.subtitle = QLabel("Pick your name, then type your PIN.")
        self.subtitle.setObjectName("Muted")
        self.subtitle.setWordWrap(True)
        layout.addWidget(self.subtitle)
        self.hint = QLabel("")
        self.hint.setObjectName("SignInHint")
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("background: #fff8e1; color: #5d4200; border-radius: 6px; padding: 6px 8px;")
        self.hint.hide()
        layout.addWidget(self.hint)
        self.staff_list = QListWidget()
        self.staff_list.setAccessibleName("Staff")
        self.staff_list.setMinimumHeight(170)
        self.staff_list.itemActivated.connect(lambda _item: self.pin_edit.setFocus())
        self.staff_list.currentItemChanged.connect(lambda *_: self.error.show_message(""))
        layout.addWidget(self.staff_list)
        pin_caption = QLabel("PIN")
        pin_caption.setObjectName("ColumnHead")
        layout.addWidget(pin_caption)
        self.pin_edit = QLineEdit()
        self.pin_edit.setObjectName("PinEdit")
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setMaxLength(8)
        self.pin_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,8}"), self))
        self.pin_edit.setAccessibleName("PIN")
        self.pin_edit.returnPressed.connect(self.submit)
        self.pin_edit.installEventFilter(self)
        layout.addWidget(self.pin_edit)
        self.error = FieldError()
        layout.addWidget(self.error)
        self.sign_in_button = QPushButton("Sign in  (Enter)")
        self.sign_in_button.setObjectName("Primary")
        self.sign_in_button.clicked.connect(self.submit)
        layout.addWidget(self.sign_in_button)
        row.addWidget(self.card)
        row.addStretch(1)
        outer.addLayout(row)
        outer.addStretch(2)
        self.hide()

    # --- showing ---------------------------------------------------------------------------------------------
    def set_hint(self, text: str) -> None:
        """A standing note under the title (the demo counter's PINs)."""
        self.hint.setText(text)
        self.hint.setVisible(bool(text))

    def start(self, *, locked_by: StaffInfo | None = None, message: str = "") -> None:
        """Show the panel and load the staff list; `locked_by` pre-selects whoever locked the counter."""
        self.title.setText("Counter locked" if locked_by else "Sign in")
        self.subtitle.setText(message or ("Pick your name, then type your PIN." if not locked_by else
                                          f"Locked by {locked_by.name}. Pick your name and type your PIN."))
        self.pin_edit.clear()
        self.error.show_message("")
        self.show()
        self.raise_()
        self.staff_list.setFocus()
        service = self.staff_service
        preselect = locked_by.id if locked_by else None
        self.runner.run_db(service.list_staff, lambda staff: self._fill(staff, preselect), self._load_failed)

    def _fill(self, staff: list[StaffInfo], preselect: int | None) -> None:
        self.staff_list.clear()
        for person in staff:
            item = QListWidgetItem(f"{person.name}   ·   {person.role}")
            item.setData(Qt.ItemDataRole.UserRole, person)
            self.staff_list.addItem(item)
            if person.id == preselect:
                self.staff_list.setCurrentItem(item)
        if self.staff_list.currentRow() < 0 and self.staff_list.count():
            self.staff_list.setCurrentRow(0)
        if not staff:
            self.error.show_message("No staff are set up in this database. IT adds them with "
                                    "`frontdesk staff add --code S01 --name \"...\" --role manager`")
        elif preselect is not None:
            self.pin_edit.setFocus()

    def _load_failed(self, error: BaseException) -> None:
        log.error("could not load staff: %s", error)
        self.error.show_message("The staff list could not be read from the database")

    def select_staff(self, staff_id: int) -> bool:
        for row in range(self.staff_list.count()):
            person = self.staff_list.item(row).data(Qt.ItemDataRole.UserRole)
            if person.id == staff_id:
                self.staff_list.setCurrentRow(row)
                return True
        return False

    def selected(self) -> StaffInfo | None:
        item = self.staff_list.currentItem()
        return item.data(Qt.ItemDataRole.UserRole) if item else None

    # --- signing in -----------------------------------------------------------------------------------------
    def submit(self) -> None:
        if self._busy:
            return
        person = self.selected()
        if person is None:
            self.error.show_message("Pick your name from the list")
            self.staff_list.setFocus()
            return
        pin = self.pin_edit.text()
        if not pin:
            self.error.show_message("Type your PIN")
            self.pin_edit.setFocus()
            return
        self._busy = True
        self.sign_in_button.setEnabled(False)
        service = self.staff_service
        self.runner.run_db(lambda: service.check_pin(person.id, pin), self._checked, self._check_failed)

    def _checked(self, check: PinCheck) -> None:
        self._busy = False
        self.sign_in_button.setEnabled(True)
        self.pin_checked.emit(check)
        if check.ok and check.staff is not None:
            self.pin_edit.clear()
            self.error.show_message("")
            self.hide()
            self.signed_in.emit(check.staff)
            return
        self.error.show_message(check.message)
        self.pin_edit.selectAll()
        self.pin_edit.setFocus()

    def _check_failed(self, error: BaseException) -> None:
        self._busy = False
        self.sign_in_button.setEnabled(True)
        log.error("PIN check failed: %s", error)
        self.error.show_message("The PIN could not be checked (database error); try again")

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # Up/Down in the PIN field still move through the staff list: no need to reach for the mouse.
        if watched is self.pin_edit and event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Up, Qt.Key.Key_Down) and self.staff_list.count():
                step = 1 if key == Qt.Key.Key_Down else -1
                row = max(0, min(self.staff_list.count() - 1, self.staff_list.currentRow() + step))
                self.staff_list.setCurrentRow(row)
                return True
        return super().eventFilter(watched, event)
