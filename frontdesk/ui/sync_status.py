"""Sync in the window: a status-bar item, the sync panel, and the Qt adapter that runs the sync engine.

`SyncController` owns the engine (`sync.engine.SyncEngine`, Qt-free) and runs it on its own thread; everything the
GUI asks of it (refresh a member, list entries, retry, discard) runs on a second small worker thread. Answers come
back by signal, so the GUI thread never touches the network or the database.

    controller = SyncController(settings, lambda: build_engine(settings))
    window.statusBar().addPermanentWidget(SyncStatusWidget(controller, approve=ask_manager_pin))
    controller.start()      # ... controller.stop() when the window closes

`approve(parent, action_text)` is how Retry and Discard get a manager: it returns the approving manager's staff id,
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
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from frontdesk.ui.widgets.forms import DIALOG_STYLE
from sync.status import SyncStatus

log = logging.getLogger(__name__)

Approve = Callable[[QWidget, str], "int | None"]

LEVEL_COLOURS = {"ok": "#2e7d32", "busy": "#2f6fde", "warning": "#b7791f", "error": "#c62828"}


class SyncController(QObject):
    """Runs the sync engine off the GUI thread and reports by signal."""

    statusChanged = Signal(object)  # SyncStatus
    entriesLoaded = Signal(object)  # list[sync.engine.EntryView]
    memberRefreshed = Signal(int, object)  # member id, sync.pull.MemberRefresh | None
    actionFinished = Signal(str)  # plain-language result of retry/discard
    actionFailed = Signal(str)

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
        def job(engine: Any) -> None:
            engine.discard(entry_id, staff_id, note)
            self._emit(self.actionFinished, f"Entry #{entry_id} was discarded; it will not be sent.")
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
        tips = ["Click (or press F6) to see what is waiting to sync."]
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
        self.setStyleSheet(DIALOG_STYLE + "QPushButton:disabled { color: #9aa5b1; background: #f0f2f5; "
                           "border-color: #e4e7eb; }")
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
        self.discard_button = QPushButton("Discard…")
        self.discard_button.setObjectName("Danger")
        close = QPushButton("Close")
        close.clicked.connect(self.close)
        self.retry_button.clicked.connect(lambda: self._act("retry"))
        self.discard_button.clicked.connect(lambda: self._act("discard"))
        for button in (self.retry_button, self.discard_button, close):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        if approve is None:
            for button in (self.retry_button, self.discard_button):
                button.setToolTip("Needs a manager: sign in as a manager to retry or discard.")

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
            return f"Needs attention: {entry.last_error or 'refused by the server'}"
        if entry.waiting_behind is not None:
            return f"Waits for #{entry.waiting_behind} (same member, kept in order)"
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
        if entry is None:
            if self.entries:
                self.detail.setText("Select an entry to see its details. Entries that need attention can be "
                                    "retried (after fixing the cause) or discarded by a manager.")
            return
        lines = [f"#{entry.id} {entry.kind_label} for {entry.member_name}"
                 + (f", receipt {entry.receipt_no}" if entry.receipt_no else "") + "."]
        if entry.last_error:
            lines.append(f"Server said: {entry.last_error}")
        if parked:
            lines.append("Retry sends it again (fix the cause first). Discard drops it for good: the sale stays "
                         "on this PC as rejected. Both are recorded with the approving manager.")
        self.detail.setText("\n".join(lines))

    def _act(self, action: str) -> None:
        entry = self.selected()
        if entry is None or entry.status != "parked" or self.approve is None:
            return
        text = (f"Retry sending #{entry.id} ({entry.kind_label}, {entry.member_name})" if action == "retry" else
                f"Discard #{entry.id} ({entry.kind_label}, {entry.member_name}) — it will never be sent")
        staff_id = self.approve(self, text)
        if staff_id is None:
            self.message.setText("Cancelled.")
            return
        if action == "retry":
            self.controller.retry(entry.id, staff_id)
        else:
            self.controller.discard(entry.id, staff_id)
        self.message.setText("Working…")
