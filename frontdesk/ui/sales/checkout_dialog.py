"""The checkout: record the WESS receipt, see what it earns, apply a reward, confirm.

Keyboard first: the receipt number has focus; Tab walks receipt → the lines → payments with nothing in between
(time, served-by and rewards are a shortcut away: Alt+T, Alt+S, Alt+R). In a line's item field, typing a name or
SKU offers the programme's catalogue; Enter picks the match (filling SKU, category and price; "2x shampoo" sets the
quantity) and moves to a new line; Enter on an empty line goes to the payments. The payments start as Cash (blank)
and Card, and the last payment nobody typed into always holds what is left to pay, so a cash+card split is one
amount. Ctrl+Enter confirms; Enter alone never confirms (a scanner's Enter or a habit must not save a sale). Every
edit asks the checkout service for a fresh quote off the GUI thread (debounced, stale answers dropped): the points
preview with its per-line explanation, what to key into WESS, and each problem shown beside its field. A field's
message appears once the field has been edited; pressing Confirm shows all of them. Nothing is saved until
everything is right, and the same open screen can never save its sale twice (its draft id is the outbox idempotency
key).
"""
from __future__ import annotations

import difflib
import html
import logging
import re
from datetime import datetime

from PySide6.QtCore import QDate, QDateTime, QEvent, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from frontdesk.config import Settings
from frontdesk.counter import CounterServices
from frontdesk.domain.money import Money, MoneyError
from frontdesk.domain.programme import Product
from frontdesk.loyalty.programme import reward_value_text
from frontdesk.members.lookup import MemberView
from frontdesk.sales import (
    PAYMENT_METHODS,
    LineInput,
    PaymentInput,
    RecordedSale,
    RedemptionInput,
    SaleQuote,
    SaleRefused,
    SaleRequest,
    new_draft_id,
)
from frontdesk.staff.service import StaffInfo
from frontdesk.ui.sales.receipt_view import ReceiptView
from frontdesk.ui.tasks import TaskRunner
from frontdesk.ui.widgets.forms import (
    DIALOG_STYLE,
    FieldError,
    card,
    mark_invalid,
    money_edit,
    no_default,
    refusal_as_value,
)

log = logging.getLogger(__name__)

QUOTE_PAUSE_MS = 120
SERVER_POINTS_POLL_MS = 1000  # the receipt page asks the local database (never the server) whether sync delivered

LINE_COLUMNS = [  # field, heading, width (None stretches), placeholder
    ("name", "Item", None, "As printed on the receipt"),
    ("sku", "SKU", 110, "SKU"),
    ("category", "Category", 88, "Category"),
    ("quantity", "Qty", 44, "1"),
    ("unit_price", "Unit price", 80, "0.00"),
    ("tax", "Tax", 62, "0.00"),
    ("service_charge", "Service", 62, "0.00"),
    ("discount", "Discount", 70, "0.00"),
]
FIELD_NAMES = {"name": "Item", "sku": "SKU", "category": "Category", "quantity": "Quantity",
               "unit_price": "Unit price", "tax": "Tax", "service_charge": "Service charge", "discount": "Discount",
               "method": "Method", "amount": "Amount", "reference": "Reference"}


class LineRow(QWidget):
    changed = Signal()
    remove_requested = Signal(object)
    enter_pressed = Signal(object, str)  # the row, and which field Enter was pressed in

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.touched: set[str] = set()
        self.category_warning = ""
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self.edits: dict[str, QLineEdit] = {}
        for column, (field, heading, width, placeholder) in enumerate(LINE_COLUMNS):
            edit = money_edit(placeholder, width) if field in ("unit_price", "tax", "service_charge", "discount") \
                else QLineEdit()
            if field not in ("unit_price", "tax", "service_charge", "discount"):
                edit.setPlaceholderText(placeholder)
                if width:
                    edit.setFixedWidth(width)
            if field == "quantity":
                edit.setText("1")
                edit.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            edit.setAccessibleName(heading)
            edit.textEdited.connect(lambda _text, f=field: self._edited(f))
            # After typing, show a long name or SKU from its start, as it reads on the receipt.
            edit.editingFinished.connect(lambda e=edit: e.setCursorPosition(0))
            edit.returnPressed.connect(lambda f=field: self.enter_pressed.emit(self, f))
            self.edits[field] = edit
            grid.addWidget(edit, 0, column)
        self.points_label = QLabel("")
        self.points_label.setFixedWidth(58)
        self.points_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        grid.addWidget(self.points_label, 0, len(LINE_COLUMNS))
        self.remove_button = QPushButton("✕")
        self.remove_button.setObjectName("Flat")
        self.remove_button.setToolTip("Remove this line")
        self.remove_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.remove_button.setFixedWidth(30)
        no_default(self.remove_button)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        grid.addWidget(self.remove_button, 0, len(LINE_COLUMNS) + 1)
        self.error = FieldError()
        grid.addWidget(self.error, 1, 0, 1, len(LINE_COLUMNS) + 2)
        grid.setColumnStretch(0, 1)

    def _edited(self, field: str) -> None:
        self.touched.add(field)
        self.changed.emit()

    def value(self) -> LineInput:
        return LineInput(**{field: edit.text() for field, edit in self.edits.items()})

    def is_blank(self) -> bool:
        return not any(edit.text().strip() for field, edit in self.edits.items() if field != "quantity")

    def fill(self, product: Product, quantity: int = 1) -> None:
        for field, text in (("name", product.name), ("sku", product.sku), ("category", product.category or ""),
                            ("quantity", str(quantity)), ("unit_price", product.price.plain())):
            self.edits[field].setText(text)
            self.edits[field].setCursorPosition(0)
        self.touched.update(("name", "quantity", "unit_price"))
        self.changed.emit()

    def set_errors(self, errors: dict[str, str]) -> None:
        for field, edit in self.edits.items():
            mark_invalid(edit, field in errors)
        messages = [f"{FIELD_NAMES.get(f, f)}: {m}" for f, m in errors.items()]
        if self.category_warning and "category" not in errors:
            messages.append(self.category_warning)
        self.error.show_message("   ·   ".join(messages))

    def set_points(self, text: str) -> None:
        self.points_label.setText(text)


