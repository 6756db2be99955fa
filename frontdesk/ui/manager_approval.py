"""A manager's PIN for one decision (retrying or discarding a parked sync entry, opening staff administration)."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from frontdesk.staff.service import PinCheck, StaffInfo, StaffService
from frontdesk.ui.tasks import TaskRunner


class ManagerApprovalDialog(QDialog):
    """Pick the approving manager and type their PIN; the PIN check (slow scrypt, lockout) runs off the GUI thread."""

    def __init__(self, staff: StaffService, runner: TaskRunner, question: str, parent: QWidget | None = None, *,
                 purpose: str = "sync decision") -> None:
        super().__init__(parent)
        self._purpose = purpose
        self.setWindowTitle("Manager approval")
        self.setMinimumWidth(420)
        self._staff, self._runner = staff, runner
        self.approved_by: int | None = None
        layout = QVBoxLayout(self)
        prompt = QLabel(question)
        prompt.setWordWrap(True)
        layout.addWidget(prompt)
        form = QFormLayout()
        self.manager_combo = QComboBox()
        self.manager_combo.addItem("Loading managers…", None)
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setMaxLength(8)
        self.pin_edit.setPlaceholderText("Manager PIN")
        form.addRow("Manager", self.manager_combo)
        form.addRow("PIN", self.pin_edit)
        layout.addLayout(form)
        self.message = QLabel("")
        self.message.setObjectName("FieldError")
        self.message.setWordWrap(True)
        layout.addWidget(self.message)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Approve")
        self.buttons.accepted.connect(self._check)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        runner.run_db(lambda: staff.list_staff(managers_only=True), self._managers_loaded,
                      lambda error: self.message.setText(f"Could not load the managers: {error}"))
        self.pin_edit.setFocus()

    def _managers_loaded(self, managers: list[StaffInfo]) -> None:
        self.manager_combo.clear()
        for person in managers:
            self.manager_combo.addItem(person.label, person.id)
        if not managers:
            self.message.setText("No manager is set up on this counter")

    def _check(self) -> None:
        manager_id = self.manager_combo.currentData()
        pin = self.pin_edit.text()
        if manager_id is None:
            self.message.setText("Choose the approving manager")
            return
        if not pin:
            self.message.setText("Type the manager's PIN")
            return
        self.buttons.setEnabled(False)
        staff = self._staff
        self._runner.run_db(lambda: staff.check_pin(manager_id, pin, require_manager=True, purpose=self._purpose),
                            self._checked, self._failed)

    def _checked(self, check: PinCheck) -> None:
        self.buttons.setEnabled(True)
        if check.ok and check.staff is not None:
            self.approved_by = check.staff.id
            self.accept()
            return
        self.message.setText(check.message)
        self.pin_edit.clear()
        self.pin_edit.setFocus()

    def _failed(self, error: BaseException) -> None:
        self.buttons.setEnabled(True)
        self.message.setText(f"The PIN could not be checked: {error}")
