"""Staff administration at the counter, and the first manager of a new counter.

- `StaffAdminDialog`: a manager (approved with their PIN through `ManagerApprovalDialog`) sees everyone on this
  counter and adds staff, sets PINs, changes names and roles, deactivates and reactivates. Every change goes through
  `frontdesk.staff.admin.StaffAdmin`, which audits it under the approving manager.
- `FirstManagerDialog`: a real (non-demo) counter without an active manager opens this before the sign-in, so IT
  can make the first manager right there (the same as `frontdesk staff add --role manager`).

PINs are hashed on the DB worker (scrypt takes ~40 ms); the screens only collect and check what is typed.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QRegularExpression, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from frontdesk.staff.admin import (
    ROLES,
    Actor,
    StaffAdmin,
    StaffAdminError,
    StaffRecord,
    check_code,
    check_name,
    check_pin,
)
from frontdesk.ui.tasks import TaskRunner
from frontdesk.ui.widgets.forms import DIALOG_STYLE, FieldError, dialog_footer, mark_invalid

log = logging.getLogger(__name__)


def _pin_edit(placeholder: str) -> QLineEdit:
    edit = QLineEdit()
    edit.setEchoMode(QLineEdit.EchoMode.Password)
    edit.setMaxLength(8)
    edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,8}"), edit))
    edit.setPlaceholderText(placeholder)
    return edit


class StaffFormDialog(QDialog):
    """Add a staff member (name, code, role, PIN twice) or edit one (name, role). `saved(StaffRecord)` on success."""

    saved = Signal(object)

    def __init__(self, admin: StaffAdmin, runner: TaskRunner, actor: Actor, *, record: StaffRecord | None = None,
                 title: str = "", intro: str = "", fixed_role: str | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin, self.runner, self.actor, self.record = admin, runner, actor, record
        self.result_record: StaffRecord | None = None
        self._busy = False
        self.setWindowTitle(title or ("Edit staff member" if record else "Add staff member"))
        self.setStyleSheet(DIALOG_STYLE)
        self.setMinimumWidth(480)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        if intro:
            text = QLabel(intro)
            text.setWordWrap(True)
            layout.addWidget(text)
        form = QFormLayout()
        self.name_edit = QLineEdit(record.name if record else "")
        self.name_edit.setAccessibleName("Name")
        self.name_edit.setMaxLength(100)
        self.name_error = FieldError()
        self.code_edit = QLineEdit(record.code if record else "")
        self.code_edit.setAccessibleName("Staff code")
        self.code_edit.setPlaceholderText("the staff id WESS prints on receipts, e.g. S01")
        self.code_edit.setMaxLength(32)
        self.code_edit.setEnabled(record is None)
        self.code_error = FieldError()
        self.role_combo = QComboBox()
        self.role_combo.setAccessibleName("Role")
        for role in ROLES:
            self.role_combo.addItem(role.capitalize(), role)
        self.role_combo.setCurrentIndex(max(0, self.role_combo.findData(fixed_role or (record.role if record
                                                                                       else "receptionist"))))
        self.role_combo.setEnabled(fixed_role is None)
        form.addRow("Name", _column(self.name_edit, self.name_error))
        form.addRow("Staff code", _column(self.code_edit, self.code_error))
        form.addRow("Role", self.role_combo)
        self.pin_edit: QLineEdit | None = None
        self.pin_again: QLineEdit | None = None
        self.pin_error = FieldError()
        if record is None:
            self.pin_edit = _pin_edit("4 to 8 digits")
            self.pin_edit.setAccessibleName("PIN")
            self.pin_again = _pin_edit("the same PIN again")
            self.pin_again.setAccessibleName("PIN again")
            form.addRow("PIN", self.pin_edit)
            form.addRow("PIN again", _column(self.pin_again, self.pin_error))
        layout.addLayout(form)
        self.general_error, self.cancel_button, self.save_button = dialog_footer(
            self, layout, "Save" if record else "Add", self.save)
        self.name_edit.setFocus()

    def problems(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        for key, check, edit in (("name", check_name, self.name_edit), ("code", check_code, self.code_edit)):
            try:
                check(edit.text())
            except StaffAdminError as error:
                problems[key] = str(error)
        if self.pin_edit is not None and self.pin_again is not None:
            try:
                check_pin(self.pin_edit.text())
                if self.pin_edit.text() != self.pin_again.text():
                    problems["pin"] = "The two PINs differ"
            except StaffAdminError as error:
                problems["pin"] = str(error)
        return problems

    def _show(self, problems: dict[str, str]) -> None:
        for key, label, edit in (("name", self.name_error, self.name_edit), ("code", self.code_error,
                                                                            self.code_edit),
                                 ("pin", self.pin_error, self.pin_edit)):
            label.show_message(problems.get(key))
            if edit is not None:
                mark_invalid(edit, key in problems)

    def save(self) -> None:
        if self._busy:
            return
        problems = self.problems()
        self._show(problems)
        if problems:
            return
        self._busy = True
        self.save_button.setEnabled(False)
        admin, actor, record = self.admin, self.actor, self.record
        name, code, role = self.name_edit.text(), self.code_edit.text(), str(self.role_combo.currentData())
        pin = self.pin_edit.text() if self.pin_edit is not None else None

        def write() -> StaffRecord | StaffAdminError:
            try:
                if record is None:
                    return admin.add(code, name, role, pin, actor)
                return admin.update(record.code, actor, name=name, role=role)
            except StaffAdminError as error:
                return error

        self.runner.run_db(write, self._written, self._failed)

    def _written(self, result: StaffRecord | StaffAdminError) -> None:
        self._busy = False
        self.save_button.setEnabled(True)
        if isinstance(result, StaffAdminError):
            self.general_error.show_message(str(result))
            return
        self.result_record = result
        self.saved.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self.save_button.setEnabled(True)
        log.error("staff change failed: %s", error)
        self.general_error.show_message(f"Not saved: {error}")


class FirstManagerDialog(StaffFormDialog):
    """A new counter's first manager: the person who approves voids and adds the rest of the staff."""

    def __init__(self, admin: StaffAdmin, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(
            admin, runner, Actor(staff_id=None, via="first start"), fixed_role="manager",
            title="Set up the first manager",
            intro="<b>This counter has no manager yet.</b><br>A manager approves voids and refunds and adds the "
                  "other staff (Staff… in the status bar). Enter the first manager's name, their staff code as "
                  "WESS knows it, and a PIN they will remember.<br><span style='color:#52606d'>IT can also do "
                  "this from a terminal: <code>frontdesk staff add --code S01 --name \"...\" --role manager"
                  "</code></span>",
            parent=parent)
        self.save_button.setText("Create manager")


class PinDialog(QDialog):
    """A new PIN for one staff member, typed twice."""

    def __init__(self, admin: StaffAdmin, runner: TaskRunner, actor: Actor, record: StaffRecord,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.admin, self.runner, self.actor, self.record = admin, runner, actor, record
        self.setWindowTitle(f"New PIN · {record.name}")
        self.setStyleSheet(DIALOG_STYLE)
        self.setMinimumWidth(400)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.addWidget(QLabel(f"A new PIN for <b>{record.name}</b> ({record.code}). It also clears a PIN lock."))
        form = QFormLayout()
        self.pin_edit = _pin_edit("4 to 8 digits")
        self.pin_edit.setAccessibleName("PIN")
        self.pin_again = _pin_edit("the same PIN again")
        self.pin_again.setAccessibleName("PIN again")
        self.pin_error = FieldError()
        form.addRow("PIN", self.pin_edit)
        form.addRow("PIN again", _column(self.pin_again, self.pin_error))
        layout.addLayout(form)
        self.general_error, self.cancel_button, self.save_button = dialog_footer(self, layout, "Set PIN", self.save)
        self.pin_edit.setFocus()

    def save(self) -> None:
        try:
            pin = check_pin(self.pin_edit.text())
            if pin != self.pin_again.text().strip():
                raise StaffAdminError("The two PINs differ")
        except StaffAdminError as error:
            self.pin_error.show_message(str(error))
            return
        self.save_button.setEnabled(False)
        admin, actor, code = self.admin, self.actor, self.record.code
        self.runner.run_db(lambda: _refusal(lambda: admin.set_pin(code, pin, actor)), self._written,
                           lambda error: self._written(StaffAdminError(str(error))))

    def _written(self, result: Any) -> None:
        self.save_button.setEnabled(True)
        if isinstance(result, StaffAdminError):
            self.general_error.show_message(str(result))
            return
        self.accept()


class StaffAdminDialog(QDialog):
    """Everyone on this counter, and what a manager may change about them."""

    changed = Signal()

    COLUMNS = ("Name", "Staff code", "Role", "PIN", "Status")

    def __init__(self, admin: StaffAdmin, runner: TaskRunner, manager_id: int, parent: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        self.admin, self.runner = admin, runner
        self.actor = Actor(staff_id=manager_id, via="screen")
        self.records: list[StaffRecord] = []
        self.setWindowTitle("Staff")
        self.setStyleSheet(DIALOG_STYLE)
        self.resize(820, 520)
        self.setMinimumSize(640, 400)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        intro = QLabel("Who can sign in at this counter. Staff codes are the ids WESS prints on receipts. "
                       "Every change is recorded in the audit log under your name.")
        intro.setWordWrap(True)
        intro.setObjectName("Muted")
        layout.addWidget(intro)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        self.table.cellDoubleClicked.connect(lambda *_: self.edit_selected())
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.add_button = QPushButton("Add staff…")
        self.add_button.setObjectName("Primary")
        self.add_button.clicked.connect(self.add_staff)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        self.pin_button = QPushButton("Set PIN…")
        self.pin_button.clicked.connect(self.set_pin_selected)
        self.active_button = QPushButton("Deactivate")
        self.active_button.clicked.connect(self.toggle_active_selected)
        for button in (self.add_button, self.edit_button, self.pin_button, self.active_button):
            button.setAutoDefault(False)
            row.addWidget(button)
        row.addStretch(1)
        close = QPushButton("Close")
        close.setAutoDefault(False)
        close.clicked.connect(self.accept)
        row.addWidget(close)
        layout.addLayout(row)
        self.message = FieldError()
        layout.addWidget(self.message)
        self._selection_changed()
        self.reload()

    # --- data ---------------------------------------------------------------------------------------------------
    def reload(self, select_code: str | None = None) -> None:
        admin = self.admin
        self.runner.run_db(admin.list_staff, lambda records: self._fill(records, select_code),
                           lambda error: self.message.show_message(f"The staff list could not be read: {error}"))

    def _fill(self, records: list[StaffRecord], select_code: str | None) -> None:
        current = select_code or (self.selected().code if self.selected() else None)
        self.records = records
        self.table.setRowCount(len(records))
        for index, record in enumerate(records):
            cells = (record.name, record.code, record.role.capitalize(),
                     ("set" if record.has_pin else "not set") + (" · locked" if record.locked else ""),
                     "active" if record.active else "deactivated")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not record.active:
                    item.setForeground(Qt.GlobalColor.gray)
                self.table.setItem(index, column, item)
            if record.code == current:
                self.table.selectRow(index)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        if self.table.currentRow() < 0 and records:
            self.table.selectRow(0)
        self._selection_changed()

    def selected(self) -> StaffRecord | None:
        row = self.table.currentRow()
        return self.records[row] if 0 <= row < len(self.records) else None

    def select_code(self, code: str) -> bool:
        for index, record in enumerate(self.records):
            if record.code == code:
                self.table.selectRow(index)
                return True
        return False

    def _selection_changed(self) -> None:
        record = self.selected()
        for button in (self.edit_button, self.pin_button, self.active_button):
            button.setEnabled(record is not None)
        self.active_button.setText("Reactivate" if record is not None and not record.active else "Deactivate")

    # --- actions ------------------------------------------------------------------------------------------------
    def _after(self, dialog: QDialog, code: Callable[[], str | None]) -> None:
        def done(result: int) -> None:
            if result == QDialog.DialogCode.Accepted:
                self.message.show_message("")
                self.changed.emit()
                self.reload(code())

        dialog.finished.connect(done)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        self.child_dialog = dialog

    def add_staff(self) -> None:
        dialog = StaffFormDialog(self.admin, self.runner, self.actor, parent=self)
        self._after(dialog, lambda: dialog.result_record.code if dialog.result_record else None)

    def edit_selected(self) -> None:
        record = self.selected()
        if record is not None:
            self._after(StaffFormDialog(self.admin, self.runner, self.actor, record=record, parent=self),
                        lambda: record.code)

    def set_pin_selected(self) -> None:
        record = self.selected()
        if record is not None:
            self._after(PinDialog(self.admin, self.runner, self.actor, record, parent=self), lambda: record.code)

    def toggle_active_selected(self) -> None:
        record = self.selected()
        if record is None:
            return
        admin, actor = self.admin, self.actor
        self.runner.run_db(lambda: _refusal(lambda: admin.set_active(record.code, not record.active, actor)),
                           lambda result: self._toggled(result, record.code),
                           lambda error: self.message.show_message(f"Not changed: {error}"))

    def _toggled(self, result: Any, code: str) -> None:
        if isinstance(result, StaffAdminError):
            self.message.show_message(str(result))
            return
        self.message.show_message("")
        self.changed.emit()
        self.reload(code)


def _column(*widgets: QWidget) -> QWidget:
    box = QWidget()
    column = QVBoxLayout(box)
    column.setContentsMargins(0, 0, 0, 0)
    column.setSpacing(2)
    for widget in widgets:
        column.addWidget(widget)
    return box


def _refusal(action: Callable[[], Any]) -> Any:
    try:
        return action()
    except StaffAdminError as error:
        return error


def offer_first_manager(window: Any, admin: StaffAdmin, runner: TaskRunner,
                        then: Callable[[], None]) -> None:
    """On a counter with no active manager, open `FirstManagerDialog` over `window`; `then()` runs afterwards
    (or at once when there is a manager already)."""

    def counted(managers: int) -> None:
        if managers:
            then()
            return
        dialog = FirstManagerDialog(admin, runner, window)
        dialog.finished.connect(lambda _result: then())
        window.first_manager_dialog = dialog
        dialog.open()

    runner.run_db(admin.active_manager_count, counted, lambda error: then())


def open_staff_admin(window: Any, staff: Any, runner: TaskRunner) -> QDialog:
    """Ask for a manager's PIN (`ManagerApprovalDialog`), then open `StaffAdminDialog` as that manager.

    Returns the approval dialog; the staff screen, once open, is `window.staff_admin_screen`."""
    from frontdesk.ui.manager_approval import ManagerApprovalDialog
    from frontdesk.ui.widgets.screen import fit_to_screen

    approval = ManagerApprovalDialog(staff, runner, "Staff administration: a manager signs in with their PIN.",
                                     window, purpose="staff admin")
    approval.setWindowTitle("Staff administration")

    def decided(result: int) -> None:
        if result != QDialog.DialogCode.Accepted or approval.approved_by is None:
            return
        screen = StaffAdminDialog(StaffAdmin(staff.engine), runner, approval.approved_by, window)
        screen.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        fit_to_screen(screen, window)
        window.staff_admin_screen = screen
        screen.open()

    approval.finished.connect(decided)
    approval.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    approval.open()
    return approval
