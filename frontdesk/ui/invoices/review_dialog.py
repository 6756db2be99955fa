"""The managers' review list: every invoice mail that stopped, why, the mail itself and what was extracted, and
the decisions (fix and accept, accept as printed, keep the counter sale, approve a refund, discard with a reason),
each needing a manager's PIN. A second tab shows the day's three-way reconciliation."""
from __future__ import annotations

import json
from datetime import date, datetime

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from frontdesk.config import Settings
from frontdesk.invoices.reconcile import Reconciliation, reconcile_day
from frontdesk.invoices.review import ReviewDetail, ReviewItem, ReviewRefused
from frontdesk.invoices.service import InvoiceServices
from frontdesk.staff.service import StaffInfo
from frontdesk.ui.tasks import TaskRunner
from frontdesk.ui.widgets.forms import DIALOG_STYLE, FieldError, list_table, no_default

COLUMNS = ("Received", "Receipt", "Total", "Customer", "Why it stopped")
RECON_COLUMNS = ("", "Receipt", "WESS", "Loyalty", "Server", "What to do")
STYLE = DIALOG_STYLE + """
QLabel#Reason { background: #fff4e5; color: #7a4100; border-radius: 6px; padding: 8px 10px; }
QLabel#Blocker { color: #c62828; font-weight: 600; }
QTableWidget { font-size: 13px; }
QPlainTextEdit { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12px; }
"""


def _when(moment: datetime | None, settings: Settings) -> str:
    return moment.astimezone(settings.zone).strftime("%d %b %H:%M") if moment else ""


def extracted_summary(detail: ReviewDetail, settings: Settings) -> str:
    """What was read from the mail, in the words a manager checks against the receipt."""
    invoice = detail.extracted.get("invoice")
    lines: list[str] = []
    if detail.extracted.get("fatal"):
        lines.append(f"Nothing could be read: {detail.extracted['fatal']}")
    if invoice:
        for key, label in (("receipt_no", "Receipt"), ("outlet_printed", "Outlet"), ("occurred_at", "Date"),
                           ("customer_name", "Customer"), ("customer_code", "Member code"),
                           ("customer_mobile", "Mobile"), ("customer_email", "Email"), ("staff", "Staff"),
                           ("subtotal", "Subtotal"), ("discount", "Discount"), ("service_charge", "Service charge"),
                           ("gst", "GST"), ("rounding", "Rounding"), ("total", "Total"), ("change", "Change"),
                           ("refund_of", "Refund of")):
            value = invoice.get(key)
            if key == "occurred_at" and value:
                value = datetime.fromisoformat(value).astimezone(settings.zone).strftime("%d %b %Y %H:%M")
            if value not in (None, "", "0", "0.00"):
                lines.append(f"{label:<15} {value}")
        if invoice.get("gst_inclusive"):
            lines.append(f"{'GST':<15} included in the prices")
        lines.append("")
        for line in invoice.get("lines", []):
            lines.append(f"  {line['qty']} × {line['name'][:38]:<38} {line['amount']:>9}  {line['kind']}"
                         f"{'  ' + line['staff'] if line['staff'] else ''}")
        for payment in invoice.get("payments", []):
            lines.append(f"  paid {payment['printed']:<20} {payment['amount']:>9}  → {payment['tender'] or '?'}")
    notes = detail.extracted.get("notes") or []
    if notes:
        lines.append("")
        lines += [f"Note: {n}" for n in notes]
    if detail.extracted.get("profile") or detail.item.profile:
        lines.append("")
        lines.append(f"Layout profile: {detail.item.profile or '(none fitted)'}")
    return "\n".join(lines)


