"""Void or refund a sale, with a manager's PIN.

The screen finds the sale (by receipt number at this outlet, or handed in from the receipt / the visits list), shows
exactly what the reversal will do to the member's points before anything is written (points taken back, points
given back, and any shortfall where the member has already spent what is taken back), and asks for a reason, the
approving manager and their PIN. The service checks the PIN (with the lockout) and writes the reversal, its ledger
entries, the outbox entry and the audit record in one transaction.
"""
from __future__ import annotations

import logging

from PySide6.QtCore import QRegularExpression, Qt, QTimer, Signal
from PySide6.QtGui import QRegularExpressionValidator
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from frontdesk.config import Settings
from frontdesk.counter import CounterServices
from frontdesk.sales import ReversalQuote, ReversalRefused, ReversalResult, SaleSummary
from frontdesk.staff.service import StaffInfo
from frontdesk.ui.sales.receipt_view import ReceiptView
from frontdesk.ui.tasks import TaskRunner
from frontdesk.ui.widgets.forms import (
    DIALOG_STYLE,
    FieldError,
    card,
    dialog_footer,
    mark_invalid,
    money_edit,
    no_default,
    refusal_as_value,
)
from frontdesk.ui.widgets.screen import grow_to_fit

log = logging.getLogger(__name__)

STATUS_WORDS = {"pending": "waiting to sync", "synced": "synced", "rejected": "rejected by the server"}


