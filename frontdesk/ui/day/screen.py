"""The Day window: a manager reviews a day, exports it, settles what blocks the close, and closes (or reopens) it.

Opened from the main window (F10). A manager sees the whole day; a receptionist sees their own shift (the sales they
served and the reversals of those) until a manager's PIN unlocks the rest ("Manager view…"). Pick any date (today by
default) and counter. Everything is read and written on the runner's DB worker; answers come back by callback, so
the GUI thread never touches the database.

Tabs: Transactions (the sortable, filterable table with the totals beside it; Enter or double-click opens the
receipt, from which a sale can be voided or refunded as at the counter), Charts (Qt Charts), Close the day (the
blockers with the action that resolves each, WESS-receipt reconciliation included, its warnings, the close and
reopen buttons, what changed after the close, the history). Exports: CSV (sales and lines) and the PDF day report
(an X report while open, Z once closed).
"""
from __future__ import annotations

import html
import logging
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCharts import QChartView
from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtGui import QKeySequence, QPainter, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDateEdit,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from frontdesk.reports.close import ACTION_WORDS, Blocker, DayActionRefused, DayState, describe_state
from frontdesk.reports.day import KIND_WORDS, PAYMENT_WORDS, SYNC_WORDS, DayScope
from frontdesk.reports.service import DayService, Receipt
from frontdesk.sales.adjustments import ADJUSTMENT_REASONS, AdjustmentRefused, AdjustmentResult
from frontdesk.staff.service import StaffInfo, StaffService
from frontdesk.ui.day.charts import day_charts
from frontdesk.ui.day.model import COLUMNS, STATUS_COLOURS, DayFilterModel, DayTableModel
from frontdesk.ui.manager_approval import ManagerApprovalDialog
from frontdesk.ui.sales.receipt_view import ReceiptView
from frontdesk.ui.tasks import TaskRunner
from frontdesk.ui.widgets.empty_state import EmptyState
from frontdesk.ui.widgets.forms import FieldError, card, dialog_footer

log = logging.getLogger(__name__)

STATE_STYLE = {"closed": "#Flag", "blocked": "#Warning", "ready": "#Muted"}
TENDER_COLUMN = COLUMNS.index("Tender")  # the longest text: it takes the width the other columns leave
MEMBER_COLUMN = COLUMNS.index("Member")  # gives way (elided, full name in its tooltip) when the window is narrow
MIN_TENDER_WIDTH = 90
CELL_PADDING = 12  # the item delegate's margins either side of a cell's text, with air (tested against its hint)
HEADER_PADDING = 16  # the style sheet's 6px either side of a header's text, with a little air
SORT_ARROW = 24  # the sorted column's arrow, at the header's right edge: the centred text clears it
TRANSPARENT = "background: transparent;"


class ReasonApprovalDialog(ManagerApprovalDialog):
    """The manager approval (manager, PIN, lockout) with a reason the audit log keeps."""

    def __init__(self, staff: StaffService, runner: TaskRunner, question: str, parent: QWidget | None = None, *,
                 reason_label: str = "Reason") -> None:
        super().__init__(staff, runner, question, parent)
        self.reason_edit = QLineEdit()
        self.reason_edit.setPlaceholderText(reason_label)
        self.reason_edit.setMaxLength(300)
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        layout.insertWidget(1, QLabel(reason_label))
        layout.insertWidget(2, self.reason_edit)
        self.reason_edit.setFocus()

    @property
    def reason(self) -> str:
        return " ".join(self.reason_edit.text().split())

    def _check(self) -> None:
        if len(self.reason) < 3:
            self.message.setText("Say why, in a few words (it goes in the audit log)")
            self.reason_edit.setFocus()
            return
        super()._check()


