"""Sync in the window: a status-bar item, the sync panel, and the Qt adapter that runs the sync engine.

`SyncController` owns the engine (`sync.engine.SyncEngine`, Qt-free) and runs its loop on a thread of its own;
what the GUI asks of it (refresh a member, list entries, a manager's decision) runs on a small request thread. The
engine does every database read and write on the process's one database executor (the task runner's, handed to
the engine by `frontdesk.app.wiring`), so neither thread is a second database writer. Answers come back by
signal, so the GUI thread never touches the network or the database.

    controller = SyncController(settings, lambda: build_engine(settings))
    window.statusBar().addPermanentWidget(SyncStatusWidget(controller, approve=ask_manager_pin))
    controller.start()      # ... controller.stop() when the window closes

A manager's decisions on the sync panel: Retry, Send without the refused part (a refused points payment), Mark
applied (an adjustment whose answer was lost, checked on the server), Resolve member (a member the server refused
because another holds the phone: household link, another phone or email, or merge) and Discard. All are audited.

`approve(parent, action_text)` is how those get a manager: it returns the approving manager's staff id,
or None when cancelled. Without it the panel shows those buttons disabled ("needs a manager").
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from sync.status import SyncStatus

log = logging.getLogger(__name__)

Approve = Callable[[QWidget, str], "int | None"]

LEVEL_COLOURS = {"ok": "#2e7d32", "busy": "#2f6fde", "warning": "#b7791f", "error": "#c62828"}


class SyncController(QObject):
    """Runs the sync engine off the GUI thread and reports by signal."""

    statusChanged = Signal(object)  # SyncStatus
    entriesLoaded = Signal(object)  # list[sync.engine.EntryView]
    memberRefreshed = Signal(int, object)  # member id, sync.pull.MemberRefresh | None
    actionFinished = Signal(str)  # plain-language result of a manager's action
    actionFailed = Signal(str)
    candidatesLoaded = Signal(int, object)  # member id, list[(member id, label)] holding its phone or email

    def __init__(self, settings: Any, engine_factory: Callable[[], Any], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self._factory = engine_factory
        self._engine: Any = None
        self._ready = threading.Event()
        self._stop = threading.Event()
        self._loop: threading.Thread | None = None
        self._jobs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-requests")
        self.last_status: SyncStatus | None = None
        self.statusChanged.connect(self._remember)

    @property
    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(getattr(self.settings, "timezone", "Asia/Singapore"))
        except Exception:  # noqa: BLE001 - a bad zone name shows UTC rather than nothing
            return ZoneInfo("UTC")

    def _remember(self, status: SyncStatus) -> None:
        self.last_status = status

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._loop is not None:
            return
        self._stop.clear()
        self._loop = threading.Thread(target=self._run, name="sync-engine", daemon=True)
        self._loop.start()

    def _run(self) -> None:
        try:
            self._engine = self._factory()
        except Exception as error:  # noqa: BLE001 - reported to the user, the counter keeps working offline
            log.exception("the sync engine could not start")
            self._emit(self.actionFailed, f"Sync could not start: {error}")
            self._ready.set()
            return
        self._ready.set()
        try:
            self._engine.run_forever(self._stop, on_status=lambda status: self._emit(self.statusChanged, status))
        finally:
            try:
                self._engine.close()
            except Exception:  # noqa: BLE001
                log.exception("closing the sync engine failed")

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop (finishing the request in flight; nothing is lost, the outbox is in the database)."""
        self._stop.set()
        if self._engine is not None:
            self._engine.wake()
        if self._loop is not None:
            self._loop.join(timeout=timeout)
            self._loop = None
        self._jobs.shutdown(wait=False, cancel_futures=True)

    def _emit(self, signal: Any, *args: Any) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:  # the controller was deleted while the thread finished
            pass

    def _with_engine(self, job: Callable[[Any], None]) -> None:
        def run() -> None:
            if not self._ready.wait(timeout=30) or self._engine is None:
                self._emit(self.actionFailed, "Sync is not running.")
                return
            try:
                job(self._engine)
            except Exception as error:  # noqa: BLE001 - every failure is shown, never swallowed
                log.exception("sync request failed")
                self._emit(self.actionFailed, str(error))

        try:
            self._jobs.submit(run)
        except RuntimeError:  # shut down
            pass

    # --- requests from the GUI ------------------------------------------------------------------------------
    def wake(self) -> None:
        """Call after the checkout queued something: it goes out now instead of at the next timer tick."""
        if self._engine is not None:
            self._engine.wake()

    def refresh_member(self, member_id: int) -> None:
        self._with_engine(lambda engine: self._emit(self.memberRefreshed, member_id,
                                                    engine.refresh_member(member_id)))

    def load_entries(self) -> None:
        self._with_engine(lambda engine: self._emit(self.entriesLoaded, engine.entries()))

    def refresh_status(self) -> None:
        self._with_engine(lambda engine: self._emit(self.statusChanged, engine.status()))

    def retry(self, entry_id: int, staff_id: int | None, note: str = "") -> None:
        def job(engine: Any) -> None:
            engine.retry(entry_id, staff_id, note)
            self._emit(self.actionFinished, f"Entry #{entry_id} goes back in the queue.")
            self._emit(self.entriesLoaded, engine.entries())
            self._emit(self.statusChanged, engine.status())

        self._with_engine(job)

    def discard(self, entry_id: int, staff_id: int | None, note: str = "") -> None:
        self._decide(lambda engine: engine.discard(entry_id, staff_id, note),
                     f"Entry #{entry_id} was discarded; it will not be sent.")

    def send_without_refused_part(self, entry_id: int, staff_id: int | None, note: str = "") -> None:
        self._decide(lambda engine: engine.send_without_refused_part(entry_id, staff_id, note),
                     f"Entry #{entry_id} goes without the refused points payment; settle it with the customer.")

    def mark_applied(self, entry_id: int, staff_id: int | None, note: str = "") -> None:
        self._decide(lambda engine: engine.mark_applied(entry_id, staff_id, note),
                     f"Entry #{entry_id} is recorded as applied on the server.")

    def resolve_identity(self, member_id: int, action: str, staff_id: int | None, **details: Any) -> None:
        self._decide(lambda engine: engine.resolve_identity(member_id, action, staff_id, **details),
                     "The member is resolved; their waiting sales go now.")

    def load_candidates(self, member_id: int) -> None:
        self._with_engine(lambda engine: self._emit(self.candidatesLoaded, member_id,
                                                    engine.identity_candidates(member_id)))

    def _decide(self, action: Callable[[Any], None], done: str) -> None:
        def job(engine: Any) -> None:
            action(engine)
            self._emit(self.actionFinished, done)
            self._emit(self.entriesLoaded, engine.entries())
            self._emit(self.statusChanged, engine.status())

        self._with_engine(job)


