"""Enrol a walk-in: phone first, then name, optional email, birthday and marketing consent.

While staff type, the enrolment service checks the fields and looks for a likely duplicate (same phone, same email,
similar name); each is listed with an Open button, so staff can open the existing member instead. Enrolling anyway
takes an explicit tick ("none of these: a new person"), because parents and children do share phones.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from frontdesk.config import Settings
from frontdesk.counter import CounterServices
from frontdesk.domain import phone as phones
from frontdesk.members.enrolment import (
    EnrolledMember,
    EnrolmentCheck,
    EnrolmentDraft,
    EnrolmentRefused,
)
from frontdesk.staff.service import StaffInfo
from frontdesk.ui.tasks import TaskRunner
from frontdesk.ui.widgets.forms import (
    DIALOG_STYLE,
    FieldError,
    card,
    dialog_footer,
    mark_invalid,
    no_default,
    refusal_as_value,
)

log = logging.getLogger(__name__)

FIELDS = [  # key, label, placeholder
    ("phone", "Mobile number", "9123 4567 (or +60 … for a foreign number)"),
    ("first_name", "First name", "As the member writes it"),
    ("last_name", "Last name", "Optional for a single name"),
    ("email", "Email", "Optional"),
    ("birthday", "Birthday", "Optional · DD/MM/YYYY"),
]


class EnrolDialog(QDialog):
    checked = Signal(object)  # EnrolmentCheck shown
    enrolled = Signal(object)  # EnrolledMember
    open_member_requested = Signal(int)  # staff chose an existing member instead

    def __init__(self, settings: Settings, services: CounterServices, runner: TaskRunner, *, phone: str = "",
                 signed_in: StaffInfo | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.services = services
        self.runner = runner
        self.signed_in = signed_in
        self.result_member: EnrolledMember | None = None
        self._check: EnrolmentCheck | None = None
        self._seq = 0
        self._busy = False
        self._show_all = False
        self._touched: set[str] = set()
        self.setWindowTitle("Enrol a new member")
        self.setStyleSheet(DIALOG_STYLE)
        self.resize(640, 600)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 14, 18, 14)
        layout.setSpacing(10)
        title = QLabel("Enrol a new member")
        title.setObjectName("MemberName")
        layout.addWidget(title)

        form_card, form = card()
        grid = QGridLayout()
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        self.edits: dict[str, QLineEdit] = {}
        self.errors: dict[str, FieldError] = {}
        for row, (key, label, placeholder) in enumerate(FIELDS):
            caption = QLabel(label)
            caption.setObjectName("ColumnHead")
            edit = QLineEdit()
            edit.setPlaceholderText(placeholder)
            edit.setMaxLength(254 if key == "email" else 100)
            edit.setAccessibleName(label)
            edit.textEdited.connect(lambda _t, k=key: self._touch(k))
            caption.setBuddy(edit)
            error = FieldError()
            grid.addWidget(caption, row * 2, 0)
            grid.addWidget(edit, row * 2, 1)
            grid.addWidget(error, row * 2 + 1, 1)
            self.edits[key] = edit
            self.errors[key] = error
        grid.setColumnStretch(1, 1)
        form.addLayout(grid)
        self.consent = QCheckBox("Agrees to receive offers and news (marketing consent, optional)")
        form.addWidget(self.consent)
        layout.addWidget(form_card)

        self.duplicates_card, duplicates = card("Possibly already a member")
        self.duplicates_layout = QVBoxLayout()
        self.duplicates_layout.setSpacing(4)
        duplicates.addLayout(self.duplicates_layout)
        self.new_person = QCheckBox("None of these: enrol a new person")
        self.new_person.toggled.connect(lambda _on: self.duplicates_error.show_message(""))
        duplicates.addWidget(self.new_person)
        self.duplicates_error = FieldError()
        duplicates.addWidget(self.duplicates_error)
        self.duplicates_card.hide()
        layout.addWidget(self.duplicates_card)
        layout.addStretch(1)

        self.general_error, _cancel, self.enrol_button = dialog_footer(self, layout, "Enrol  (Ctrl+Enter)",
                                                                       self.submit)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self.request_check)
        self._first_field = self.edits["phone"]
        if phone:
            self.edits["phone"].setText(phone)
            self._touch("phone")
            self._first_field = self.edits["first_name"]
        self._first_field.setFocus()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().showEvent(event)
        self.activateWindow()
        self._first_field.setFocus()

    def draft(self) -> EnrolmentDraft:
        return EnrolmentDraft(**{key: edit.text() for key, edit in self.edits.items()},
                              marketing_consent=self.consent.isChecked())

    def _touch(self, key: str) -> None:
        self._touched.add(key)
        self._timer.start()

    def request_check(self) -> None:
        self._timer.stop()
        self._seq += 1
        seq = self._seq
        draft = self.draft()
        enrolment = self.services.enrolment
        self.runner.run_db(lambda: enrolment.check(draft), lambda check: self._show_check(seq, check),
                           self._check_failed)

    def _check_failed(self, error: BaseException) -> None:
        log.error("enrolment check failed: %s", error)
        self.general_error.show_message("The details could not be checked (database error)")

    def _show_check(self, seq: int, check: EnrolmentCheck) -> None:
        if seq != self._seq:
            return
        self._check = check
        for key, edit in self.edits.items():
            message = check.errors.get(key) if (self._show_all or key in self._touched) else None
            self.errors[key].show_message(message)
            mark_invalid(edit, bool(message))
        self._show_duplicates(check)
        self.checked.emit(check)

    def _show_duplicates(self, check: EnrolmentCheck) -> None:
        while self.duplicates_layout.count():
            item = self.duplicates_layout.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for duplicate in check.duplicates:
            hit = duplicate.member
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            ids = " · ".join(x for x in (phones.display(hit.phone_e164), hit.email or "", hit.member_no or "") if x)
            text = QLabel(f"<b>{hit.name}</b> <span style='color:#a61b1b'>({duplicate.reason})</span><br>"
                          f"<span style='color:#616e7c'>{ids}</span>")
            text.setTextFormat(Qt.TextFormat.RichText)
            button = QPushButton("Open")
            no_default(button)
            button.clicked.connect(lambda _c=False, member_id=hit.id: self._open_existing(member_id))
            line.addWidget(text, 1)
            line.addWidget(button)
            self.duplicates_layout.addWidget(row)
        self.duplicates_card.setVisible(bool(check.duplicates))
        if not check.duplicates:
            self.new_person.setChecked(False)

    def _open_existing(self, member_id: int) -> None:
        self.open_member_requested.emit(member_id)
        self.reject()

    def submit(self) -> None:
        if self._busy:
            return
        self._show_all = True
        if self._check is not None and self._check.duplicates and not self.new_person.isChecked():
            self.duplicates_error.show_message("Open the existing member, or tick “None of these” to enrol anyway")
            self.request_check()
            return
        self._busy = True
        self.enrol_button.setEnabled(False)
        draft = self.draft()
        confirm = self.new_person.isChecked()
        staff_id = self.signed_in.id if self.signed_in else None
        enrolment = self.services.enrolment
        self.runner.run_db(
            lambda: refusal_as_value(lambda: enrolment.enrol(draft, staff_id, confirm_duplicates=confirm),
                                      EnrolmentRefused),
            self._enrolled, self._failed)

    def _enrolled(self, member: EnrolledMember | EnrolmentRefused) -> None:
        if isinstance(member, EnrolmentRefused):
            self._failed(member)
            return
        self._busy = False
        self.result_member = member
        self.enrolled.emit(member)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self.enrol_button.setEnabled(True)
        if isinstance(error, EnrolmentRefused):
            self._seq += 1
            self._show_check(self._seq, error.check)
            if error.check.duplicates and not error.check.errors:
                self.duplicates_error.show_message("Open the existing member, or tick “None of these” to enrol "
                                                   "anyway")
            for key, _label, _p in FIELDS:
                if key in error.check.errors:
                    self.edits[key].setFocus()
                    break
        else:
            log.error("enrolment failed: %s", error)
            self.general_error.show_message(f"The member was not saved: {error}")