class ReviewDialog(QDialog):
    loaded = Signal(object)  # list[ReviewItem]
    detail_shown = Signal(object)  # ReviewDetail
    decided = Signal(object)  # Outcome
    refused = Signal(object)  # ReviewRefused or another error
    reconciled = Signal(object)  # Reconciliation

    def __init__(self, settings: Settings, services: InvoiceServices, runner: TaskRunner, *,
                 signed_in: StaffInfo | None = None, day: date | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.services = services
        self.runner = runner
        self.signed_in = signed_in
        self.day = day or datetime.now(settings.zone).date()
        self.items: list[ReviewItem] = []
        self.current: ReviewDetail | None = None
        self.setWindowTitle("Invoice mail review")
        self.setStyleSheet(STYLE)
        self.resize(1280, 720)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(14, 10, 14, 10)
        self.tabs = QTabWidget()
        outer.addWidget(self.tabs)

        # --- review tab ------------------------------------------------------------------------------------
        review = QWidget()
        self.tabs.addTab(review, "Review")
        layout = QVBoxLayout(review)
        self.summary = QLabel("Loading…")
        layout.addWidget(self.summary)
        split = QSplitter(Qt.Orientation.Horizontal)
        layout.addWidget(split, 1)
        self.table = list_table(COLUMNS)
        self.table.itemSelectionChanged.connect(self._selected)
        split.addWidget(self.table)

        right = QWidget()
        side = QVBoxLayout(right)
        side.setContentsMargins(6, 0, 0, 0)
        self.reason = QLabel("")
        self.reason.setObjectName("Reason")
        self.reason.setWordWrap(True)
        self.reason.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        side.addWidget(self.reason)
        views = QTabWidget()
        self.extracted_view = QPlainTextEdit()
        self.extracted_view.setReadOnly(True)
        self.mail_view = QPlainTextEdit()
        self.mail_view.setReadOnly(True)
        views.addTab(self.extracted_view, "What was read")
        views.addTab(self.mail_view, "The mail")
        side.addWidget(views, 1)

        fixes = QFormLayout()
        self.fix_form = fixes
        self.fix_receipt = QLineEdit()
        self.fix_receipt.setPlaceholderText("as printed")
        self.fix_outlet = QLineEdit()
        self.fix_outlet.setPlaceholderText("outlet code, e.g. TAMPINES")
        self.fix_total = QLineEdit()
        self.fix_total.setPlaceholderText("total as printed")
        self.fix_mobile = QLineEdit()
        self.fix_mobile.setPlaceholderText("member's mobile")
        fixes.addRow("Receipt no.", self.fix_receipt)
        fixes.addRow("Outlet", self.fix_outlet)
        fixes.addRow("Total", self.fix_total)
        fixes.addRow("Mobile", self.fix_mobile)
        self.accept_figures = QCheckBox("Accept the figures as printed by WESS (they do not add up)")
        fixes.addRow("", self.accept_figures)
        self.note = QLineEdit()
        self.note.setPlaceholderText("why (goes in the audit log)")
        fixes.addRow("Reason", self.note)
        approve = QHBoxLayout()
        self.manager = QComboBox()
        self.pin = QLineEdit()
        self.pin.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin.setPlaceholderText("manager PIN")
        self.pin.setMaxLength(12)
        approve.addWidget(self.manager, 1)
        approve.addWidget(self.pin)
        fixes.addRow("Manager", approve)
        side.addLayout(fixes)
        self.error = FieldError()
        side.addWidget(self.error)
        buttons = QHBoxLayout()
        self.discard_button = QPushButton("Discard…")
        self.discard_button.clicked.connect(self.discard)
        self.refund_button = QPushButton("Approve refund")
        self.refund_button.clicked.connect(self.approve_refund)
        self.accept_button = QPushButton("Fix and accept")
        self.accept_button.setObjectName("Primary")
        self.accept_button.clicked.connect(self.accept_current)
        no_default(self.discard_button, self.refund_button, self.accept_button)
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        buttons.addWidget(self.refund_button)
        buttons.addWidget(self.accept_button)
        side.addLayout(buttons)
        split.addWidget(right)
        split.setSizes([640, 600])

        # --- reconciliation tab -----------------------------------------------------------------------------
        recon = QWidget()
        self.tabs.addTab(recon, "Reconciliation")
        rlayout = QVBoxLayout(recon)
        self.recon_summary = QLabel("")
        self.recon_summary.setWordWrap(True)
        rlayout.addWidget(self.recon_summary)
        self.recon_table = QTableWidget(0, len(RECON_COLUMNS))
        self.recon_table.setHorizontalHeaderLabels(RECON_COLUMNS)
        self.recon_table.verticalHeader().hide()
        self.recon_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        rheader = self.recon_table.horizontalHeader()
        for column in range(len(RECON_COLUMNS) - 1):
            rheader.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        rheader.setSectionResizeMode(len(RECON_COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        rlayout.addWidget(self.recon_table, 1)

        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        no_default(close)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        outer.addLayout(row)
        self._set_buttons(None)
        self.refresh()

    # --- loading ---------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        review = self.services.review
        staff = self.services.checkout.staff
        engine = self.services.importer.engine
        day, outlet, zone = self.day, self.settings.outlet_code, self.settings.zone

        def load():  # type: ignore[no-untyped-def]
            return (review.review_list(), staff.list_staff(managers_only=True),
                    reconcile_day(engine, day, outlet, zone))

        self.runner.run_db(load, self._loaded, self._failed)

    def _loaded(self, result) -> None:  # type: ignore[no-untyped-def]
        items, managers, reconciliation = result
        self.items = items
        self.manager.clear()
        for manager in managers:
            self.manager.addItem(manager.name, manager.id)
        if self.signed_in is not None and self.signed_in.is_manager:
            self.manager.setCurrentIndex(max(0, self.manager.findData(self.signed_in.id)))
        self.table.setRowCount(len(items))
        for row, item in enumerate(items):
            cells = (_when(item.received_at, self.settings), item.receipt_no or "—",
                     item.total.display() if item.total else "—", item.customer or "—",
                     item.label[:1].upper() + item.label[1:])
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text[:160])
                cell.setToolTip(item.reason)
                if column == 2:
                    cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.table.setItem(row, column, cell)
        self.summary.setText(f"{len(items)} invoice mail(s) need a decision. Nothing is dropped: every mail is "
                             "queued, matched, a duplicate, or here." if items else
                             "No invoice mail needs a decision.")
        self.tabs.setTabText(0, f"Review ({len(items)})")
        self._show_reconciliation(reconciliation)
        self.loaded.emit(items)
        if items:
            self.table.selectRow(0)
        else:
            self._clear_detail()

    def _show_reconciliation(self, result: Reconciliation) -> None:
        self.recon_summary.setText(
            f"<b>{result.day:%d %b %Y}</b> at {result.outlet_code}: {result.wess_receipts} WESS receipts by mail, "
            f"{result.loyalty_sales} loyalty sales ({result.counter_sales} keyed at the counter, {result.mail_sales} "
            f"from mail), {result.synced} confirmed by the server. "
            f"<span style='color:#c62828'><b>{len(result.blockers)} blocker(s)</b></span>, "
            f"{len(result.warnings)} warning(s).")
        count = len(result.blockers)
        self.tabs.setTabText(1, f"Reconciliation: {count} blocker{'' if count == 1 else 's'}")
        self.recon_table.setRowCount(len(result.items))
        for row, item in enumerate(result.items):
            cells = ("Blocker" if item.severity == "blocker" else "Warning", item.receipt_no,
                     item.wess_total.display() if item.wess_total else "—",
                     item.loyalty_total.display() if item.loyalty_total else "—", item.server_status or "—",
                     item.message)
            for column, text in enumerate(cells):
                cell = QTableWidgetItem(text)
                if column == 0 and item.severity == "blocker":
                    cell.setForeground(Qt.GlobalColor.red)
                self.recon_table.setItem(row, column, cell)
        self.reconciled.emit(result)

    def _selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        item = self.items[rows[0].row()]
        review = self.services.review
        self.runner.run_db(lambda: review.detail(item.id), self._show_detail, self._failed)

    def _show_detail(self, detail: ReviewDetail) -> None:
        self.current = detail
        item = detail.item
        self.reason.setText(f"<b>{item.label[:1].upper() + item.label[1:]}</b> — {item.reason}")
        self.extracted_view.setPlainText(extracted_summary(detail, self.settings))
        self.mail_view.setPlainText(detail.mail_text)
        invoice = detail.extracted.get("invoice") or {}
        self.fix_receipt.setText(invoice.get("receipt_no", ""))
        self.fix_outlet.setText(invoice.get("outlet_code", "") or item.outlet_code)
        self.fix_total.setText(invoice.get("total") or "")
        self.fix_mobile.setText(invoice.get("customer_mobile", ""))
        self.accept_figures.setChecked(False)
        self.error.show_message("")
        self._set_buttons(detail)
        self.detail_shown.emit(detail)

    def _clear_detail(self) -> None:
        self.current = None
        self.reason.setText("Nothing selected.")
        self.extracted_view.setPlainText("")
        self.mail_view.setPlainText("")
        self._set_buttons(None)

    def _set_buttons(self, detail: ReviewDetail | None) -> None:
        code = detail.item.code if detail else ""
        readable = bool(detail and "invoice" in detail.extracted and not detail.extracted.get("fatal"))
        self.accept_button.setEnabled(readable and code != "refund")
        self.accept_button.setText("Keep the counter sale" if code == "counter_mismatch" else "Fix and accept")
        self.refund_button.setVisible(code == "refund")
        self.discard_button.setEnabled(detail is not None)
        fixable = readable and code not in ("refund", "counter_mismatch")
        for edit in (self.fix_receipt, self.fix_outlet, self.fix_total, self.fix_mobile, self.accept_figures):
            edit.setEnabled(fixable)
            label = self.fix_form.labelForField(edit)
            for widget in (edit, label):
                if widget is not None:
                    widget.setVisible(fixable)
        self.accept_button.setVisible(readable and code != "refund")

    # --- deciding --------------------------------------------------------------------------------------------
    def _fixes(self) -> dict[str, str]:
        assert self.current is not None
        invoice = self.current.extracted.get("invoice") or {}
        fixes = {}
        for key, edit in (("receipt_no", self.fix_receipt), ("outlet_code", self.fix_outlet),
                          ("total", self.fix_total), ("customer_mobile", self.fix_mobile)):
            text = edit.text().strip()
            if edit.isEnabled() and text and text != (invoice.get(key) or ""):
                fixes[key] = text
        return fixes

    def accept_current(self) -> None:
        if self.current is None:
            return
        review, invoice_id = self.services.review, self.current.item.id
        fixes, figures = self._fixes(), self.accept_figures.isChecked()
        manager, pin, note = self.manager.currentData(), self.pin.text(), self.note.text()
        self.runner.run_db(lambda: review.accept(invoice_id, manager_id=manager, pin=pin, note=note, fixes=fixes,
                                                 accept_figures=figures), self._decided, self._failed)

    def approve_refund(self) -> None:
        if self.current is None:
            return
        review, invoice_id = self.services.review, self.current.item.id
        manager, pin, note = self.manager.currentData(), self.pin.text(), self.note.text()
        self.runner.run_db(lambda: review.approve_refund(invoice_id, manager_id=manager, pin=pin, note=note),
                           self._decided, self._failed)

    def discard(self) -> None:
        if self.current is None:
            return
        review, invoice_id = self.services.review, self.current.item.id
        manager, pin, note = self.manager.currentData(), self.pin.text(), self.note.text()
        self.runner.run_db(lambda: review.discard(invoice_id, manager_id=manager, pin=pin, reason=note),
                           self._decided, self._failed)

    def _decided(self, outcome) -> None:  # type: ignore[no-untyped-def]
        self.pin.clear()
        self.note.clear()
        if outcome.status == "review":
            self.error.show_message(f"Still in review: {outcome.reason}")
        else:
            self.error.show_message("")
        self.decided.emit(outcome)
        self.refresh()

    def _failed(self, error: BaseException) -> None:
        self.pin.clear()
        if isinstance(error, ReviewRefused):
            self.error.show_message("; ".join(error.errors.values()))
        else:
            self.error.show_message(f"That did not work ({type(error).__name__}); nothing was changed.")
        self.refused.emit(error)


__all__ = ["ReviewDialog", "extracted_summary", "json"]