class SyncStatusWidget(QToolButton):
    """"● Online · 3 queued · oldest 2 min · 1 needs attention" in the status bar; click for the sync panel."""

    def __init__(self, controller: SyncController, approve: Approve | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.approve = approve
        self.status: SyncStatus | None = None
        self.panel: SyncPanel | None = None
        self.setObjectName("SyncStatus")
        self.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.setAutoRaise(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the search box keeps the keyboard
        self.setText("● Sync starting…")
        self.setAccessibleName("Sync status")
        self.clicked.connect(self.open_panel)
        controller.statusChanged.connect(self.show_status)
        # The oldest entry ages while nothing else happens: recompute the text (no I/O) every 20 s.
        self._timer = QTimer(self)
        self._timer.setInterval(20_000)
        self._timer.timeout.connect(self._repaint_text)
        self._timer.start()

    def show_status(self, status: SyncStatus) -> None:
        self.status = status
        self._repaint_text()

    def _repaint_text(self) -> None:
        status = self.status
        if status is None:
            return
        colour = LEVEL_COLOURS.get(status.level, "#3e4c59")
        self.setText(f"● {status.summary(datetime.now(timezone.utc))}")
        self.setStyleSheet(f"QToolButton#SyncStatus {{ color: {colour}; font-weight: "
                           f"{'600' if status.level in ('warning', 'error') else '400'}; padding: 2px 8px; }}")
        tips = ["Click to see what is waiting to sync."]
        if status.auth_problem:
            tips.insert(0, f"The loyalty server refused the API key ({status.auth_problem}). Ask IT to check it.")
        elif status.connectivity == "offline":
            tips.insert(0, "The loyalty server cannot be reached. Sales are kept and sent when it is back.")
        elif status.connectivity == "not_configured":
            tips.insert(0, "No loyalty server is configured: sales are kept on this PC.")
        if status.last_error and not status.auth_problem:
            tips.append(f"Last problem: {status.last_error}")
        self.setToolTip("\n".join(tips))
        self.updateGeometry()

    def open_panel(self) -> None:
        if self.panel is None:
            self.panel = SyncPanel(self.controller, approve=self.approve, parent=self.window())
        self.panel.reload()
        self.panel.show()
        self.panel.raise_()
        self.panel.activateWindow()


class SyncPanel(QDialog):
    """What is waiting to sync and what needs a manager: Retry or Discard a parked entry (both audited)."""

    COLUMNS = ["#", "What", "Member", "Receipt", "Amount", "Queued", "Tries", "State"]

    def __init__(self, controller: SyncController, approve: Approve | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.approve = approve
        self.entries: list[Any] = []
        self.setWindowTitle("Sync")
        self.resize(900, 440)
        # The app style gives the primary button no disabled look; a manager-only button must look off when off.
        self.setStyleSheet("QPushButton:disabled { color: #9aa5b1; background: #f0f2f5; border-color: #e4e7eb; }")
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.summary = QLabel("Loading…")
        self.summary.setStyleSheet("font-size: 15px; font-weight: 600;")
        top.addWidget(self.summary, 1)
        self.sync_now = QPushButton("Sync now")
        self.sync_now.clicked.connect(self._sync_now)
        top.addWidget(self.sync_now)
        layout.addLayout(top)

        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(len(self.COLUMNS) - 1, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        layout.addWidget(self.table, 1)

        self.detail = QLabel("")
        self.detail.setWordWrap(True)
        self.detail.setObjectName("Muted")
        self.detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.detail)

        buttons = QHBoxLayout()
        self.message = QLabel("")
        self.message.setObjectName("Muted")
        buttons.addWidget(self.message, 1)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setObjectName("Primary")
        self.without_part_button = QPushButton("Send without the refused part")
        self.applied_button = QPushButton("Mark applied")
        self.resolve_button = QPushButton("Resolve member…")
        self.discard_button = QPushButton("Discard…")
        self.discard_button.setObjectName("Danger")
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        self.retry_button.clicked.connect(lambda: self._act("retry"))
        self.without_part_button.clicked.connect(lambda: self._act("without_part"))
        self.applied_button.clicked.connect(lambda: self._act("applied"))
        self.resolve_button.clicked.connect(self._resolve)
        self.discard_button.clicked.connect(lambda: self._act("discard"))
        self.manager_buttons = (self.retry_button, self.without_part_button, self.applied_button,
                                self.resolve_button, self.discard_button)
        for button in (*self.manager_buttons, close):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        if approve is None:
            for button in self.manager_buttons:
                button.setToolTip("Needs a manager: sign in as a manager to decide what happens to it.")

        controller.entriesLoaded.connect(self.show_entries)
        controller.statusChanged.connect(self.show_status)
        controller.actionFinished.connect(self.message.setText)
        controller.actionFailed.connect(lambda text: self.message.setText(f"Could not do that: {text}"))
        if controller.last_status is not None:
            self.show_status(controller.last_status)
        self._selection_changed()

    def reload(self) -> None:
        self.message.setText("")
        self.controller.load_entries()

    def _sync_now(self) -> None:
        self.controller.wake()
        self.message.setText("Sending now…")
        QTimer.singleShot(1500, self.reload)

    def show_status(self, status: SyncStatus) -> None:
        self.summary.setText(status.summary(datetime.now(timezone.utc)))
        if self.isVisible():
            self.controller.load_entries()

    def show_entries(self, entries: list[Any]) -> None:
        selected = self.selected()
        self.entries = list(entries)
        zone = self.controller.zone
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            amount = ""
            if entry.total_minor is not None:
                from frontdesk.domain.money import Money

                amount = Money.from_minor(entry.total_minor, entry.currency or "SGD").display()
            queued = entry.created_at.astimezone(zone).strftime("%d %b %H:%M")
            values = [str(entry.id), entry.kind_label, entry.member_name, entry.receipt_no or "", amount, queued,
                      str(entry.attempts), self._state_text(entry, zone)]
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column in (0, 4, 6):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if entry.status == "parked":
                    item.setForeground(QColor("#a61b1b"))
                self.table.setItem(row, column, item)
        if not self.entries:
            self.detail.setText("Nothing is waiting to be sent to the loyalty server.")
        if selected is not None:
            for row, entry in enumerate(self.entries):
                if entry.id == selected.id:
                    self.table.selectRow(row)
        self._selection_changed()

    @staticmethod
    def _state_text(entry: Any, zone: ZoneInfo) -> str:
        if entry.status == "parked":
            prefix = "Needs attention (in doubt)" if getattr(entry, "was_in_doubt", False) else "Needs attention"
            return f"{prefix}: {entry.last_error or 'refused by the server'}"
        reason = getattr(entry, "hold_reason", None)
        if entry.waiting_behind is not None or reason:
            where = f" (#{entry.waiting_behind})" if entry.waiting_behind is not None else ""
            return f"Waits{where}: {reason or 'same member, kept in order'}"
        if entry.status == "in_doubt":
            return "In doubt: the answer was lost; resending the same receipt settles it"
        if entry.next_attempt_at is not None and entry.next_attempt_at > datetime.now(timezone.utc):
            when = entry.next_attempt_at.astimezone(zone).strftime("%H:%M:%S")
            return f"Retrying at {when}" + (f" — {entry.last_error}" if entry.last_error else "")
        return "Queued"

    def selected(self) -> Any:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        if not rows or rows[0].row() >= len(self.entries):
            return None
        return self.entries[rows[0].row()]

    def _selection_changed(self) -> None:
        entry = self.selected()
        parked = entry is not None and entry.status == "parked"
        allowed = parked and self.approve is not None
        self.retry_button.setEnabled(allowed)
        self.discard_button.setEnabled(allowed)
        self.without_part_button.setEnabled(allowed and getattr(entry, "refused_part", None) == "points")
        self.applied_button.setEnabled(allowed and bool(getattr(entry, "was_in_doubt", False)))
        self.resolve_button.setEnabled(self.approve is not None and entry is not None
                                       and bool(getattr(entry, "member_conflict", False)))
        if entry is None:
            if self.entries:
                self.detail.setText("Select an entry to see its details. Entries that need attention can be "
                                    "retried (after fixing the cause) or discarded by a manager.")
            return
        lines = [f"#{entry.id} {entry.kind_label} for {entry.member_name}"
                 + (f", receipt {entry.receipt_no}" if entry.receipt_no else "") + "."]
        if entry.last_error:
            lines.append(f"Server said: {entry.last_error}")
        if getattr(entry, "hold_reason", None):
            lines.append(f"It {entry.hold_reason}; the member's other sales keep going.")
        if getattr(entry, "member_conflict", False):
            lines.append("The loyalty server refused this member: another member holds the phone or email. "
                         "Resolve member links them as a household, enrols with another phone or email, or "
                         "merges them. Nothing is credited to the other member until then.")
        if getattr(entry, "refused_part", None) == "points":
            lines.append("Send without the refused part posts the sale without the points payment; settle that "
                         "amount with the customer.")
        if getattr(entry, "was_in_doubt", False):
            lines.append("Its answer was lost and the server cannot say whether it was applied: check the "
                         "member's points on the server, then Mark applied, or Retry to send it again.")
        if parked:
            lines.append("Retry sends it again (fix the cause first). Discard drops it for good. Every decision "
                         "is recorded with the approving manager.")
        self.detail.setText("\n".join(lines))

    def _act(self, action: str) -> None:
        entry = self.selected()
        if entry is None or entry.status != "parked" or self.approve is None:
            return
        what = f"#{entry.id} ({entry.kind_label}, {entry.member_name})"
        text = {"retry": f"Retry sending {what}",
                "without_part": f"Send {what} without the refused points payment",
                "applied": f"Record {what} as applied on the server",
                "discard": f"Discard {what} — it will never be sent"}[action]
        staff_id = self.approve(self, text)
        if staff_id is None:
            self.message.setText("Cancelled.")
            return
        {"retry": self.controller.retry, "without_part": self.controller.send_without_refused_part,
         "applied": self.controller.mark_applied, "discard": self.controller.discard}[action](entry.id, staff_id)
        self.message.setText("Working…")

    def _resolve(self) -> None:
        entry = self.selected()
        if entry is None or not getattr(entry, "member_conflict", False) or self.approve is None:
            return
        dialog = IdentityDialog(self.controller, entry.member_id, entry.member_name, parent=self)
        if dialog.exec() != QDialog.DialogCode.Accepted or dialog.decision is None:
            return
        action, details = dialog.decision
        staff_id = self.approve(self, f"Resolve {entry.member_name}: {IdentityDialog.LABELS[action]}")
        if staff_id is None:
            self.message.setText("Cancelled.")
            return
        self.controller.resolve_identity(entry.member_id, action, staff_id, **details)
        self.message.setText("Working…")


class IdentityDialog(QDialog):
    """A manager's decision for a member the server refused because another member holds the phone or email."""

    LABELS = {"household": "link to the member who holds the phone, as a household",
              "reenrol": "enrol with another phone or email",
              "merge": "the same person: merge into that member"}

    def __init__(self, controller: SyncController, member_id: int, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Resolve {name}")
        self.member_id = member_id
        self.decision: tuple[str, dict[str, Any]] | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(f"The loyalty server refused {name}: another member holds the same phone or email. "
                       f"Their sales wait here until you decide.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.action = QComboBox()
        for key, label in self.LABELS.items():
            self.action.addItem(label, key)
        layout.addWidget(self.action)
        self.other = QComboBox()
        self.other.setPlaceholderText("Loading the members with that phone…")
        layout.addWidget(QLabel("Member who holds the phone or email"))
        layout.addWidget(self.other)
        self.phone = QLineEdit()
        self.phone.setPlaceholderText("Another mobile, e.g. +65 9123 4567")
        self.email = QLineEdit()
        self.email.setPlaceholderText("or another email")
        layout.addWidget(self.phone)
        layout.addWidget(self.email)
        self.error = QLabel("")
        self.error.setStyleSheet("color: #a61b1b;")
        layout.addWidget(self.error)
        row = QHBoxLayout()
        row.addStretch(1)
        cancel = QPushButton("Cancel")
        cancel.clicked.connect(self.reject)
        self.ok = QPushButton("Resolve")
        self.ok.setObjectName("Primary")
        self.ok.clicked.connect(self._accept)
        row.addWidget(cancel)
        row.addWidget(self.ok)
        layout.addLayout(row)
        self.action.currentIndexChanged.connect(self._action_changed)
        controller.candidatesLoaded.connect(self._candidates)
        controller.load_candidates(member_id)
        self._action_changed()

    def _candidates(self, member_id: int, candidates: list[tuple[int, str]]) -> None:
        if member_id != self.member_id:
            return
        self.other.clear()
        for other_id, label in candidates:
            self.other.addItem(label, other_id)
        if candidates:
            self.other.setCurrentIndex(0)
        else:
            self.other.setPlaceholderText("No member here holds that phone or email")

    def _action_changed(self) -> None:
        reenrol = self.action.currentData() == "reenrol"
        self.other.setEnabled(not reenrol)
        self.phone.setEnabled(reenrol)
        self.email.setEnabled(reenrol)

    def _accept(self) -> None:
        from frontdesk.domain import phone as phones

        action = str(self.action.currentData())
        if action == "reenrol":
            details: dict[str, Any] = {}
            if self.phone.text().strip():
                parsed = phones.normalise(self.phone.text(), "SG")
                if parsed is None:
                    self.error.setText("That phone number cannot be read")
                    return
                details["phone_e164"] = parsed.e164
            if self.email.text().strip():
                details["email"] = self.email.text().strip().lower()
            if not details:
                self.error.setText("Give another phone or email")
                return
        else:
            other = self.other.currentData()
            if other is None:
                self.error.setText("Choose the member who holds the phone or email")
                return
            details = {"other_member_id": int(other)}
        self.decision = (action, details)
        self.accept()
