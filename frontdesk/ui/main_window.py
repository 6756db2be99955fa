"""The counter's main window: one search box, the hits under it, the member on the right.

Keyboard first: the box has focus at start; typing searches as you go (off the GUI thread, stale answers dropped);
Up/Down move through the hits, Enter opens the selected or the only hit, Esc clears. A USB barcode scanner is a
keyboard that types a code and Enter very fast, so a scan takes exactly the same path as a receptionist typing.
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QStackedWidget,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from frontdesk.config import Settings
from frontdesk.search import SearchResult
from frontdesk.services.lookup import LookupService, MemberView
from frontdesk.ui.member_panel import MemberPanel
from frontdesk.ui.search_results import SearchResultDelegate, SearchResultsModel
from frontdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

TYPING_PAUSE_MS = 60  # long enough to skip keystrokes mid-word, short enough to feel instant


class MainWindow(QMainWindow):
    member_opened = Signal(int)  # a member is on screen (tests and the checkout listen)
    search_finished = Signal(object)  # SearchResult shown

    def __init__(self, settings: Settings, lookup: LookupService, runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.lookup = lookup
        self.runner = runner
        self._search_seq = 0
        self._shown_seq = 0
        self._open_when_ready = False
        self._last_result: SearchResult | None = None

        self.setWindowTitle("Front Desk")
        self.resize(1366, 768)
        self.setMinimumSize(1024, 640)

        central = QWidget()
        central.setObjectName("Background")
        self.setCentralWidget(central)
        layout = QHBoxLayout(central)
        layout.setContentsMargins(16, 16, 16, 8)
        layout.setSpacing(16)

        left = QVBoxLayout()
        left.setSpacing(8)
        self.search_box = QLineEdit()
        self.search_box.setObjectName("SearchBox")
        self.search_box.setPlaceholderText("Scan, or type phone · last 4 digits · email · member ID · name")
        self.search_box.setClearButtonEnabled(True)
        self.search_box.setAccessibleName("Member search")
        self.search_box.installEventFilter(self)
        left.addWidget(self.search_box)
        self.hint_label = QLabel("")
        self.hint_label.setObjectName("Hint")
        self.hint_label.setWordWrap(True)
        left.addWidget(self.hint_label)
        self.results_model = SearchResultsModel(self)
        self.results_view = QListView()
        self.results_view.setObjectName("ResultsList")
        self.results_view.setModel(self.results_model)
        self.results_view.setItemDelegate(SearchResultDelegate(self.results_view))
        self.results_view.setUniformItemSizes(True)
        self.results_view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.results_view.activated.connect(lambda index: self.open_member_row(index.row()))
        self.results_view.clicked.connect(lambda index: self.open_member_row(index.row()))
        left.addWidget(self.results_view, 1)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setFixedWidth(430)
        layout.addWidget(left_widget)

        self.stack = QStackedWidget()
        self.welcome = QLabel(
            "<h2>Who is at the counter?</h2>"
            "<p>Scan their QR code, or type their phone number (the last 4 digits will do), email, member ID or "
            "name.</p><p><b>Enter</b> opens the member · <b>↑ ↓</b> choose · <b>Esc</b> clears</p>")
        self.welcome.setObjectName("Welcome")
        self.welcome.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.welcome.setWordWrap(True)
        self.member_panel = MemberPanel(settings.zone, settings.currency)
        self.stack.addWidget(self.welcome)
        self.stack.addWidget(self.member_panel)
        layout.addWidget(self.stack, 1)

        self.setStatusBar(QStatusBar())
        self.counter_label = QLabel(f"Outlet {settings.outlet_code} · Counter {settings.counter_id}")
        self.statusBar().addWidget(self.counter_label)

        self._typing_timer = QTimer(self)
        self._typing_timer.setSingleShot(True)
        self._typing_timer.setInterval(TYPING_PAUSE_MS)
        self._typing_timer.timeout.connect(self._search_now)
        self.search_box.textEdited.connect(lambda _text: self._typing_timer.start())
        self.search_box.textChanged.connect(self._on_text_changed)
        self.search_box.returnPressed.connect(self._on_enter)

        QShortcut(QKeySequence("Ctrl+F"), self, activated=self.focus_search)
        QShortcut(QKeySequence("F3"), self, activated=self.focus_search)
        self.search_box.setFocus()

    # --- search ----------------------------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _on_text_changed(self, text: str) -> None:
        if not text:  # cleared by Esc, the clear button or code: show the welcome, drop pending answers
            self._search_seq += 1
            self._open_when_ready = False
            self.results_model.set_hits([])
            self.hint_label.setText("")

    def _search_now(self) -> None:
        self._typing_timer.stop()
        query = self.search_box.text()
        self._search_seq += 1
        seq = self._search_seq
        lookup = self.lookup
        self.runner.run_db(lambda: lookup.search(query), lambda result: self._show_result(seq, result),
                           self._search_failed)

    def _show_result(self, seq: int, result: SearchResult) -> None:
        if seq != self._search_seq:
            return  # an older answer arriving after a newer question: drop it
        self._shown_seq = seq
        self._last_result = result
        self.results_model.set_hits(result.hits)
        if result.hits:
            self.results_view.setCurrentIndex(self.results_model.index(0))
        hint = result.hint or ""
        if result.more:
            hint = "More members match: keep typing to narrow it down"
        elif len(result.hits) > 1 and all(h.match == "phone" for h in result.hits):
            hint = f"{len(result.hits)} members share this phone number: pick the right one"
        self.hint_label.setText(hint)
        self.search_finished.emit(result)
        if self._open_when_ready:
            self._open_when_ready = False
            self._open_best()

    def _search_failed(self, error: BaseException) -> None:
        log.error("search failed: %s", error)
        self.hint_label.setText("Search is not available right now; the database could not be read")

    def _on_enter(self) -> None:
        if self._typing_timer.isActive() or self._shown_seq != self._search_seq:
            # A scanner types faster than the typing pause: search now and open when the answer arrives.
            self._open_when_ready = True
            if self._typing_timer.isActive() or self._last_result is None or \
                    self._last_result.query != self.search_box.text().strip():
                self._search_now()
            return
        self._open_best()

    def _open_best(self) -> None:
        result = self._last_result
        if result is None or not result.hits:
            if self.search_box.text().strip():
                self.hint_label.setText(result.hint if result and result.hint else "No member found")
            return
        current = self.results_view.currentIndex().row()
        unique = result.unique
        if unique is not None and (current <= 0 or self.results_model.hit(current) == unique):
            self.open_member(unique.id)
        elif current >= 0:
            self.open_member_row(current)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.search_box and event.type() == QEvent.Type.KeyPress:
            key = event.key()  # type: ignore[attr-defined]
            if key in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                self._move_selection(1 if key == Qt.Key.Key_Down else -1)
                return True
            if key == Qt.Key.Key_Escape:
                self.clear()
                return True
        return super().eventFilter(watched, event)

    def _move_selection(self, step: int) -> None:
        rows = self.results_model.rowCount()
        if rows == 0:
            return
        current = self.results_view.currentIndex().row()
        row = max(0, min(rows - 1, (current if current >= 0 else -1) + step))
        self.results_view.setCurrentIndex(self.results_model.index(row))

    def clear(self) -> None:
        self.search_box.clear()
        self.stack.setCurrentWidget(self.welcome)
        self.search_box.setFocus()

    # --- member --------------------------------------------------------------------------------------------
    def open_member_row(self, row: int) -> None:
        hit = self.results_model.hit(row)
        if hit is not None:
            self.open_member(hit.id)

    def open_member(self, member_id: int, after: Callable[[MemberView], None] | None = None) -> None:
        lookup = self.lookup
        self.runner.run_db(lambda: lookup.member_view(member_id),
                           lambda view: self._show_member(view, after), self._member_failed)

    def _show_member(self, view: MemberView | None, after: Callable[[MemberView], None] | None) -> None:
        if view is None:
            self.hint_label.setText("That member is no longer in the local cache")
            return
        self.member_panel.show_member(view)
        self.stack.setCurrentWidget(self.member_panel)
        self.member_opened.emit(view.profile.id)
        if after:
            after(view)

    def _member_failed(self, error: BaseException) -> None:
        log.error("could not load member: %s", error)
        self.hint_label.setText("Could not open that member; the database could not be read")

    def refresh_member(self) -> None:
        if self.member_panel.member_id is not None and self.stack.currentWidget() is self.member_panel:
            self.open_member(self.member_panel.member_id)