class PaymentRow(QWidget):
    changed = Signal()
    remove_requested = Signal(object)

    def __init__(self, method: str = "card", amount: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.touched: set[str] = set()
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(6)
        grid.setVerticalSpacing(2)
        self.method = QComboBox()
        for key, label in PAYMENT_METHODS.items():
            self.method.addItem(label, key)
        self.method.setCurrentIndex(max(0, self.method.findData(method)))
        self.method.setFixedWidth(130)  # "Stored value" whole
        self.method.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # Tab goes amount to amount
        self.method.setAccessibleName("Payment method")
        self.method.currentIndexChanged.connect(lambda _i: self._edited("method"))
        self.amount = money_edit("0.00", 100)
        self.amount.setText(amount)
        self.amount.setAccessibleName("Payment amount")
        # Until someone types into it, the last such payment holds whatever is left to pay (see the dialog).
        self.auto = not amount
        self.amount.textEdited.connect(lambda _t: self._amount_typed())
        self.reference = QLineEdit()
        self.reference.setPlaceholderText("Reference: card slip, voucher no. (optional)")
        self.reference.setMaxLength(100)
        self.reference.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.reference.textEdited.connect(lambda _t: self._edited("reference"))
        self.remove_button = QPushButton("✕")
        self.remove_button.setObjectName("Flat")
        self.remove_button.setToolTip("Remove this payment")
        self.remove_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.remove_button.setFixedWidth(30)
        no_default(self.remove_button)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        grid.addWidget(self.method, 0, 0)
        grid.addWidget(self.amount, 0, 1)
        grid.addWidget(self.reference, 0, 2)
        grid.addWidget(self.remove_button, 0, 3)
        self.error = FieldError()
        grid.addWidget(self.error, 1, 0, 1, 4)
        grid.setColumnStretch(2, 1)

    def _edited(self, field: str) -> None:
        self.touched.add(field)
        self.changed.emit()

    def _amount_typed(self) -> None:
        self.auto = False
        self._edited("amount")

    def value(self) -> PaymentInput:
        return PaymentInput(method=self.method.currentData(), amount=self.amount.text(),
                            reference=self.reference.text())

    def set_errors(self, errors: dict[str, str]) -> None:
        mark_invalid(self.amount, "amount" in errors)
        mark_invalid(self.method, "method" in errors)
        mark_invalid(self.reference, "reference" in errors)
        self.error.show_message("   ·   ".join(f"{FIELD_NAMES.get(f, f)}: {m}" for f, m in errors.items()))


class RedemptionRow(QWidget):
    remove_requested = Signal(object)

    def __init__(self, request: RedemptionInput, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.request = request
        layout = QGridLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setHorizontalSpacing(8)
        layout.setVerticalSpacing(0)
        self.title = QLabel(title)
        self.title.setStyleSheet("font-weight: 600;")
        self.detail = QLabel("")
        self.detail.setObjectName("Muted")
        self.detail.setWordWrap(True)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("Flat")
        no_default(self.remove_button)
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        self.error = FieldError()
        layout.addWidget(self.title, 0, 0)
        layout.addWidget(self.remove_button, 0, 1, Qt.AlignmentFlag.AlignRight)
        layout.addWidget(self.detail, 1, 0, 1, 2)
        layout.addWidget(self.error, 2, 0, 1, 2)
        layout.setColumnStretch(0, 1)


# --- the dialog ----------------------------------------------------------------------------------------------------
class CheckoutDialog(QDialog):
    quote_ready = Signal(object)  # SaleQuote shown
    confirmed = Signal(object)  # RecordedSale
    confirm_failed = Signal(object)  # SaleRefused or another exception: nothing was saved
    void_requested = Signal(int)  # sale id, from the receipt page
    server_points_shown = Signal(int)  # the server's points for the recorded sale, once sync delivered it

    def __init__(self, settings: Settings, services: CounterServices, runner: TaskRunner, view: MemberView,
                 staff: StaffInfo | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.services = services
        self.runner = runner
        self.view = view
        self.member_id = view.profile.id
        self.signed_in = staff
        self.draft_id = new_draft_id()
        self._seq = 0
        self._quote: SaleQuote | None = None
        self._show_all = False
        self._busy = False
        self._time_touched = False
        self._touched: set[str] = set()
        self.result_sale: RecordedSale | None = None
        self.line_rows: list[LineRow] = []
        self.payment_rows: list[PaymentRow] = []
        self.redemption_rows: list[RedemptionRow] = []
        # The rows the last draft carried (blank lines and blank payments are left out), for mapping its errors.
        self._draft_lines: list[LineRow] = []
        self._draft_payments: list[PaymentRow] = []
        self.products: tuple[Product, ...] = ()
        self.known_categories: dict[str, str] = {}
        self.usual_bill_ceiling: Money | None = None
        self._large_bill_confirmed = False

        self.setWindowTitle(f"New sale · {view.profile.name}")
        self.setStyleSheet(DIALOG_STYLE)
        self.resize(1320, 740)
        self.setMinimumSize(1100, 600)

        self.pages = QStackedWidget()
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.pages)
        self.form_page = QWidget()
        self.form_page.setObjectName("Background")
        self.form_page.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.pages.addWidget(self.form_page)
        self._build_form()

        self._quote_timer = QTimer(self)
        self._quote_timer.setSingleShot(True)
        self._quote_timer.setInterval(QUOTE_PAUSE_MS)
        self._quote_timer.timeout.connect(self.request_quote)
        QShortcut(QKeySequence("Ctrl+Return"), self, activated=self.confirm)
        QShortcut(QKeySequence("Ctrl+Enter"), self, activated=self.confirm)
        QShortcut(QKeySequence("Alt+R"), self, activated=self.focus_rewards)
        QShortcut(QKeySequence("Alt+V"), self, activated=self.use_stored_value)

        self.add_line(focus=False)
        self.add_payment("cash", "", focus=False)
        self.add_payment("card", "", focus=False)
        self.receipt_edit.setFocus()
        services_ = services
        self.runner.run_db(lambda: _load_choices(services_), self._choices_loaded, self._load_failed)

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().showEvent(event)
        self.activateWindow()
        if self.pages.currentWidget() is self.form_page and not self.receipt_edit.text():
            self.receipt_edit.setFocus()

    # --- building -------------------------------------------------------------------------------------------------
    def _build_form(self) -> None:
        page = QVBoxLayout(self.form_page)
        page.setContentsMargins(16, 12, 16, 12)
        page.setSpacing(10)

        profile = self.view.profile
        header = QHBoxLayout()
        name = QLabel(profile.name)
        name.setObjectName("MemberName")
        header.addWidget(name)
        if self.view.tier:
            badge = QLabel(self.view.tier.name)
            badge.setObjectName("TierBadge")
            badge.setStyleSheet(f"background: {self.view.tier.colour};")
            header.addWidget(badge, 0, Qt.AlignmentFlag.AlignVCenter)
        header.addStretch(1)
        value = f" (worth {self.view.points_value.display()})" if self.view.points_value else ""
        self.balance_label = QLabel(f"{profile.available_points:,} pts available{value}")
        self.balance_label.setObjectName("Muted")
        header.addWidget(self.balance_label)
        page.addLayout(header)

        body = QHBoxLayout()
        body.setSpacing(12)
        page.addLayout(body, 1)

        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        left = QWidget()
        left.setObjectName("Background")
        self.left_layout = QVBoxLayout(left)
        self.left_layout.setContentsMargins(0, 0, 6, 0)
        self.left_layout.setSpacing(10)
        scroll.setWidget(left)
        body.addWidget(scroll, 3)
        for part in (self._receipt_card(), self._bill_card(), self._rewards_card(), self._payments_card()):
            self.left_layout.addWidget(part)
        self.left_layout.addStretch(1)
        body.addWidget(self._preview_card(), 2)

    def _receipt_card(self) -> QWidget:
        """Receipt number, time and staff."""
        receipt_card, receipt = card()
        grid = QGridLayout()
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(2)
        self.receipt_edit = QLineEdit()
        self.receipt_edit.setPlaceholderText("e.g. T10234")
        self.receipt_edit.setMaxLength(64)
        self.receipt_edit.setAccessibleName("WESS receipt number")
        self.receipt_edit.textEdited.connect(lambda _t: self._touch("receipt_no"))
        self.receipt_error = FieldError()
        self.time_edit = QDateTimeEdit()
        self.time_edit.setDisplayFormat("dd MMM yyyy  HH:mm")
        self.time_edit.setCalendarPopup(True)
        now = datetime.now(self.settings.zone)
        self.time_edit.setDateTime(QDateTime(QDate(now.year, now.month, now.day), QTime(now.hour, now.minute)))
        self.time_edit.dateTimeChanged.connect(self._time_changed)
        self.time_error = FieldError()
        self.staff_combo = QComboBox()
        self.staff_combo.setAccessibleName("Served by")
        self.staff_combo.addItem("Loading staff…", None)
        self.staff_combo.currentIndexChanged.connect(lambda _i: self._touch("staff"))
        self.staff_error = FieldError()
        # Time and staff are right as they open nearly always: out of the Tab chain, an Alt key away.
        self.time_edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.staff_combo.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        for column, (label, widget, error) in enumerate((
                ("WESS receipt no.", self.receipt_edit, self.receipt_error),
                ("&Time  (Alt+T)", self.time_edit, self.time_error),
                ("&Served by  (Alt+S)", self.staff_combo, self.staff_error))):
            caption = QLabel(label)
            caption.setObjectName("ColumnHead")
            caption.setBuddy(widget)
            grid.addWidget(caption, 0, column)
            grid.addWidget(widget, 1, column)
            grid.addWidget(error, 2, column)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        grid.setColumnStretch(2, 2)
        receipt.addLayout(grid)
        self.receipt_note = QLabel("")
        self.receipt_note.setObjectName("Flag")
        self.receipt_note.setWordWrap(True)
        self.receipt_note.hide()
        receipt.addWidget(self.receipt_note)
        return receipt_card

    def _bill_card(self) -> QWidget:
        """The bill: itemised lines or the total only."""
        bill_card, bill = card()
        mode = QHBoxLayout()
        title = QLabel("The bill")
        title.setObjectName("SectionTitle")
        mode.addWidget(title)
        mode.addSpacing(16)
        self.itemised_radio = QRadioButton("Itemised lines")
        self.total_radio = QRadioButton("Total only")
        self.itemised_radio.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.itemised_radio)
        group.addButton(self.total_radio)
        self.itemised_radio.toggled.connect(self._mode_changed)
        for radio in (self.itemised_radio, self.total_radio):
            radio.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        mode.addWidget(self.itemised_radio)
        mode.addWidget(self.total_radio)
        mode.addStretch(1)
        bill.addLayout(mode)

        self.lines_box = QWidget()
        lines_layout = QVBoxLayout(self.lines_box)
        lines_layout.setContentsMargins(0, 0, 0, 0)
        lines_layout.setSpacing(4)
        heads = QGridLayout()
        heads.setHorizontalSpacing(6)
        for column, (_field, heading, width, _p) in enumerate(LINE_COLUMNS):
            label = QLabel(heading)
            label.setObjectName("ColumnHead")
            if width:
                label.setFixedWidth(width)
            if column >= 3:
                label.setAlignment(Qt.AlignmentFlag.AlignRight)
            heads.addWidget(label, 0, column)
        points_head = QLabel("Points")
        points_head.setObjectName("ColumnHead")
        points_head.setFixedWidth(58)
        points_head.setAlignment(Qt.AlignmentFlag.AlignRight)
        heads.addWidget(points_head, 0, len(LINE_COLUMNS))
        spacer = QLabel("")
        spacer.setFixedWidth(30)
        heads.addWidget(spacer, 0, len(LINE_COLUMNS) + 1)
        heads.setColumnStretch(0, 1)
        lines_layout.addLayout(heads)
        self.rows_layout = QVBoxLayout()
        self.rows_layout.setSpacing(4)
        lines_layout.addLayout(self.rows_layout)
        add_line = self.add_line_button = QPushButton("+ Add &line")
        add_line.clicked.connect(lambda: self.add_line())
        no_default(add_line)
        add_line.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.lines_error = FieldError()
        self.pick_hint = QLabel("Type an item or SKU: Enter picks it from the catalogue and starts the next line; "
                                "Enter on an empty line goes to the payments")
        self.pick_hint.setObjectName("Muted")
        self.pick_hint.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(add_line)
        row.addWidget(self.lines_error, 1)
        row.addWidget(self.pick_hint, 3)
        row.addStretch(0)
        lines_layout.addLayout(row)
        bill.addWidget(self.lines_box)

        self.total_box = QWidget()
        total_grid = QGridLayout(self.total_box)
        total_grid.setContentsMargins(0, 0, 0, 0)
        total_grid.setHorizontalSpacing(10)
        total_grid.setVerticalSpacing(2)
        self.total_edit = money_edit("0.00", 120)
        self.total_tax_edit = money_edit("0.00", 120)
        self.total_service_edit = money_edit("0.00", 120)
        self.total_errors: dict[str, FieldError] = {}
        for column, (key, label, edit) in enumerate((
                ("total", "Bill total (as printed)", self.total_edit),
                ("total_tax", "of which tax", self.total_tax_edit),
                ("total_service_charge", "of which service charge", self.total_service_edit))):
            caption = QLabel(label)
            caption.setObjectName("ColumnHead")
            total_grid.addWidget(caption, 0, column)
            total_grid.addWidget(edit, 1, column)
            error = FieldError()
            total_grid.addWidget(error, 2, column)
            self.total_errors[key] = error
            edit.textEdited.connect(lambda _t, k=key: self._touch(k))
        total_grid.setColumnStretch(3, 1)
        bill.addWidget(self.total_box)
        self.total_box.hide()
        return bill_card

    def _rewards_card(self) -> QWidget:
        """Rewards, vouchers and paying with points (out of the Tab chain: Alt+R)."""
        rewards_card, rewards = card("Rewards, vouchers and points  (Alt+R)")
        pick = QHBoxLayout()
        self.reward_combo = QComboBox()
        self.reward_combo.setAccessibleName("Reward or voucher")
        self.reward_combo.addItem("Choose a reward or voucher…", None)
        self.reward_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        apply_reward = self.apply_reward_button = QPushButton("&Apply")
        apply_reward.clicked.connect(self.apply_selected_reward)
        self.voucher_edit = QLineEdit()
        self.voucher_edit.setPlaceholderText("Voucher code")
        self.voucher_edit.setFixedWidth(130)
        self.voucher_edit.returnPressed.connect(self.apply_voucher_code)
        apply_voucher = QPushButton("Use &code")
        apply_voucher.clicked.connect(self.apply_voucher_code)
        pick.addWidget(self.reward_combo, 1)
        pick.addWidget(apply_reward)
        pick.addSpacing(12)
        pick.addWidget(self.voucher_edit)
        pick.addWidget(apply_voucher)
        rewards.addLayout(pick)
        points_row = QHBoxLayout()
        points_caption = QLabel("Pay with points:")
        self.points_edit = money_edit("most allowed", 120)
        self.points_edit.setAccessibleName("Amount to pay with points")
        self.points_edit.returnPressed.connect(self.apply_points)
        apply_points = self.apply_points_button = QPushButton("Pay with p&oints")
        apply_points.clicked.connect(self.apply_points)
        self.points_hint = QLabel("")
        self.points_hint.setObjectName("Muted")
        self.points_hint.setWordWrap(True)
        points_row.addWidget(points_caption)
        points_row.addWidget(self.points_edit)
        points_row.addWidget(apply_points)
        points_row.addWidget(self.points_hint, 1)
        rewards.addLayout(points_row)
        self.redemptions_layout = QVBoxLayout()
        self.redemptions_layout.setSpacing(6)
        rewards.addLayout(self.redemptions_layout)
        self.redemptions_error = FieldError()
        rewards.addWidget(self.redemptions_error)
        no_default(apply_reward, apply_voucher, apply_points)
        # Out of the Tab chain (receipt → lines → payments); Alt+R, then ↓ and Enter applies a reward.
        for widget in (self.reward_combo, apply_reward, self.voucher_edit, apply_voucher, self.points_edit,
                       apply_points):
            widget.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.reward_combo.installEventFilter(self)
        return rewards_card

    def _payments_card(self) -> QWidget:
        """Payments, stored value and cash tendered."""
        pay_card, pay = card("Payments")
        self.payments_layout = QVBoxLayout()
        self.payments_layout.setSpacing(4)
        pay.addLayout(self.payments_layout)
        self.points_payment_label = QLabel("")
        self.points_payment_label.hide()
        pay.addWidget(self.points_payment_label)
        pay_row = QHBoxLayout()
        add_payment = self.add_payment_button = QPushButton("+ Add &payment")
        add_payment.clicked.connect(lambda: self.add_payment())
        no_default(add_payment)
        add_payment.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.tender_label = QLabel("")
        pay_row.addWidget(add_payment)
        pay_row.addWidget(self.tender_label, 1)
        pay.addLayout(pay_row)
        # The member's prepaid balance: one key (Alt+V) pays what it may of the bill; the card takes the rest.
        stored_row = QHBoxLayout()
        self.stored_value_button = QPushButton("Use stored value  (Alt+V)")
        self.stored_value_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.stored_value_button.clicked.connect(self.use_stored_value)
        no_default(self.stored_value_button)
        self.stored_value_label = QLabel("")
        self.stored_value_label.setObjectName("Muted")
        stored_row.addWidget(self.stored_value_button)
        stored_row.addWidget(self.stored_value_label, 1)
        self.stored_value_box = QWidget()
        self.stored_value_box.setLayout(stored_row)
        stored_row.setContentsMargins(0, 0, 0, 0)
        self.stored_value_box.hide()
        pay.addWidget(self.stored_value_box)
        change_row = QHBoxLayout()
        tendered_caption = QLabel("Cash ten&dered:")
        self.tendered_edit = money_edit("0.00", 100)
        self.tendered_edit.setAccessibleName("Cash tendered")
        self.tendered_edit.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        tendered_caption.setBuddy(self.tendered_edit)
        self.tendered_edit.textEdited.connect(lambda _t: self._show_change())
        self.change_label = QLabel("")
        change_row.addWidget(tendered_caption)
        change_row.addWidget(self.tendered_edit)
        change_row.addWidget(self.change_label, 1)
        pay.addLayout(change_row)
        self.payments_error = FieldError()
        pay.addWidget(self.payments_error)
        return pay_card

    def _preview_card(self) -> QWidget:
        """Right: what the sale does, every problem at once, and Confirm."""
        preview_card, preview = card("What this sale does")
        self.earn_label = QLabel("—")
        self.earn_label.setObjectName("BigNumber")
        preview.addWidget(self.earn_label)
        self.lines_preview = QLabel("")
        self.lines_preview.setWordWrap(True)
        self.lines_preview.setTextFormat(Qt.TextFormat.RichText)
        self.lines_preview.setAlignment(Qt.AlignmentFlag.AlignTop)
        preview.addWidget(self.lines_preview)
        self.warnings_label = QLabel("")
        self.warnings_label.setObjectName("Warning")
        self.warnings_label.setWordWrap(True)
        self.warnings_label.hide()
        preview.addWidget(self.warnings_label)
        self.wess_label = QLabel("")
        self.wess_label.setObjectName("Wess")
        self.wess_label.setWordWrap(True)
        self.wess_label.setTextFormat(Qt.TextFormat.RichText)
        preview.addWidget(self.wess_label)
        self.total_label = QLabel("")
        self.total_label.setObjectName("Total")
        preview.addWidget(self.total_label)
        self.new_balance_label = QLabel("")
        self.new_balance_label.setWordWrap(True)
        preview.addWidget(self.new_balance_label)
        self.provisional_label = QLabel("")
        self.provisional_label.setObjectName("Flag")
        self.provisional_label.setWordWrap(True)
        self.provisional_label.hide()
        preview.addWidget(self.provisional_label)
        preview.addStretch(1)
        self.general_error = FieldError()
        preview.addWidget(self.general_error)
        # Every problem at once, beside Confirm, after a Confirm that could not save.
        self.error_summary = FieldError()
        self.error_summary.setObjectName("ErrorSummary")
        preview.addWidget(self.error_summary)
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.reject)
        self.confirm_button = QPushButton("Confirm sale  (Ctrl+Enter)")
        self.confirm_button.setObjectName("Primary")
        self.confirm_button.clicked.connect(self.confirm)
        # Wide enough for its own label whatever it says meanwhile ("Saving…"), so it never comes back clipped.
        self.confirm_button.setMinimumWidth(self.confirm_button.sizeHint().width() + 8)
        no_default(self.cancel_button, self.confirm_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.confirm_button)
        preview.addLayout(buttons)
        preview_card.setMinimumWidth(340)
        preview_card.setMaximumWidth(400)
        return preview_card

    # --- choices from the database -----------------------------------------------------------------------------
    def _choices_loaded(self, choices: Choices) -> None:
        staff, rewards, points_offered, products, categories, ceiling = choices
        self.products, self.known_categories, self.usual_bill_ceiling = products, categories, ceiling
        self.staff_combo.blockSignals(True)
        self.staff_combo.clear()
        self.staff_combo.addItem("Choose who served…", None)
        for person in staff:
            self.staff_combo.addItem(f"{person.name} ({person.code})", person.id)
        if self.signed_in is not None:
            self.staff_combo.setCurrentIndex(max(0, self.staff_combo.findData(self.signed_in.id)))
        self.staff_combo.blockSignals(False)
        available = self.view.profile.available_points
        for reward_kind in ("voucher",):
            for usable in self.view.rewards:
                if usable.kind == reward_kind:
                    self.reward_combo.addItem(f"Voucher {usable.code}: {usable.name} ({usable.detail})",
                                              f"voucher:{usable.code}")
        for code, name, cost, value in rewards:
            short = "" if cost <= available else "  — not enough points"
            self.reward_combo.addItem(f"{name} · {cost:,} pts{short}", f"reward:{code}")
        if not points_offered:
            self.points_edit.setEnabled(False)
            self.points_hint.setText("This programme does not let points pay")
        else:
            self.points_hint.setText(f"{available:,} pts available")
        self.request_quote()

    def _load_failed(self, error: BaseException) -> None:
        log.error("checkout could not load its choices: %s", error)
        self.general_error.show_message("Could not read staff and rewards from the database; close and try again")

    # --- editing ----------------------------------------------------------------------------------------------
    def add_line(self, focus: bool = True) -> LineRow:
        row = LineRow()
        row.changed.connect(self._changed)
        row.remove_requested.connect(self._remove_line)
        row.enter_pressed.connect(self._line_enter)
        row.edits["name"].textEdited.connect(lambda text, r=row: self._suggest(r, text))
        row.edits["category"].textEdited.connect(lambda _t, r=row: self._check_category(r))
        self.line_rows.append(row)
        self.rows_layout.addWidget(row)
        self._retab()
        if focus:
            row.edits["name"].setFocus()
        self._changed()
        return row

    def _retab(self) -> None:
        """Tab walks receipt → every line field → every payment amount → Confirm, whatever was added when."""
        chain: list[QWidget] = [self.receipt_edit]
        if self.itemised_radio.isChecked():
            for row in self.line_rows:
                chain += [row.edits[field] for field, *_rest in LINE_COLUMNS]
        else:
            chain += [self.total_edit, self.total_tax_edit, self.total_service_edit]
        chain += [row.amount for row in self.payment_rows] + [self.confirm_button]
        for first, second in zip(chain, chain[1:]):
            QWidget.setTabOrder(first, second)

    def _suggest(self, row: LineRow, text: str) -> None:
        product, quantity = find_product(self.products, text)
        if product is not None:
            times = f"{quantity} × " if quantity != 1 else ""
            self.pick_hint.setText(f"Enter: {times}{product.name} · {product.sku} · {product.category or 'no category'}"
                                   f" · {product.price.display()}")
        elif text.strip():
            self.pick_hint.setText("Not in the catalogue (or several match): keep typing, or Enter to key it by hand")
        else:
            self.pick_hint.setText("Enter on an empty line goes to the payments")

    def _line_enter(self, row: LineRow, field: str) -> None:
        """Enter in a line: pick from the catalogue and start the next line; on an empty line, go to payments."""
        if field == "name":
            if row.is_blank():
                self.focus_payments()
                return
            product, quantity = find_product(self.products, row.edits["name"].text())
            if product is None:
                row.edits["sku"].setFocus()  # typed by hand: SKU, category and price next
                return
            row.fill(product, quantity)
            self._check_category(row)
            self.pick_hint.setText(f"Added {product.name}. Next item, or Enter on the empty line for the payments")
        index = self.line_rows.index(row)
        if index + 1 < len(self.line_rows):
            self.line_rows[index + 1].edits["name"].setFocus()
        else:
            self.add_line()

    def _check_category(self, row: LineRow) -> None:
        typed = row.edits["category"].text().strip()
        warning = ""
        if typed and self.known_categories and typed.casefold() not in self.known_categories:
            close = difflib.get_close_matches(typed.casefold(), list(self.known_categories), n=1, cutoff=0.6)
            hint = f" Did you mean {self.known_categories[close[0]]}?" if close else ""
            warning = f"⚠ “{typed}” is not a category of the programme: no category bonus applies.{hint}"
        row.category_warning = warning
        self._changed()

    def focus_payments(self) -> None:
        target = next((r for r in self.payment_rows if not r.amount.text().strip()), None) or \
            (self.payment_rows[0] if self.payment_rows else None)
        if target is not None:
            target.amount.setFocus()
            target.amount.selectAll()

    def focus_rewards(self) -> None:
        self.reward_combo.setFocus()

    def eventFilter(self, watched, event) -> bool:  # type: ignore[no-untyped-def]
        if watched is self.reward_combo and event.type() == QEvent.Type.KeyPress and \
                event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and not event.modifiers():
            if self.reward_combo.currentData():
                self.apply_selected_reward()
                self.focus_payments()
            return True
        return super().eventFilter(watched, event)

    def _show_change(self) -> None:
        quote = self._quote
        typed = self.tendered_edit.text().strip()
        if not typed or quote is None:
            self.change_label.setText("")
            return
        currency = quote.currency
        try:
            tendered = Money.parse(typed, currency)
        except MoneyError as error:
            self.change_label.setObjectName("Bad")
            self.change_label.setText(str(error))
        else:
            cash = Money.zero(currency)
            for row in self._draft_payments:
                if row.method.currentData() == "cash":
                    try:
                        cash = cash + Money.parse(row.amount.text(), currency)
                    except MoneyError:
                        pass
            change = tendered - cash
            self.change_label.setObjectName("Good" if not change.is_negative() else "Bad")
            self.change_label.setText(f"Change due {change.display()}" if not change.is_negative() else
                                      f"{(-change).display()} short of the cash part ({cash.display()})")
        self.change_label.style().unpolish(self.change_label)
        self.change_label.style().polish(self.change_label)

    def _rebalance(self, quote: SaleQuote) -> bool:
        """The last payment nobody typed into holds what is left to pay. True when an amount changed."""
        if quote.to_pay is None:
            return False
        auto = [row for row in self.payment_rows if row.auto]
        if not auto:
            return False
        target = auto[-1]
        changed = False
        for row in auto[:-1]:  # an untyped payment that is not the last one is unused
            if row.amount.text():
                row.amount.setText("")
                changed = True
        paid = Money.zero(quote.currency)
        for row in self.payment_rows:
            if row is target or not row.amount.text().strip():
                continue
            try:
                paid = paid + Money.parse(row.amount.text(), quote.currency)
            except MoneyError:
                return False
        left = quote.to_pay - paid
        text = left.plain() if left.amount > 0 else ""
        if target.amount.text() == text:
            return changed
        target.amount.setText(text)
        return True

    def _remove_line(self, row: LineRow) -> None:
        if row in self.line_rows:
            self.line_rows.remove(row)
            row.deleteLater()
            self._touch("lines")

    def add_payment(self, method: str = "card", amount: str | None = None, focus: bool = True) -> PaymentRow:
        """A payment row; without an amount it starts as the one holding what is left to pay."""
        row = PaymentRow(method, amount or "")
        row.auto = amount is None or not amount
        row.changed.connect(lambda: self._touch("payments"))
        row.remove_requested.connect(self._remove_payment)
        self.payment_rows.append(row)
        self.payments_layout.addWidget(row)
        self._retab()
        if focus:
            row.amount.setFocus()
            row.amount.selectAll()
        self._touch("payments")
        if self._quote is not None and self._rebalance(self._quote):
            self._touch("payments")
        return row

    def _remove_payment(self, row: PaymentRow) -> None:
        if row in self.payment_rows:
            self.payment_rows.remove(row)
            row.deleteLater()
            self._touch("payments")

    def apply_selected_reward(self) -> None:
        data = self.reward_combo.currentData()
        if not data:
            self.redemptions_error.show_message("Choose a reward or voucher from the list first")
            return
        kind, code = data.split(":", 1)
        self._add_redemption(RedemptionInput(kind=kind, code=code), self.reward_combo.currentText().split(" · ")[0])
        self.reward_combo.setCurrentIndex(0)

    def apply_voucher_code(self) -> None:
        code = self.voucher_edit.text().strip()
        if not code:
            self.redemptions_error.show_message("Type the voucher code the member shows you")
            return
        self._add_redemption(RedemptionInput(kind="voucher", code=code), f"Voucher {code}")
        self.voucher_edit.clear()

    def apply_points(self) -> None:
        amount = self.points_edit.text().strip()
        for row in list(self.redemption_rows):
            if row.request.kind == "points":
                self._remove_redemption(row)
        self._add_redemption(RedemptionInput(kind="points", amount=amount),
                             f"Pay {('S$' + amount) if amount else 'the most allowed'} with points")

    def _add_redemption(self, request: RedemptionInput, title: str) -> None:
        row = RedemptionRow(request, title)
        row.remove_requested.connect(self._remove_redemption)
        self.redemption_rows.append(row)
        self.redemptions_layout.addWidget(row)
        self.redemptions_error.show_message("")
        self._touch("redemptions")

    def _remove_redemption(self, row: RedemptionRow) -> None:
        if row in self.redemption_rows:
            self.redemption_rows.remove(row)
            row.deleteLater()
            self._touch("redemptions")

    def _mode_changed(self, itemised: bool) -> None:
        self._retab()
        self.lines_box.setVisible(itemised)
        self.total_box.setVisible(not itemised)
        (self.line_rows[0].edits["name"] if itemised and self.line_rows else self.total_edit).setFocus()
        self._changed()

    def _time_changed(self, _value: QDateTime) -> None:
        self._time_touched = True
        self._touch("occurred_at")

    def _touch(self, key: str) -> None:
        self._touched.add(key)
        self._changed()

    def _changed(self) -> None:
        self._quote_timer.start()

    # --- the draft and its quote ------------------------------------------------------------------------------------
    def occurred_at(self) -> datetime | None:
        """None (now, at confirm) unless staff changed the time: a sale keyed a while after opening stays "now"."""
        if not self._time_touched:
            return None
        value = self.time_edit.dateTime()
        day, moment = value.date(), value.time()
        return datetime(day.year(), day.month(), day.day(), moment.hour(), moment.minute(), tzinfo=self.settings.zone)

    def draft(self) -> SaleRequest:
        # A blank line (the next one Enter opened) and a blank payment (cash not used) are not part of the bill.
        self._draft_lines = [row for row in self.line_rows if not row.is_blank()]
        self._draft_payments = [row for row in self.payment_rows if row.amount.text().strip()]
        return SaleRequest(
            member_id=self.member_id, staff_id=self.staff_combo.currentData(), receipt_no=self.receipt_edit.text(),
            occurred_at=self.occurred_at(), itemised=self.itemised_radio.isChecked(),
            lines=tuple(row.value() for row in self._draft_lines), total=self.total_edit.text(),
            total_tax=self.total_tax_edit.text(), total_service_charge=self.total_service_edit.text(),
            payments=tuple(row.value() for row in self._draft_payments),
            redemptions=tuple(row.request for row in self.redemption_rows), draft_id=self.draft_id)

    def request_quote(self) -> None:
        self._quote_timer.stop()
        self._seq += 1
        seq = self._seq
        draft = self.draft()
        checkout = self.services.sales
        self.runner.run_db(lambda: checkout.quote(draft), lambda quote: self._show_quote(seq, quote),
                           self._quote_failed)

    def _quote_failed(self, error: BaseException) -> None:
        log.error("checkout quote failed: %s", error)
        self.general_error.show_message("The preview could not be computed (database error); nothing is saved yet")

    def _visible(self, key: str) -> bool:
        return self._show_all or key in self._touched

    def _show_quote(self, seq: int, quote: SaleQuote) -> None:
        if seq != self._seq or self.pages.currentWidget() is not self.form_page:
            return
        self._quote = quote
        if self._rebalance(quote):
            self.request_quote()  # to_pay does not depend on payments, so this settles in one more round
            return
        self._show_errors(quote)
        self._show_preview(quote)
        self._show_change()
        self.quote_ready.emit(quote)

    def _show_errors(self, quote: SaleQuote) -> None:
        errors = quote.errors
        shown: set[str] = set()

        def slot(key: str, label: FieldError, *widgets: QWidget, always: bool = False) -> None:
            message = errors.get(key) if (always or self._visible(key)) else None
            label.show_message(message)
            for widget in widgets:
                mark_invalid(widget, bool(message))
            shown.add(key)

        slot("receipt_no", self.receipt_error, self.receipt_edit)
        slot("occurred_at", self.time_error, self.time_edit, always=True)
        slot("staff", self.staff_error, self.staff_combo)
        slot("lines", self.lines_error)
        for key, label in self.total_errors.items():
            edit = {"total": self.total_edit, "total_tax": self.total_tax_edit,
                    "total_service_charge": self.total_service_edit}[key]
            slot(key, label, edit)
        for row in self.line_rows:
            if row not in self._draft_lines:
                row.set_errors({})
        for index, row in enumerate(self._draft_lines):
            prefix = f"lines[{index}]."
            row_errors = {k[len(prefix):]: v for k, v in errors.items() if k.startswith(prefix)}
            shown.update(prefix + k for k in row_errors)
            row.set_errors({k: v for k, v in row_errors.items() if self._show_all or k in row.touched})
        for row in self.payment_rows:
            if row not in self._draft_payments:
                row.set_errors({})
        for index, row in enumerate(self._draft_payments):
            prefix = f"payments[{index}]."
            row_errors = {k[len(prefix):]: v for k, v in errors.items() if k.startswith(prefix)}
            shown.update(prefix + k for k in row_errors)
            row.set_errors({k: v for k, v in row_errors.items() if self._show_all or k in row.touched})
        slot("payments", self.payments_error)
        slot("redemptions", self.redemptions_error, always=True)
        applied = {a.index: a for a in quote.redemptions}
        for index, row in enumerate(self.redemption_rows):
            key = f"redemptions[{index}]"
            shown.add(key)
            row.error.show_message(errors.get(key))
            done = applied.get(index)
            if done is not None:
                cost = f" · {done.points:,} pts" if done.points else ""
                note = f" · {done.note}" if done.note else ""
                row.title.setText(f"{done.name}{cost}")
                row.detail.setText(done.wess_instruction + note)
            elif key not in errors:
                row.detail.setText("Checked as soon as the bill is complete")
            else:
                row.detail.setText("")
        rest = [message for key, message in errors.items() if key not in shown and
                (self._show_all or key in ("member", "draft", "storage"))]
        self.general_error.show_message("\n".join(rest))
        if self._show_all and errors:
            items = [f"• {_where(key)}: {message}" for key, message in errors.items() if key not in ("member", "draft")]
            more = f"\n… and {len(items) - 6} more" if len(items) > 6 else ""
            self.error_summary.show_message(
                f"Not saved: {len(errors)} thing{'s' if len(errors) != 1 else ''} to fix\n" + "\n".join(items[:6]) + more)
        else:
            self.error_summary.show_message("")

    def _show_preview(self, quote: SaleQuote) -> None:
        voided = quote.voided_sale
        if voided is not None:
            self.receipt_note.setText(f"Receipt {voided.receipt_no} was recorded {voided.describe(self.settings)} "
                                      "and voided: this records it again.")
        self.receipt_note.setVisible(voided is not None)
        preview = quote.preview
        by_line = {line.line_index: line for line in preview.lines} if preview else {}
        for row in self.line_rows:
            index = self._draft_lines.index(row) if row in self._draft_lines else -1
            line = by_line.get(index) if self.itemised_radio.isChecked() else None
            row.set_points(f"{line.points:,}" if line is not None else "")
        if preview is None:
            self.earn_label.setText("—")
            self.lines_preview.setText("<span style='color:#616e7c'>The points preview appears when the bill "
                                       "adds up.</span>")
            self.warnings_label.hide()
        else:
            self.earn_label.setText(f"+{preview.total_points:,} pts")
            rows = []
            for line in preview.lines:
                rows.append(
                    f"<tr><td><b>{html.escape(line.label)}</b></td>"
                    f"<td align='right'><b>{line.points:,}</b></td></tr>"
                    f"<tr><td colspan='2' style='color:#616e7c; padding-bottom:4px'>"
                    f"{html.escape(line.explanation)}</td></tr>")
            if preview.visit_explanation:
                rows.append(f"<tr><td>{html.escape(preview.visit_explanation)}</td>"
                            f"<td align='right'>{preview.visit_points or ''}</td></tr>")
            rows.append(f"<tr><td colspan='2' style='color:#616e7c'>{html.escape(preview.rounding_note)}</td></tr>")
            self.lines_preview.setText("<table width='100%' cellspacing='0'>" + "".join(rows) + "</table>")
            self.warnings_label.setText("\n".join(preview.warnings))
            self.warnings_label.setVisible(bool(preview.warnings))

        wess = [html.escape(applied.wess_instruction) for applied in quote.redemptions]
        self.wess_label.setText("<b>Key into WESS</b><br>" + ("<br>".join(wess) if wess else
                                                             "No discount or points payment to key"))
        total = ""
        if quote.total is not None:
            total = f"Total {quote.total.display()}"
            if not quote.points_payment.is_zero() and quote.to_pay is not None:
                total += f"  ·  {quote.to_pay.display()} after points"
        self.total_label.setText(total)
        self.total_label.setVisible(bool(total))
        if quote.new_balance is not None:
            parts = []
            if quote.points_redeemed:
                parts.append(f"−{quote.points_redeemed:,} redeemed")
            if quote.points_earned:
                parts.append(f"+{quote.points_earned:,} earned")
            detail = f" ({', '.join(parts)})" if parts else ""
            self.new_balance_label.setText(
                f"Balance {quote.points_available:,} → <b>{quote.new_balance:,} pts</b>{detail}")
        else:
            self.new_balance_label.setText(f"Balance {quote.points_available:,} pts")
        if quote.provisional:
            self.provisional_label.setText(
                "Offline: this redemption is provisional; the loyalty server confirms it when the counter "
                f"reconnects (offline limit {quote.points_spendable:,} pts)")
            self.provisional_label.show()
        else:
            self.provisional_label.hide()
        if not quote.online and not quote.redemptions:
            self.points_hint.setText(f"{quote.points_available:,} pts available · offline, at most "
                                     f"{quote.points_spendable:,} pts can be redeemed")
        points_paid = next((a for a in quote.redemptions if a.kind == "points"), None)
        if points_paid is not None:
            self.points_payment_label.setText(
                f"Points   {points_paid.points:,} pts   {points_paid.amount.display()}   (from the redemption above)")
            self.points_payment_label.show()
        else:
            self.points_payment_label.hide()
        self._show_stored_value(quote)
        tenders = quote.tenders
        if tenders is not None and tenders.ok:
            self.tender_label.setObjectName("Good")
            self.tender_label.setText("✓ Payments add up")
        elif quote.to_pay is not None:
            self.tender_label.setObjectName("Bad" if self._visible("payments") else "Muted")
            self.tender_label.setText(tenders.message if tenders is not None else
                                      f"{quote.to_pay.display()} to pay")
        else:
            self.tender_label.setObjectName("Muted")
            self.tender_label.setText("")
        self.tender_label.style().unpolish(self.tender_label)
        self.tender_label.style().polish(self.tender_label)

    def _show_stored_value(self, quote: SaleQuote) -> None:
        balance, most = quote.stored_value_balance, quote.stored_value_max
        used = quote.stored_value_used
        has_row = any(row.method.currentData() == "stored_value" for row in self.payment_rows)
        if balance is None or (balance.is_zero() and not has_row):
            self.stored_value_box.hide()
            return
        self.stored_value_box.show()
        self.stored_value_button.setEnabled(bool(most is not None and not most.is_zero()) or has_row)
        if used is not None and not used.is_zero():
            after = balance - used
            self.stored_value_label.setText(f"Stored value {balance.display()}: {used.display()} on this bill, "
                                            f"{after.display()} left")
        else:
            limit = f", up to {most.display()} on this bill" if most is not None and most < balance else ""
            self.stored_value_label.setText(f"Stored value {balance.display()} available{limit}")

    def use_stored_value(self) -> None:
        """Pay from the member's stored value: as much as this bill may take of what the typed payments leave."""
        quote = self._quote
        existing = next((row for row in self.payment_rows if row.method.currentData() == "stored_value"), None)
        if existing is not None:
            existing.amount.setFocus()
            existing.amount.selectAll()
            return
        if quote is None or quote.to_pay is None or not quote.stored_value_max or quote.stored_value_max.is_zero():
            return
        typed = Money.zero(quote.currency)
        for row in self.payment_rows:
            if not row.auto and row.amount.text().strip():
                try:
                    typed = typed + Money.parse(row.amount.text(), quote.currency)
                except MoneyError:
                    return
        left = quote.to_pay - typed
        amount = min(quote.stored_value_max, left)
        if amount.is_zero() or amount.is_negative():
            return
        row = self.add_payment("stored_value", amount.plain(), focus=False)
        row.touched.add("amount")
        self._touch("payments")
        self.request_quote()

    # --- confirming ----------------------------------------------------------------------------------------------
    def confirm(self) -> None:
        if self._busy or self.pages.currentWidget() is not self.form_page:
            return
        quote = self._quote
        ceiling = self.usual_bill_ceiling
        if quote is not None and quote.total is not None and ceiling is not None and quote.total > ceiling \
                and not self._large_bill_confirmed:
            answer = QMessageBox.question(
                self, "A very large bill?",
                f"{quote.total.display()} is far above this shop's usual bills (more than {ceiling.display()}). "
                "Is the amount right?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            self._large_bill_confirmed = True  # asked once; editing on does not ask again
        self._show_all = True
        self._busy = True
        self.confirm_button.setEnabled(False)
        self.confirm_button.setText("Saving…")
        self._quote_timer.stop()
        self._seq += 1  # answers to earlier quotes are stale now
        draft = self.draft()
        checkout = self.services.sales
        self.runner.run_db(lambda: refusal_as_value(lambda: checkout.record(draft), SaleRefused),
                           self._confirmed, self._confirm_failed)

    def _confirmed(self, result: RecordedSale | SaleRefused) -> None:
        if isinstance(result, SaleRefused):
            self._confirm_failed(result)
            return
        self._busy = False
        self.result_sale = result
        view = ReceiptView.for_sale(result, self.view.profile.name)
        view.done.connect(self.accept)
        view.void_requested.connect(self._void_from_receipt)
        self.receipt_view = view
        self.pages.addWidget(view)
        self.pages.setCurrentWidget(view)
        self.setWindowTitle(f"Sale recorded · {self.view.profile.name}")
        view.done_button.setFocus()
        # While the receipt is on screen, sync may deliver the sale: the server's points are shown if they differ.
        self._server_points_timer = QTimer(self)
        self._server_points_timer.setInterval(SERVER_POINTS_POLL_MS)
        self._server_points_timer.timeout.connect(lambda: self._check_server_points(result))
        self._server_points_timer.start()
        self.confirmed.emit(result)

    def _check_server_points(self, sale: RecordedSale) -> None:
        checkout = self.services.sales

        def shown(points: int | None) -> None:
            if points is None or self.receipt_view is None:
                return
            self._server_points_timer.stop()
            self.receipt_view.show_server_points(points, sale.points_earned)
            self.server_points_shown.emit(points)

        self.runner.run_db(lambda: checkout.server_points(sale.sale_id), shown, lambda _error: None)

    def _void_from_receipt(self, sale_id: int) -> None:
        self.accept()
        self.void_requested.emit(sale_id)

    def _confirm_failed(self, error: BaseException) -> None:
        self._busy = False
        self.confirm_button.setEnabled(True)
        self.confirm_button.setText("Confirm sale  (Ctrl+Enter)")
        if isinstance(error, SaleRefused):
            self._quote = error.quote
            self._show_errors(error.quote)
            self._show_preview(error.quote)
            self._focus_first_error(error.quote)
        else:
            log.error("checkout confirm failed: %s", error)
            self.general_error.show_message(f"The sale was not saved: {error}. Nothing was written; try again.")
        self.confirm_failed.emit(error)

    def _focus_first_error(self, quote: SaleQuote) -> None:
        fields: list[tuple[str, QWidget]] = [("receipt_no", self.receipt_edit), ("occurred_at", self.time_edit),
                                             ("staff", self.staff_combo), ("total", self.total_edit),
                                             ("total_tax", self.total_tax_edit),
                                             ("total_service_charge", self.total_service_edit)]
        for index, row in enumerate(self._draft_lines):
            fields += [(f"lines[{index}].{field}", edit) for field, edit in row.edits.items()]
        for index, row in enumerate(self._draft_payments):
            fields += [(f"payments[{index}].amount", row.amount), (f"payments[{index}].method", row.method)]
        for key, widget in fields:
            if key in quote.errors and widget.isVisible():
                widget.setFocus()
                return

    def reject(self) -> None:
        if self.pages.currentWidget() is self.form_page and not self._busy and self._has_input():
            answer = QMessageBox.question(self, "Discard this sale?",
                                          "Nothing has been saved. Close and discard what you typed?")
            if answer != QMessageBox.StandardButton.Yes:
                return
        if self._busy:
            return  # the save is in flight: its answer decides what the screen shows
        super().reject()

    def _has_input(self) -> bool:
        return bool(self.receipt_edit.text().strip() or any(not row.auto for row in self.payment_rows) or
                    self.redemption_rows or any(
            any(edit.text().strip() for field, edit in row.edits.items() if field != "quantity")
            for row in self.line_rows) or self.total_edit.text().strip())


def _where(key: str) -> str:
    """"lines[1].unit_price" → "Line 2, unit price"."""
    match = re.match(r"^(lines|payments|redemptions)\[(\d+)\](?:\.(\w+))?$", key)
    if match:
        noun = {"lines": "Line", "payments": "Payment", "redemptions": "Reward"}[match.group(1)]
        field = FIELD_NAMES.get(match.group(3) or "", match.group(3) or "")
        return f"{noun} {int(match.group(2)) + 1}" + (f", {field.lower()}" if field else "")
    return {"receipt_no": "Receipt no.", "occurred_at": "Time", "staff": "Served by", "lines": "Lines",
            "payments": "Payments", "total": "Bill total", "total_tax": "Tax",
            "total_service_charge": "Service charge"}.get(key, key.replace("_", " ").capitalize())


Choices = tuple[list[StaffInfo], list[tuple[str, str, int, str]], bool, tuple[Product, ...], dict[str, str], Money]


def _load_choices(services: CounterServices) -> Choices:
    staff = services.staff.list_staff()
    programme = services.programmes.programme
    rewards = [(r.code, r.name, r.points_cost, reward_value_text(r)) for r in programme.rewards]
    return (staff, rewards, programme.points_payment is not None, programme.products, programme.known_categories(),
            services.sales.usual_bill_ceiling())


_QUANTITY_PREFIX = re.compile(r"^\s*(\d{1,3})\s*[x×*]\s*(.+)$", re.IGNORECASE)


def find_product(products: tuple[Product, ...], typed: str) -> tuple[Product | None, int]:
    """The catalogue item `typed` names, and the quantity a "2x " prefix asks for: an exact SKU or name first,
    then the only item whose name or SKU starts with the text, then the only one containing it."""
    quantity = 1
    match = _QUANTITY_PREFIX.match(typed)
    if match:
        quantity, typed = int(match.group(1)), match.group(2)
    key = " ".join(typed.split()).casefold()
    if not key:
        return None, quantity
    for test in (lambda p: key in (p.sku.casefold(), p.name.casefold()),
                 lambda p: p.name.casefold().startswith(key) or p.sku.casefold().startswith(key),
                 lambda p: key in p.name.casefold() or key in p.sku.casefold()):
        found = [p for p in products if test(p)]
        if len(found) == 1:
            return found[0], quantity
        if found:
            return None, quantity
    return None, quantity
