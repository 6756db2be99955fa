"""Receipts waiting: the newest WESS receipts of this outlet that named no member. The receptionist attaches one
to the member on screen with one key (Enter or Ctrl+Enter), and it is recorded like a counter sale."""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from frontdesk.config import Settings
from frontdesk.invoices.review import ReviewItem, ReviewRefused
from frontdesk.invoices.service import InvoiceServices
from frontdesk.ui.tasks import TaskRunner
from frontdesk.ui.widgets.forms import DIALOG_STYLE, FieldError, list_table, no_default

COLUMNS = ("Time", "Receipt", "Total", "Name on the receipt")


class ReceiptsWaitingDialog(QDialog):
    loaded = Signal(object)  # list[ReviewItem]
    attached = Signal(object)  # Outcome
    failed = Signal(object)

    def __init__(self, settings: Settings, services: InvoiceServices, runner: TaskRunner, *, member_id: int | None,
                 member_name: str, staff_id: int | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.services = services
        self.runner = runner
        self.member_id = member_id
        self.member_name = member_name
        self.staff_id = staff_id
        self.items: list[ReviewItem] = []
        self._busy = False
        self.setWindowTitle("Receipts waiting for a member")
        self.setStyleSheet(DIALOG_STYLE)
        self.resize(760, 520)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(18, 12, 18, 12)
        title = QLabel("Receipts waiting")
        title.setObjectName("MemberName")
        layout.addWidget(title)
        who = (f"Pick the receipt and press Enter to attach it to <b>{member_name}</b>."
               if member_id is not None else "Open the member first, then attach their receipt here.")
        self.hint = QLabel(f"WESS receipts of {settings.outlet_code} that name no member, newest first. {who}")
        self.hint.setWordWrap(True)
        self.hint.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.hint)
        self.table = list_table(COLUMNS)
        self.table.doubleClicked.connect(lambda _index: self.attach())
        layout.addWidget(self.table, 1)
        self.empty = QLabel("No receipt is waiting: every WESS receipt so far found its member.")
        self.empty.hide()
        layout.addWidget(self.empty)
        self.error = FieldError()
        layout.addWidget(self.error)
        buttons = QHBoxLayout()
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        self.attach_button = QPushButton(f"Attach to {member_name}  (Enter)" if member_id else "Attach")
        self.attach_button.setObjectName("Primary")
        self.attach_button.setEnabled(member_id is not None)
        self.attach_button.clicked.connect(self.attach)
        no_default(close, self.attach_button)
        buttons.addWidget(close)
        buttons.addStretch(1)
        buttons.addWidget(self.attach_button)
        layout.addLayout(buttons)
        for keys in ("Return", "Enter", "Ctrl+Return"):
            QShortcut(QKeySequence(keys), self, activated=self.attach)
        self.refresh()

    def refresh(self) -> None:
        review, outlet = self.services.review, self.settings.outlet_code
        self.runner.run_db(lambda: review.receipts_waiting(outlet), self._loaded, self._failed)

    def _loaded(self, items: list[ReviewItem]) -> None:
        self.items = items
        self.table.setRowCount(len(items))
        for row, item in enumerate(items):
            when = item.occurred_at.astimezone(self.settings.zone).strftime("%d %b %H:%M") if item.occurred_at else ""
            cells = (when, item.receipt_no, item.total.display() if item.total else "—",
                     item.customer or "walk-in (no name printed)")
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column == 2:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, cell)
        self.table.setVisible(bool(items))
        self.empty.setVisible(not items)
        self.attach_button.setEnabled(bool(items) and self.member_id is not None)
        if items:
            self.table.selectRow(0)
            self.table.setFocus()
        self.loaded.emit(items)

    def attach(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if self._busy or self.member_id is None or not rows or not self.items:
            return
        item = self.items[rows[0].row()]
        review, member_id, staff_id = self.services.review, self.member_id, self.staff_id
        self._busy = True
        self.runner.run_db(lambda: review.link(item.id, member_id, staff_id), self._attached, self._failed)

    def _attached(self, outcome) -> None:  # type: ignore[no-untyped-def]
        self._busy = False
        if outcome.status == "review":
            self.error.show_message(f"Not recorded: {outcome.reason}")
        else:
            self.error.show_message("")
        self.attached.emit(outcome)
        self.refresh()

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self.error.show_message("; ".join(error.errors.values()) if isinstance(error, ReviewRefused)
                           else f"That did not work ({type(error).__name__}); nothing was changed.")
        self.failed.emit(error)