class VoidDialog(QDialog):
    quote_ready = Signal(object)  # ReversalQuote shown (or None when the sale could not be found)
    reversed = Signal(object)  # ReversalResult
    failed = Signal(object)  # ReversalRefused or another exception: nothing written

    def __init__(self, settings: Settings, services: CounterServices, runner: TaskRunner, *,
                 sale_id: int | None = None, receipt_no: str = "", member_id: int | None = None,
                 signed_in: StaffInfo | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.services = services
        self.runner = runner
        self.member_id = member_id
        self.signed_in = signed_in
        self.sale: SaleSummary | None = None
        self.result: ReversalResult | None = None
        self._quote: ReversalQuote | None = None
        self._seq = 0
        self._busy = False
        self.setWindowTitle("Void or refund a sale")
        self.setStyleSheet(DIALOG_STYLE)
        self.resize(720, 700)
        self.setMinimumSize(640, 680)  # room for a wrapped effect and a shortfall warning without clipping

        self.pages = QStackedWidget()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.pages)
        self.form = QWidget()
        self.form.setObjectName("Background")
        self.form.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.pages.addWidget(self.form)
        layout = QVBoxLayout(self.form)
        layout.setContentsMargins(18, 12, 18, 12)
        layout.setSpacing(8)
        title = QLabel("Void or refund a sale")
        title.setObjectName("MemberName")
        layout.addWidget(title)

        find_card, find = card("Which sale")
        row = QHBoxLayout()
        self.receipt_edit = QLineEdit(receipt_no)
        self.receipt_edit.setPlaceholderText("WESS receipt number")
        self.receipt_edit.setAccessibleName("Receipt number")
        self.receipt_edit.returnPressed.connect(self.find)
        find_button = QPushButton("&Find")
        find_button.clicked.connect(self.find)
        self.matches = QComboBox()
        self.matches.hide()
        self.matches.currentIndexChanged.connect(self._match_picked)
        row.addWidget(self.receipt_edit, 1)
        row.addWidget(find_button)
        find.addLayout(row)
        find.addWidget(self.matches)
        self.find_error = FieldError()
        find.addWidget(self.find_error)
        self.sale_label = QLabel("")
        self.sale_label.setWordWrap(True)
        self.sale_label.setTextFormat(Qt.TextFormat.RichText)
        find.addWidget(self.sale_label)
        layout.addWidget(find_card)

        what_card, what = card("What to do")
        self.void_radio = QRadioButton("Void the whole sale (everything left of it)")
        self.refund_radio = QRadioButton("Refund part of it:")
        self.void_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.void_radio)
        group.addButton(self.refund_radio)
        self.void_radio.toggled.connect(self._mode_changed)
        what.addWidget(self.void_radio)
        refund_row = QHBoxLayout()
        refund_row.addWidget(self.refund_radio)
        self.amount_edit = money_edit("amount refunded", 150)
        self.amount_edit.setEnabled(False)
        self.amount_edit.textEdited.connect(lambda _t: self._quote_timer.start())
        refund_row.addWidget(self.amount_edit)
        refund_row.addStretch(1)
        what.addLayout(refund_row)
        self.amount_error = FieldError()
        what.addWidget(self.amount_error)
        self.effect_label = QLabel("")
        self.effect_label.setObjectName("Wess")
        self.effect_label.setWordWrap(True)
        self.effect_label.setTextFormat(Qt.TextFormat.RichText)
        what.addWidget(self.effect_label)
        self.shortfall_label = QLabel("")
        self.shortfall_label.setObjectName("Warning")
        self.shortfall_label.setWordWrap(True)
        self.shortfall_label.hide()
        what.addWidget(self.shortfall_label)
        layout.addWidget(what_card)

        approve_card, approve = card("Manager approval")
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText("Why (goes in the audit log)")
        self.reason_edit.setMaxLength(200)
        self.manager_combo = QComboBox()
        self.manager_combo.addItem("Loading managers…", None)
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setMaxLength(8)
        self.pin_edit.setValidator(QRegularExpressionValidator(QRegularExpression(r"\d{0,8}"), self))
        self.pin_edit.setPlaceholderText("Manager PIN")
        self.pin_edit.setAccessibleName("Manager PIN")
        self.pin_edit.returnPressed.connect(self.submit)
        self.reason_error, self.manager_error, self.pin_error = FieldError(), FieldError(), FieldError()
        for row_no, (label, widget, error) in enumerate((("Reason", self.reason_edit, self.reason_error),
                                                         ("Manager", self.manager_combo, self.manager_error),
                                                         ("PIN", self.pin_edit, self.pin_error))):
            caption = QLabel(label)
            caption.setObjectName("ColumnHead")
            grid.addWidget(caption, row_no * 2, 0)
            grid.addWidget(widget, row_no * 2, 1)
            grid.addWidget(error, row_no * 2 + 1, 1)
        grid.setColumnStretch(1, 1)
        approve.addLayout(grid)
        layout.addWidget(approve_card)
        layout.addStretch(1)

        self.general_error, _cancel, self.submit_button = dialog_footer(self, layout, "Void sale", self.submit)
        no_default(find_button)

        self._quote_timer = QTimer(self)
        self._quote_timer.setSingleShot(True)
        self._quote_timer.setInterval(150)
        self._quote_timer.timeout.connect(self.request_quote)

        staff = services.staff
        self.runner.run_db(lambda: staff.list_staff(managers_only=True), self._managers_loaded)
        if sale_id is not None:
            checkout = services.sales
            self.runner.run_db(lambda: checkout.sale(sale_id), self._sale_found)
            self.reason_edit.setFocus()
        elif receipt_no:
            self.find()
        else:
            self.receipt_edit.setFocus()

    # --- finding the sale ------------------------------------------------------------------------------------
    def find(self) -> None:
        receipt = self.receipt_edit.text().strip()
        if not receipt:
            self.find_error.show_message("Type the receipt number of the sale")
            return
        checkout = self.services.sales
        member_id = self.member_id
        self.runner.run_db(lambda: checkout.find_sales(receipt, member_id), self._found)

    def _found(self, sales: list[SaleSummary]) -> None:
        self.matches.blockSignals(True)
        self.matches.clear()
        self.matches.blockSignals(False)
        if not sales:
            self.find_error.show_message(f"No sale with receipt {self.receipt_edit.text().strip()} here")
            self._set_sale(None)
            return
        self.find_error.show_message("")
        if len(sales) > 1:
            self.matches.blockSignals(True)
            for sale in sales:
                self.matches.addItem(f"{sale.receipt_no} · {sale.describe(self.settings)}", sale)
            self.matches.blockSignals(False)
            self.matches.show()
        else:
            self.matches.hide()
        self._set_sale(sales[0])

    def _match_picked(self, index: int) -> None:
        sale = self.matches.itemData(index)
        if sale is not None:
            self._set_sale(sale)

    def _sale_found(self, sale: SaleSummary | None) -> None:
        if sale is None:
            self.find_error.show_message("That sale is not in this counter's records")
            return
        self.receipt_edit.setText(sale.receipt_no)
        self._set_sale(sale)

    def _set_sale(self, sale: SaleSummary | None) -> None:
        self.sale = sale
        if sale is None:
            self.sale_label.setText("")
            self.effect_label.setText("")
            self._quote = None
            return
        facts = [f"−{sale.points_redeemed:,} pts redeemed"] if sale.points_redeemed else []
        facts.append(STATUS_WORDS.get(sale.status, sale.status))
        if sale.provisional:
            facts.append("provisional (redeemed offline)")
        self.sale_label.setText(f"<b>{sale.receipt_no}</b> · {sale.describe(self.settings)}<br>"
                                f"<span style='color:#616e7c'>{' · '.join(facts)}</span>")
        self.request_quote()
        if not self.reason_edit.text():
            self.reason_edit.setFocus()

    def _managers_loaded(self, managers: list[StaffInfo]) -> None:
        self.manager_combo.clear()
        self.manager_combo.addItem("Choose the approving manager…", None)
        for person in managers:
            self.manager_combo.addItem(f"{person.name} ({person.code})", person.id)
        if self.signed_in is not None and self.signed_in.is_manager:
            self.manager_combo.setCurrentIndex(max(0, self.manager_combo.findData(self.signed_in.id)))
        elif len(managers) == 1:
            self.manager_combo.setCurrentIndex(1)

    # --- the effect ----------------------------------------------------------------------------------------------
    def _mode_changed(self, void: bool) -> None:
        self.amount_edit.setEnabled(not void)
        self.submit_button.setText("Void sale" if void else "Refund")
        if not void:
            self.amount_edit.setFocus()
        self.request_quote()

    def request_quote(self) -> None:
        self._quote_timer.stop()
        if self.sale is None:
            return
        self._seq += 1
        seq = self._seq
        sale_id = self.sale.id
        void = self.void_radio.isChecked()
        amount = self.amount_edit.text()
        checkout = self.services.sales
        self.runner.run_db(
            lambda: refusal_as_value(lambda: checkout.quote_reversal(sale_id, void=void, amount=amount),
                                      ReversalRefused),
            lambda quote: self._show_quote(seq, quote), self._quote_failed)

    def _quote_failed(self, error: BaseException) -> None:
        if isinstance(error, ReversalRefused):
            self.find_error.show_message(next(iter(error.errors.values()), "This sale cannot be reversed"))
        else:
            log.error("reversal quote failed: %s", error)
            self.general_error.show_message("The effect could not be computed (database error)")
        self.quote_ready.emit(None)

    def _show_quote(self, seq: int, quote: ReversalQuote | ReversalRefused) -> None:
        if seq != self._seq:
            return
        if isinstance(quote, ReversalRefused):
            self._quote_failed(quote)
            return
        self._quote = quote
        self.find_error.show_message(quote.errors.get("sale"))
        amount_error = quote.errors.get("amount") if self.amount_edit.text().strip() or not quote.void else None
        if not self.amount_edit.text().strip() and not quote.void:
            amount_error = f"Enter the amount refunded (at most {quote.left.display()})"
        self.amount_error.show_message(amount_error)
        mark_invalid(self.amount_edit, bool(amount_error) and bool(self.amount_edit.text().strip()))
        reversal = quote.reversal
        if reversal is None:
            self.effect_label.setText(f"Left to refund: {quote.left.display()}" if not quote.errors.get("sale")
                                      else "")
            self.effect_label.setVisible(bool(self.effect_label.text()))
            self.shortfall_label.hide()
        else:
            before = reversal.balance_before.points
            after = reversal.balance_after.points
            already = (f"<br>Already refunded {quote.refunded_before.display()}; {quote.left.display()} left"
                       if not quote.refunded_before.is_zero() else "")
            codes = list(reversal.reward_codes_reinstated) + list(reversal.voucher_codes_reinstated)
            reinstated = f"<br>Reinstated: {', '.join(codes)}" if codes else ""
            self.effect_label.setText(
                f"<b>{reversal.explanation}</b><br>Refund {reversal.refunded_amount.display()} · "
                f"points balance {before:,} → <b>{after:,}</b>{already}{reinstated}")
            self.effect_label.show()
            if reversal.shortfall_points:
                self.shortfall_label.setText(
                    f"Shortfall: the member has already spent {reversal.shortfall_points:,} of the points this takes "
                    "back. Their balance stops at 0 and the shortfall is recorded for the manager.")
                self.shortfall_label.show()
            else:
                self.shortfall_label.hide()
        grow_to_fit(self)  # a wrapped effect and a shortfall warning need their lines
        self.quote_ready.emit(quote)

    # --- approving ----------------------------------------------------------------------------------------------
    def submit(self) -> None:
        if self._busy or self.pages.currentWidget() is not self.form:
            return
        if self.sale is None:
            self.find_error.show_message("Find the sale first")
            self.receipt_edit.setFocus()
            return
        self._busy = True
        self.submit_button.setEnabled(False)
        sale_id = self.sale.id
        void = self.void_radio.isChecked()
        amount = self.amount_edit.text()
        manager_id = self.manager_combo.currentData()
        pin = self.pin_edit.text()
        reason = self.reason_edit.text()
        requested_by = self.signed_in.id if self.signed_in else None
        checkout = self.services.sales
        self.runner.run_db(
            lambda: refusal_as_value(
                lambda: checkout.reverse(sale_id, void=void, amount=amount, manager_id=manager_id, manager_pin=pin,
                                         reason=reason, requested_by=requested_by), ReversalRefused),
            self._done, self._failed)

    def _done(self, result: ReversalResult | ReversalRefused) -> None:
        if isinstance(result, ReversalRefused):
            self._failed(result)
            return
        self._busy = False
        self.result = result
        view = ReceiptView.for_reversal(result)
        view.done.connect(self.accept)
        self.receipt_view = view
        self.pages.addWidget(view)
        self.pages.setCurrentWidget(view)
        view.done_button.setFocus()
        self.reversed.emit(result)

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        self.submit_button.setEnabled(True)
        if isinstance(error, ReversalRefused):
            errors = error.errors
            self.reason_error.show_message(errors.get("reason"))
            self.manager_error.show_message(errors.get("manager"))
            self.pin_error.show_message(errors.get("pin"))
            self.amount_error.show_message(errors.get("amount"))
            self.find_error.show_message(errors.get("sale"))
            self.general_error.show_message(errors.get("storage"))
            mark_invalid(self.reason_edit, "reason" in errors)
            mark_invalid(self.manager_combo, "manager" in errors)
            mark_invalid(self.pin_edit, "pin" in errors)
            if "pin" in errors:
                self.pin_edit.selectAll()
                self.pin_edit.setFocus()
            elif "reason" in errors:
                self.reason_edit.setFocus()
        else:
            log.error("reversal failed: %s", error)
            self.general_error.show_message(f"Nothing was written: {error}")
        self.failed.emit(error)