class ReceiptDialog(QDialog):
    void_requested = Signal(int)

    def __init__(self, receipt: Receipt, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Receipt {receipt.receipt_no}")
        self.resize(760, 600)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        title = {"sale": "Sale", "void": "Void", "refund": "Refund"}.get(receipt.kind, receipt.kind)
        who = f" · {receipt.member_name}" if receipt.member_name else ""
        self.view = ReceiptView(f"{title} {receipt.receipt_no}{who}", "", receipt.text,
                                sale_id=receipt.sale_id if receipt.reversible else None)
        self.view.headline.hide()
        self.view.done.connect(self.accept)
        self.view.void_requested.connect(self._void)
        layout.addWidget(self.view)

    def _void(self, sale_id: int) -> None:
        self.void_requested.emit(sale_id)
        self.accept()


class AdjustPointsDialog(QDialog):
    """Add or remove points for one member: points, reason, note, the approving manager and their PIN."""

    adjusted = Signal(object)  # AdjustmentResult

    def __init__(self, service: DayService, runner: TaskRunner, member_id: int, member_name: str,
                 signed_in: StaffInfo | None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.service, self.runner = service, runner
        self.member_id = member_id
        self.signed_in = signed_in
        self.result_value: AdjustmentResult | None = None
        self.setWindowTitle("Adjust points")
        self.setObjectName("Background")  # the Day window's background, not the platform's grey
        self.setMinimumSize(520, 400)  # room for a message under every field without squeezing the fields
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 14, 16, 14)
        heading = QLabel(f"Points for <b>{html.escape(member_name)}</b>")
        layout.addWidget(heading)
        form = QFormLayout()
        self.points_edit = QLineEdit()
        self.points_edit.setPlaceholderText("+200 to add, -50 to remove")
        self.points_edit.setMaxLength(12)
        self.reason_combo = QComboBox()
        for code, label in ADJUSTMENT_REASONS.items():
            self.reason_combo.addItem(label, code)
        self.note_edit = QLineEdit()
        self.note_edit.setPlaceholderText("Why (shown on the member's statement)")
        self.note_edit.setMaxLength(500)
        self.manager_combo = QComboBox()
        self.pin_edit = QLineEdit()
        self.pin_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.pin_edit.setMaxLength(8)
        self.errors: dict[str, FieldError] = {}
        for key, label, widget in (("points", "Points", self.points_edit), ("reason", "Reason", self.reason_combo),
                                   ("note", "Note", self.note_edit), ("manager", "Manager", self.manager_combo),
                                   ("pin", "PIN", self.pin_edit)):
            box = QVBoxLayout()
            box.setSpacing(2)
            box.addWidget(widget)
            self.errors[key] = FieldError()
            box.addWidget(self.errors[key])
            form.addRow(label, box)
        layout.addLayout(form)
        layout.addStretch(1)
        for key, edit in (("points", self.points_edit), ("note", self.note_edit), ("pin", self.pin_edit)):
            edit.textEdited.connect(lambda _text, k=key: self.errors[k].show_message(""))
        self.general_error, _cancel, self.apply_button = dialog_footer(self, layout, "Adjust points", self.apply)
        staff = service.staff
        runner.run_db(lambda: staff.list_staff(managers_only=True), self._managers,
                      lambda error: self.general_error.show_message(f"Could not load the managers: {error}"))
        self.points_edit.setFocus()

    def _managers(self, managers: list[StaffInfo]) -> None:
        self.manager_combo.clear()
        for person in managers:
            self.manager_combo.addItem(person.label, person.id)
        if self.signed_in is not None and self.signed_in.is_manager:
            self.manager_combo.setCurrentIndex(max(0, self.manager_combo.findData(self.signed_in.id)))

    def apply(self) -> None:
        for error in self.errors.values():
            error.show_message("")
        self.general_error.show_message("")
        self.apply_button.setEnabled(False)
        service, member_id = self.service, self.member_id
        points, reason, note = self.points_edit.text(), self.reason_combo.currentData(), self.note_edit.text()
        manager, pin = self.manager_combo.currentData(), self.pin_edit.text()
        requested_by = self.signed_in.id if self.signed_in else None
        self.runner.run_db(lambda: service.adjust_points(member_id, points, reason=reason, note=note,
                                                         manager_id=manager, pin=pin, requested_by=requested_by),
                           self._done, self._failed)

    def _done(self, result: AdjustmentResult) -> None:
        self.result_value = result
        self.adjusted.emit(result)
        self.accept()

    def _failed(self, error: BaseException) -> None:
        self.apply_button.setEnabled(True)
        if isinstance(error, AdjustmentRefused):
            for key, message in error.errors.items():
                target = self.errors.get(key)
                if target is not None:
                    target.show_message(message)
                else:
                    self.general_error.show_message(message)
            if "pin" in error.errors:
                self.pin_edit.clear()
            return
        self.general_error.show_message(f"Nothing was saved: {error}")


def totals_html(state: DayState) -> str:
    d = state.report.totals.to_dict()
    currency = d["scope"]["currency"]
    p = d["points"]

    def row(label: str, value: object, strong: bool = False, indent: bool = False) -> str:
        value_text = html.escape(str(value)).replace(" ", "&nbsp;")
        if strong:
            value_text = f"<b>{value_text}</b>"
        # &nbsp; between the words: a line never breaks in two, its label and figure stay side by side
        label_text = ("&nbsp;" * 4 if indent else "") + html.escape(label).replace(" ", "&nbsp;")
        return f"<tr><td nowrap>{label_text}</td><td align=right nowrap>{value_text}</td></tr>"

    parts = ["<table width=100% cellspacing=0 cellpadding=2>",
             f"<tr><td colspan=2><b>SALES ({html.escape(currency)})</b></td></tr>",
             row("Sales", d["sales"]["count"]), row("Gross", d["sales"]["gross"]),
             row("Voids", f"{d['voids']['count']} · {d['voids']['amount']}"),
             row("Refunds", f"{d['refunds']['count']} · {d['refunds']['amount']}"),
             row("Net", d["net"], strong=True), row("Tax", d["sales"]["tax"]),
             row("Service charge", d["sales"]["service_charge"]), row("Discounts", d["sales"]["discounts"]),
             "<tr><td colspan=2><b>TENDERS</b></td></tr>"]
    parts += [row(PAYMENT_WORDS.get(m, m), a) for m, a in d["by_payment_method"].items()] or [row("None", "")]
    parts += ["<tr><td colspan=2><b>POINTS</b></td></tr>", row("Issued", f"{p['issued']:,}"),
              row("confirmed by server", f"{p['issued_server']:,}", indent=True), row("Redeemed", f"{p['redeemed']:,}"),
              row("Clawed back", f"{p['reversed']['clawed_back']:,}"),
              row("Given back", f"{p['reversed']['restored']:,}"),
              row("Provisional", f"{p['provisional']['points']:,}"),
              row("Adjusted", f"+{p['adjusted']['added']:,} / −{p['adjusted']['removed']:,}"),
              row("Net change", f"{p['net']:+,}", strong=True)]
    if p["differences"]:
        parts.append(row("Server figure differs", f"{len(p['differences'])} sale(s)"))
    parts += [row("Members enrolled", d["members_enrolled"]), "</table>"]
    return "".join(parts)


def sync_html(state: DayState) -> str:
    """The day's sync health on one line under the table (beside the Status column it sums up), so the totals
    panel beside the table fits 1366×768 without a scroll bar."""
    sync = state.report.totals.to_dict()["sync"]
    counts = []
    for key in ("synced", "pending", "in_doubt", "rejected", "discarded"):
        if sync[key] or key == "synced":
            word = SYNC_WORDS[key]
            colour = STATUS_COLOURS.get(word, "#1f2933") if sync[key] else "#616e7c"
            counts.append(f"<span style='color:{colour}'><b>{sync[key]:,}</b> {html.escape(word)}</span>")
    text = "<b>Sync</b>&nbsp;&nbsp; " + " &nbsp;·&nbsp; ".join(counts)
    oldest = sync["oldest_unsynced"]
    if oldest:
        what = f" ({KIND_WORDS.get(oldest['kind'], oldest['kind']).lower()} {oldest['receipt_no']})" \
            if oldest["receipt_no"] else f" ({KIND_WORDS.get(oldest['kind'], oldest['kind']).lower()})"
        text += f" &nbsp;—&nbsp; oldest not settled: {html.escape(oldest['local_time'] + what)}"
    return text


class DayWindow(QDialog):
    loaded = Signal(object)  # DayState shown
    action_done = Signal(str)
    action_failed = Signal(str)
    void_requested = Signal(int)  # sale id: the main window opens its void/refund dialog

    def __init__(self, service: DayService, runner: TaskRunner, signed_in: StaffInfo | None,
                 parent: QWidget | None = None, *, day: date | None = None) -> None:
        super().__init__(parent)
        self.service = service
        self.runner = runner
        self.signed_in = signed_in
        self.manager_mode = bool(signed_in is not None and signed_in.is_manager)
        self.state: DayState | None = None
        self.receipt_dialog: ReceiptDialog | None = None
        self._seq = 0
        # Seams a test may replace: where an export goes, and how a manager approves (the real dialogs by default).
        self.choose_path: Callable[[str, str, str], str] = self._ask_path
        self.setWindowTitle("Front Desk — the day")
        self.resize(1366, 768)
        self.setObjectName("Background")
        self.setStyleSheet("QPushButton#Primary:disabled { background: #a9c1ee; border-color: #a9c1ee; }"
                           "QPushButton:disabled { color: #9aa5b1; }")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(16, 12, 16, 12)
        layout.setSpacing(8)

        top = QHBoxLayout()
        title = QLabel("The day")
        title.setObjectName("MemberName")
        top.addWidget(title)
        top.addSpacing(16)
        self.date_edit = QDateEdit()
        self.date_edit.setCalendarPopup(True)
        self.date_edit.setDisplayFormat("ddd d MMM yyyy")
        today = day or datetime.now(service.home.zone).date()
        self.date_edit.setDate(QDate(today.year, today.month, today.day))
        self.date_edit.setMaximumDate(QDate(today.year, today.month, today.day))  # no sales in the future
        self.date_edit.dateChanged.connect(lambda _d: self.reload())
        top.addWidget(self.date_edit)
        self.scope_combo = QComboBox()
        self.scope_combo.setMinimumWidth(260)
        home = service.home
        self.scope_combo.addItem(f"This counter ({home.outlet} · {home.counter})", (home.outlet, home.counter))
        self.scope_combo.addItem("All outlets and counters", ("", ""))
        self.scope_combo.currentIndexChanged.connect(lambda _i: self.reload())
        top.addWidget(self.scope_combo)
        self.refresh_button = QPushButton("Refresh  (F5)")
        self.refresh_button.clicked.connect(self.reload)
        top.addWidget(self.refresh_button)
        top.addStretch(1)
        self.mode_label = QLabel("")
        self.mode_label.setObjectName("Muted")
        top.addWidget(self.mode_label)
        self.manager_button = QPushButton("Manager view…")
        self.manager_button.clicked.connect(self.unlock_manager_view)
        top.addWidget(self.manager_button)
        self.state_label = QLabel("Loading…")
        self.state_label.setObjectName("Muted")
        top.addWidget(self.state_label)
        layout.addLayout(top)

        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, 1)
        self.tabs.addTab(self._transactions_tab(), "Transactions")
        self.charts_tab = QWidget()
        self.charts_grid = QGridLayout(self.charts_tab)
        for line in (0, 1):  # four charts of one size: without this the second row is squeezed to a strip
            self.charts_grid.setRowStretch(line, 1)
            self.charts_grid.setColumnStretch(line, 1)
        self.chart_views: list[QChartView] = []
        self.tabs.addTab(self.charts_tab, "Charts")
        self.tabs.addTab(self._close_tab(), "Close the day")
        self._close_tab_stale = True
        self._charts_stale = True
        self.tabs.currentChanged.connect(self._tab_changed)

        bottom = QHBoxLayout()
        self.adjust_button = QPushButton("Adjust points…")
        self.adjust_button.clicked.connect(lambda _checked=False: self.adjust_points())
        self.csv_button = QPushButton("Export CSV…")
        self.csv_button.clicked.connect(self.export_csv)
        self.pdf_button = QPushButton("Day report PDF…")
        self.pdf_button.clicked.connect(self.export_pdf)
        self.print_button = QPushButton("Print…")
        self.print_button.clicked.connect(self.print_report)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        close_window = QPushButton("Close window")
        close_window.clicked.connect(self.reject)
        for button in (self.adjust_button, self.csv_button, self.pdf_button, self.print_button):
            button.setAutoDefault(False)
            bottom.addWidget(button)
        bottom.addWidget(self.message, 1)
        close_window.setAutoDefault(False)
        bottom.addWidget(close_window)
        layout.addLayout(bottom)
        QShortcut(QKeySequence("F5"), self, activated=self.reload)
        QShortcut(QKeySequence("Ctrl+F"), self, activated=lambda: (self.tabs.setCurrentIndex(0),
                                                                   self.filter_edit.setFocus()))
        self.action_done.connect(self.message.setText)
        self.action_failed.connect(self.message.setText)
        self._apply_mode()
        self.table.setFocus()  # Enter opens the selected receipt; the date box would show its day selected
        runner.run_db(service.scopes, self._scopes_loaded)
        self.reload()

    # --- building -------------------------------------------------------------------------------------------------
    def _transactions_tab(self) -> QWidget:
        page = QWidget()
        row = QHBoxLayout(page)
        row.setContentsMargins(0, 8, 0, 0)
        left = QVBoxLayout()
        filters = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: receipt, member, staff, tender…  (Ctrl+F)")
        self.filter_edit.setClearButtonEnabled(True)
        filters.addWidget(self.filter_edit, 1)
        self.status_combo = QComboBox()
        self.status_combo.addItem("Every status", "")
        for status in ("pending", "synced", "in doubt", "rejected", "discarded", "voided", "refunded"):
            self.status_combo.addItem(status.capitalize(), status)
        filters.addWidget(self.status_combo)
        self.kind_combo = QComboBox()
        self.kind_combo.addItem("Every kind", "")
        for kind, label in (("sale", "Sales"), ("void", "Voids"), ("refund", "Refunds"),
                            ("enrolment", "Enrolments"), ("adjustment", "Point adjustments")):
            self.kind_combo.addItem(label, kind)
        filters.addWidget(self.kind_combo)
        self.count_label = QLabel("")
        self.count_label.setObjectName("Muted")
        filters.addWidget(self.count_label)
        left.addLayout(filters)
        self.model = DayTableModel(self.service.home.zone, self)
        self.proxy = DayFilterModel(self)
        self.proxy.setSourceModel(self.model)
        self.filter_edit.textChanged.connect(self._filter_changed)
        self.status_combo.currentIndexChanged.connect(
            lambda _i: (self.proxy.set_status(self.status_combo.currentData()), self._count()))
        self.kind_combo.currentIndexChanged.connect(
            lambda _i: (self.proxy.set_kind(self.kind_combo.currentData()), self._count()))
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(26)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(TENDER_COLUMN, QHeaderView.ResizeMode.Stretch)
        self._content_widths: dict[int, int] = {}
        header.sortIndicatorChanged.connect(self._fit_headers)
        header.setTextElideMode(Qt.TextElideMode.ElideRight)
        # Headers stay centred (a right-aligned one runs under the sort arrow) and regular: Qt's bold for the
        # selected row's sections would make every header wider than its column.
        header.setHighlightSections(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)  # the tender, when cut, has its tooltip
        self.table.doubleClicked.connect(lambda index: self.open_receipt_at(index.row()))
        enter = QShortcut(QKeySequence("Return"), self.table, activated=self.open_selected_receipt)
        enter.setContext(Qt.ShortcutContext.WidgetShortcut)
        enter2 = QShortcut(QKeySequence("Enter"), self.table, activated=self.open_selected_receipt)
        enter2.setContext(Qt.ShortcutContext.WidgetShortcut)
        left.addWidget(self.table, 1)
        self.empty_state = EmptyState(self.table)
        self.sync_label = QLabel("")
        self.sync_label.setTextFormat(Qt.TextFormat.RichText)
        self.sync_label.setWordWrap(True)
        self.sync_label.setContentsMargins(4, 2, 4, 0)
        left.addWidget(self.sync_label)
        row.addLayout(left, 1)
        frame, box = card("Totals")
        self.totals_label = QLabel("")
        self.totals_label.setTextFormat(Qt.TextFormat.RichText)
        self.totals_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.totals_label.setWordWrap(True)
        self.totals_label.setStyleSheet(TRANSPARENT)
        # The figures fit 1366×768 as they are; the scroll area is for a smaller window or a bigger font.
        self.totals_scroll = QScrollArea()
        self.totals_scroll.setWidgetResizable(True)
        self.totals_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.totals_scroll.setStyleSheet(f"QScrollArea {{ {TRANSPARENT} }}")
        self.totals_scroll.viewport().setAutoFillBackground(False)
        self.totals_scroll.setWidget(self.totals_label)
        box.addWidget(self.totals_scroll, 1)
        frame.setFixedWidth(284)  # its widest lines ("Server figure differs", "+150 / −40") side by side, with air
        row.addWidget(frame)
        return page

    def _close_tab(self) -> QWidget:
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 8, 0, 0)
        self.close_headline = QLabel("")
        # A sentence, often with the manager's reason in it: read as written, not shouted in capitals.
        self.close_headline.setStyleSheet("font-size: 14px; font-weight: 600; color: #323f4b; padding: 2px 4px;")
        self.close_headline.setWordWrap(True)
        layout.addWidget(self.close_headline)
        self.blockers_table = QTableWidget(0, 2)
        self.blockers_table.setHorizontalHeaderLabels(["Open item", "What resolves it"])
        blockers_header = self.blockers_table.horizontalHeader()
        blockers_header.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        # The buttons' column is set to the widest row of buttons (see _show_close); the description takes what
        # is left and is elided, with its tooltip, if a long server message does not fit.
        blockers_header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        blockers_header.setSectionResizeMode(1, QHeaderView.ResizeMode.Fixed)
        self.blockers_table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.blockers_table.setWordWrap(False)
        self.blockers_table.verticalHeader().setVisible(False)
        self.blockers_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.blockers_table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.blockers_table.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the buttons in it take the focus
        self.blockers_table.verticalHeader().setDefaultSectionSize(42)
        layout.addWidget(self.blockers_table, 1)
        frame, box = card()
        self.after_label = QLabel("")
        self.after_label.setWordWrap(True)
        self.after_label.setTextFormat(Qt.TextFormat.RichText)
        self.after_label.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.after_label.setStyleSheet(TRANSPARENT)
        self.after_scroll = QScrollArea()
        self.after_scroll.setWidgetResizable(True)
        self.after_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        self.after_scroll.setStyleSheet(f"QScrollArea {{ {TRANSPARENT} }}")
        self.after_scroll.viewport().setAutoFillBackground(False)
        self.after_scroll.setWidget(self.after_label)
        box.addWidget(self.after_scroll)
        self.after_frame = frame
        frame.setVisible(False)
        layout.addWidget(frame)
        buttons = QHBoxLayout()
        self.close_button = QPushButton("Close the day (Z)…")
        self.close_button.setObjectName("Primary")
        self.close_button.clicked.connect(self.close_day)
        self.override_button = QPushButton("Close anyway (override)…")
        self.override_button.setObjectName("Danger")
        self.override_button.clicked.connect(lambda: self.close_day(override=True))
        self.reopen_button = QPushButton("Reopen the day…")
        self.reopen_button.clicked.connect(self.reopen_day)
        for button in (self.close_button, self.override_button, self.reopen_button):
            button.setAutoDefault(False)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        return page

    # --- mode and scope -------------------------------------------------------------------------------------------
    def _apply_mode(self) -> None:
        manager = self.manager_mode
        who = self.signed_in.name if self.signed_in else "nobody"
        self.mode_label.setText("Manager view" if manager else f"{who}'s shift")
        self.manager_button.setVisible(not manager)
        for widget in (self.adjust_button, self.csv_button, self.pdf_button, self.print_button, self.close_button,
                       self.override_button, self.reopen_button, self.scope_combo):
            widget.setEnabled(manager)
        self.tabs.setTabEnabled(2, manager)

    def unlock_manager_view(self) -> None:
        dialog = ManagerApprovalDialog(self.service.staff, self.runner,
                                       "A manager's PIN shows the whole day and its close.", self)
        if dialog.exec() and dialog.approved_by is not None:
            self.manager_mode = True
            self._apply_mode()
            self.reload()

    def _scopes_loaded(self, scopes: list[tuple[str, str]]) -> None:
        for outlet, counter in scopes[1:]:
            self.scope_combo.addItem(f"{outlet} · {counter}", (outlet, counter))

    def scope(self) -> DayScope:
        qdate = self.date_edit.date()
        day = date(qdate.year(), qdate.month(), qdate.day())
        outlet, counter = self.scope_combo.currentData() or ("", "")
        staff_id = None if self.manager_mode or self.signed_in is None else self.signed_in.id
        if not self.manager_mode and self.signed_in is None:
            staff_id = -1  # nobody signed in: nothing to show
        return DayScope(day=day, outlet=outlet, counter=counter, staff_id=staff_id)

    # --- loading --------------------------------------------------------------------------------------------------
    def reload(self) -> None:
        self._seq += 1
        seq = self._seq
        scope = self.scope()
        service = self.service
        self.state_label.setText("Loading…")
        self.runner.run_db(lambda: service.state(scope), lambda state: self._show(seq, state), self._load_failed)

    def _load_failed(self, error: BaseException) -> None:
        log.error("could not load the day: %s", error)
        self.state_label.setText("The day could not be read from the database")

    def _show(self, seq: int, state: DayState) -> None:
        if seq != self._seq:
            return  # an older answer after a newer question
        self.state = state
        self.model.set_rows(state.report.rows)
        self._fit_columns()
        self._count()
        self.totals_label.setText(totals_html(state))
        self.sync_label.setText(sync_html(state))
        text = describe_state(state)
        name = "Flag" if state.closed else ("Warning" if state.blockers else "Muted")
        self.state_label.setText(text)
        self.state_label.setObjectName(name)
        self.state_label.style().unpolish(self.state_label)
        self.state_label.style().polish(self.state_label)
        self._charts_stale = True
        if self.tabs.currentIndex() == 1:
            self._show_charts(state)
        self._close_tab_stale = True
        if self.tabs.currentIndex() == 2:
            self._show_close(state)
        else:
            self._close_buttons(state)
        self.loaded.emit(state)

    def _fit_columns(self) -> None:
        """Each column as wide as its widest text or its header, so a name is never cut while there is room. The
        tender also stretches into what is left; in a window too narrow for it, it is elided (its tooltip has the
        split in full)."""
        metrics = self.table.fontMetrics()
        self._content_widths = {
            column: max((metrics.horizontalAdvance(text) for text in self.model.longest_texts(column)), default=0)
            + CELL_PADDING for column in range(self.model.columnCount())}
        self._fit_headers()

    def header_width(self, column: int) -> int:
        """What a header needs: its text, the style's padding, and room for the arrow on the sorted column only.
        (Qt's own size hint keeps an arrow's room on every header, which would leave the tender no width.)"""
        header = self.table.horizontalHeader()
        text = str(self.model.headerData(column, Qt.Orientation.Horizontal) or "")
        arrow = SORT_ARROW if header.sortIndicatorSection() == column else 0
        return header.fontMetrics().horizontalAdvance(text) + HEADER_PADDING + arrow

    def _fit_headers(self, *_sorted: object) -> None:
        for column, content in self._content_widths.items():
            if column != TENDER_COLUMN:  # it stretches into the rest (the test checks that is enough at 1366×768)
                self.table.setColumnWidth(column, max(content, self.header_width(column)))
        self._give_way()

    def _give_way(self) -> None:
        """In a window narrower than the columns (a taskbar, a smaller screen) the member column is elided rather
        than the table scrolling sideways."""
        header = self.table.horizontalHeader()
        fixed = sum(header.sectionSize(c) for c in range(header.count()) if c != TENDER_COLUMN)
        overflow = fixed + MIN_TENDER_WIDTH - self.table.viewport().width()
        if overflow > 0 and self.table.viewport().width() > 0:
            member = header.sectionSize(MEMBER_COLUMN)
            self.table.setColumnWidth(MEMBER_COLUMN, max(self.header_width(MEMBER_COLUMN), member - overflow))

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        if getattr(self, "_content_widths", None):
            self._fit_headers()

    def _tab_changed(self, index: int) -> None:
        # The close tab has a row of buttons per open item: built when it is looked at, not on every reload.
        if index == 2 and self.state is not None and self._close_tab_stale:
            self._show_close(self.state)
        if index == 1 and self.state is not None and self._charts_stale:
            self._show_charts(self.state)

    def _filter_changed(self, text: str) -> None:
        self.proxy.setFilterFixedString(text)
        self._count()

    def _count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count_label.setText(f"{shown} of {total}" if shown != total else f"{total} rows")
        if shown:
            self.empty_state.show_text("")
        elif total:
            self.empty_state.show_text("No rows match the filter.")
        elif self.state is not None:
            where = "at this counter" if self.scope_combo.currentIndex() == 0 else "at any outlet"
            self.empty_state.show_text(f"Nothing recorded {where} on {self.date_edit.date().toString('ddd d MMM yyyy')}."
                                       "\nSales, voids, refunds and enrolments appear here as they are made.")

    def _show_charts(self, state: DayState) -> None:
        self._charts_stale = False
        for view in self.chart_views:
            self.charts_grid.removeWidget(view)
            view.deleteLater()
        self.chart_views = []
        for index, chart in enumerate(day_charts(state.report.totals)):
            view = QChartView(chart)
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            self.charts_grid.addWidget(view, index // 2, index % 2)
            self.chart_views.append(view)

    def _close_buttons(self, state: DayState) -> None:
        closed = state.closed
        manager = self.manager_mode
        self.close_button.setEnabled(manager and not closed and not state.blockers)
        self.override_button.setEnabled(manager and not closed and bool(state.blockers))
        self.reopen_button.setEnabled(manager and closed)
        self.pdf_button.setText("Z report PDF…" if closed else "X report PDF…")

    def _show_close(self, state: DayState) -> None:
        self._close_tab_stale = False
        closed = state.closed
        self.close_headline.setText(describe_state(state))
        self.blockers_table.setRowCount(0)
        for blocker in state.blockers:
            row = self.blockers_table.rowCount()
            self.blockers_table.insertRow(row)
            item = QTableWidgetItem(blocker.text)
            item.setToolTip(blocker.text)
            self.blockers_table.setItem(row, 0, item)
            self.blockers_table.setCellWidget(row, 1, self._action_buttons(blocker))
        holders = [self.blockers_table.cellWidget(row, 1) for row in range(self.blockers_table.rowCount())]
        widest = max((holder.sizeHint().width() for holder in holders if holder is not None), default=0)
        self.blockers_table.setColumnWidth(1, max(widest, self.blockers_table.horizontalHeader().sectionSizeHint(1)))
        if not state.blockers:
            self.blockers_table.insertRow(0)
            self.blockers_table.setItem(0, 0, QTableWidgetItem(
                "Nothing open: every effect of the day has settled with the loyalty server."))
        parts: list[str] = []
        reconciliation = state.reconciliation
        if reconciliation is not None and (reconciliation.wess_receipts or reconciliation.items):
            parts.append(f"<b>WESS receipts by mail</b>: {reconciliation.wess_receipts} receipt(s) · "
                         f"{reconciliation.loyalty_sales} loyalty sale(s) · {reconciliation.synced} confirmed by "
                         "the server")
        if state.warnings:
            parts.append(f"<b>Warnings ({len(state.warnings)})</b> — they do not block the close.")
            parts += [f"• {html.escape(warning)}" for warning in state.warnings]
        changes = state.after_close()
        if closed:
            parts.append(f"<b>Changes since the close ({len(changes)})</b> — the snapshot taken at the close is "
                         "kept as it was; these are after-close adjustments.")
            parts += [f"• {html.escape(change.text)}" for change in changes] or ["• none"]
        if state.history:
            parts.append("<b>History</b>")
            zone = state.report.home.zone
            for entry in state.history:
                line = f"• closed {entry['closed_at'].astimezone(zone):%d %b %H:%M}"
                if entry["override_reason"]:
                    line += f" (override: {html.escape(entry['override_reason'])})"
                if entry["reopened_at"] is not None:
                    line += (f", reopened {entry['reopened_at'].astimezone(zone):%d %b %H:%M}: "
                             f"{html.escape(entry['reopen_reason'] or '')}")
                parts.append(line)
        self.after_label.setText("<br>".join(parts))
        self.after_frame.setVisible(bool(parts))
        if parts:
            # As tall as its lines (the open items keep the rest of the tab), scrolling past a third of the window.
            width = max(200, self.tabs.width() - 48)
            self.after_scroll.setFixedHeight(min(self.after_label.heightForWidth(width) + 4, self.height() // 3))
        self._close_buttons(state)

    def _action_buttons(self, blocker: Blocker) -> QWidget:
        holder = QWidget()
        row = QHBoxLayout(holder)
        row.setContentsMargins(2, 2, 2, 2)
        row.setSpacing(6)
        for action in blocker.actions:
            button = QPushButton(ACTION_WORDS[action])
            button.setAutoDefault(False)
            button.setObjectName("Danger" if action == "discard" else "")
            button.setToolTip(f"{ACTION_WORDS[action]}: {blocker.text}")
            button.clicked.connect(lambda _checked=False, a=action, b=blocker: self.resolve(b, a))
            button.ensurePolished()  # the style sheet's padding counts in the width the column is given
            button.setMinimumWidth(button.sizeHint().width())
            row.addWidget(button)
        row.addStretch(1)
        return holder

    # --- receipts -------------------------------------------------------------------------------------------------
    def open_selected_receipt(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_receipt_at(index.row())

    def open_receipt_at(self, proxy_row: int) -> None:
        source = self.proxy.mapToSource(self.proxy.index(proxy_row, 0))
        row = self.model.row_at(source.row())
        if row is None or row.sale_id is None:
            self.message.setText("Enrolments and point adjustments have no receipt")
            return
        service, sale_id = self.service, row.sale_id
        self.runner.run_db(lambda: service.receipt(sale_id), self._show_receipt)

    def _show_receipt(self, receipt: Receipt | None) -> None:
        if receipt is None:
            self.message.setText("That sale is no longer in this counter's records")
            return
        dialog = ReceiptDialog(receipt, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.void_requested.connect(self.void_requested.emit)
        self.receipt_dialog = dialog
        dialog.open()

    # --- exports --------------------------------------------------------------------------------------------------
    def _ask_path(self, title: str, suggested: str, pattern: str) -> str:
        path, _ = QFileDialog.getSaveFileName(self, title, str(Path.home() / suggested), pattern)
        return path

    def export_csv(self) -> None:
        if self.state is None:
            return
        scope = self.state.report.scope
        path = self.choose_path("Export the day as CSV", f"frontdesk-day-{scope.day.isoformat()}.csv",
                                "CSV files (*.csv)")
        if not path:
            return
        service = self.service
        self.runner.run_db(lambda: service.export_csv(scope, Path(path)),
                           lambda paths: self.action_done.emit(f"Saved {paths[0].name} and {paths[1].name}"),
                           lambda error: self.action_failed.emit(f"The CSV could not be written: {error}"))

    def export_pdf(self) -> None:
        if self.state is None:
            return
        scope = self.state.report.scope
        kind = "z" if self.state.closed else "x"
        path = self.choose_path("Save the day report", f"frontdesk-day-{scope.day.isoformat()}-{kind}.pdf",
                                "PDF files (*.pdf)")
        if not path:
            return
        service = self.service
        # Fresh figures from the DB worker; the PDF is painted here (Qt's painter and charts belong to the GUI
        # thread), which takes well under a second.
        self.runner.run_db(lambda: service.state(scope), lambda state: self._write_pdf(state, Path(path)),
                           lambda error: self.action_failed.emit(f"The day could not be read: {error}"))

    def _write_pdf(self, state: DayState, path: Path) -> None:
        from frontdesk.ui.day.pdf import write_day_pdf

        try:
            write_day_pdf(state, path)
        except OSError as error:
            self.action_failed.emit(f"The PDF could not be written: {error}")
            return
        self.action_done.emit(f"Saved {path.name}")

    def print_report(self) -> None:
        """The X (or Z) report on paper: the same two pages as the PDF, through the system's print dialog."""
        if self.state is None:
            return
        from PySide6.QtPrintSupport import QPrintDialog, QPrinter

        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        dialog = QPrintDialog(printer, self)
        dialog.setWindowTitle("Print the day report")
        if dialog.exec() != QDialog.DialogCode.Accepted:
            return
        scope, service = self.state.report.scope, self.service
        self.runner.run_db(lambda: service.state(scope), lambda state: self._print(state, printer),
                           lambda error: self.action_failed.emit(f"The day could not be read: {error}"))

    def _print(self, state: DayState, printer: Any) -> None:
        from frontdesk.ui.day.pdf import paint_day_report

        paint_day_report(state, printer)
        self.action_done.emit("Sent to the printer")

    # --- decisions ------------------------------------------------------------------------------------------------
    def _approve(self, question: str, reason_label: str | None) -> tuple[int, str] | None:
        if reason_label is None:
            plain = ManagerApprovalDialog(self.service.staff, self.runner, question, self)
            return (plain.approved_by, "") if plain.exec() and plain.approved_by is not None else None
        dialog = ReasonApprovalDialog(self.service.staff, self.runner, question, self, reason_label=reason_label)
        if dialog.exec() and dialog.approved_by is not None:
            return dialog.approved_by, dialog.reason
        return None

    def _run(self, job: Callable[[], Any], done_text: str) -> None:
        def failed(error: BaseException) -> None:
            if isinstance(error, DayActionRefused):
                self.action_failed.emit(" ".join(error.errors.values()))
            else:
                self.action_failed.emit(f"Nothing was changed: {error}")
            self.reload()

        self.runner.run_db(job, lambda _result: (self.action_done.emit(done_text), self.reload()), failed)

    def close_day(self, override: bool = False) -> None:
        if self.state is None:
            return
        scope = self.state.report.scope
        if override:
            approval = self._approve(f"Close {scope.label()} although {len(self.state.blockers)} item(s) are still "
                                     "open? The override and the open items are kept in the audit log.",
                                     "Why close now (e.g. server down; IT to follow up)")
        else:
            approval = self._approve(f"Close {scope.label()}? Its totals are kept as they are now.", None)
        if approval is None:
            return
        manager, reason = approval
        service = self.service
        self._run(lambda: service.close(scope, manager, reason or None), "The day is closed")

    def reopen_day(self) -> None:
        if self.state is None:
            return
        scope = self.state.report.scope
        approval = self._approve(f"Reopen {scope.label()}? The close stays in the history.", "Why reopen")
        if approval is None:
            return
        manager, reason = approval
        service = self.service
        self._run(lambda: service.reopen(scope, manager, reason), "The day is open again")

    def resolve(self, blocker: Blocker, action: str) -> None:
        if action == "sync_now":
            self.sync_now_requested()
            return
        if action == "open_receipt" and blocker.sale_id is not None:
            service, sale_id = self.service, blocker.sale_id
            self.runner.run_db(lambda: service.receipt(sale_id), self._show_receipt)
            return
        if action == "open_invoice_review":
            if self.open_invoice_review is None:
                self.action_failed.emit("Invoice review is not available in this window: open it from the counter")
                return
            self.open_invoice_review(self)
            return
        if blocker.outbox_id is None:
            self.action_failed.emit("This item has no sync entry to act on")
            return
        label = ACTION_WORDS[action]
        reason_label = None if action == "retry" else "Reason (kept in the audit log)"
        approval = self._approve(f"{label}: {blocker.text}", reason_label)
        if approval is None:
            return
        manager, reason = approval
        service, entry = self.service, blocker.outbox_id
        self._run(lambda: service.resolve(action, entry, manager, reason), f"{label}: done")

    sync_now: Callable[[], None] | None = None  # the main window's "wake the sync engine", when it has one
    # The main window's invoice review, opened over this window (the day reloads when it closes).
    open_invoice_review: Callable[[QWidget], None] | None = None

    def sync_now_requested(self) -> None:
        if self.sync_now is None:
            self.action_failed.emit("Sync is not running in this window: start the counter with its loyalty server")
            return
        self.sync_now()
        self.action_done.emit("Sync started: the day refreshes in a moment (F5)")

    # --- point adjustments ----------------------------------------------------------------------------------------
    def adjust_points(self, member_id: int | None = None, member_name: str = "") -> None:
        if member_id is None:
            index = self.table.currentIndex()
            row = self.model.row_at(self.proxy.mapToSource(index).row()) if index.isValid() else None
            if row is None or row.member_id is None:
                self.message.setText("Select a row of the member first (or adjust from the member's panel)")
                return
            member_id, member_name = row.member_id, row.member_name
        dialog = AdjustPointsDialog(self.service, self.runner, member_id, member_name, self.signed_in, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.adjusted.connect(lambda result: (self.action_done.emit(
            f"{result.points:+,} pts for {member_name}: queued for the loyalty server"), self.reload()))
        self.adjust_dialog = dialog
        dialog.open()
