"""The counter's main window: one search box, the hits under it, the member on the right.

Keyboard first: the box has focus at start; typing searches as you go (off the GUI thread, stale answers dropped);
Up/Down move through the hits, Enter opens the selected or the only hit, Esc clears. A USB barcode scanner is a
keyboard that types a code and Enter very fast, so a scan takes exactly the same path as a receptionist typing.

The member on screen is always the member searched for: any edit of the search box, and a refused (forged) card,
clear the panel, so F2 can never sell to the previous person. Every dialog hands the keyboard back to the search
box when it closes, so the next typed key or USB scan lands there.

Counter actions (when the window has its counter services): F2 new sale for the member on screen, Ctrl+N enrol a
new member, F9 void or refund a sale (or double-click a recent visit), F6 the sync panel, F10 the day
(frontdesk.ui.day), F7 receipts waiting and Ctrl+Shift+R invoice review (frontdesk.ui.invoices), Ctrl+L lock. Each
needs someone signed in; the sign-in panel covers the whole window, so a locked counter shows no member data.

The window opens before its services: the app shows it at once (Qt and these widgets only), opens the database on
the task runner's worker and hands the lookup and counter services over with `attach_services`, which also builds
the member panel and the scanner (nothing to show before). Until then the status bar says the cache is opening;
the search box already takes typing, and what is in it when the services arrive is searched then (Enter pressed
meanwhile opens the answer, as a fast scanner's Enter does).
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QMainWindow,
    QPushButton,
    QStackedWidget,
    QStatusBar,
    QVBoxLayout,
    QWidget,
)

from frontdesk.config import Settings
from frontdesk.ui.search_results import SearchResultDelegate, SearchResultsModel
from frontdesk.ui.tasks import TaskRunner
from frontdesk.ui.widgets.screen import fit_to_screen

if TYPE_CHECKING:  # the services (SQLAlchemy and all) are imported on the database worker, after the first paint
    from frontdesk.counter import CounterServices
    from frontdesk.members.lookup import LookupService, MemberView
    from frontdesk.search import SearchResult
    from frontdesk.staff.service import StaffInfo
    from frontdesk.ui.member_panel import MemberPanel
    from frontdesk.ui.scanner_view import ScannerPanel

log = logging.getLogger(__name__)

TYPING_PAUSE_MS = 60  # long enough to skip keystrokes mid-word, short enough to feel instant
OPENING_TEXT = "Opening the member cache…"


class MainWindow(QMainWindow):
    member_opened = Signal(int)  # a member is on screen (tests and the checkout listen)
    search_finished = Signal(object)  # SearchResult shown
    staff_changed = Signal(object)  # StaffInfo signed in, or None when locked
    dialog_opened = Signal(object)  # a counter dialog (checkout, enrolment, void) is on screen
    services_ready = Signal()  # attach_services() ran: searches and counter actions work from now on
    # Built by attach_services: nothing can be scanned or shown before the services are there.
    member_panel: MemberPanel
    scanner: ScannerPanel

    def __init__(self, settings: Settings, lookup: LookupService | None, runner: TaskRunner,
                 parent: QWidget | None = None, *, counter: CounterServices | None = None) -> None:
        """`lookup` None opens the window in its "opening" state; `attach_services` completes it."""
        super().__init__(parent)
        self.settings = settings
        self.lookup = lookup
        self.runner = runner
        self.counter: CounterServices | None = None
        self.staff: StaffInfo | None = None
        self.current_view: MemberView | None = None
        self.checkout_dialog = None
        self.enrol_dialog = None
        self.void_dialog = None
        self._after_sign_in: Callable[[], None] | None = None
        self._search_seq = 0
        self._shown_seq = 0
        self._open_when_ready = False
        self._last_result: SearchResult | None = None
        self._search_waiting = False  # asked for before the services arrived: runs when they do

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
        self.search_box.setPlaceholderText("Scan · phone · email · ID · name")
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
        self._left_layout = left
        # The list's empty state says what to do, rather than showing a blank box.
        self.results_empty = QLabel(self.results_view.viewport())
        self.results_empty.setObjectName("Muted")
        self.results_empty.setWordWrap(True)
        self.results_empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_layout = QVBoxLayout(self.results_view.viewport())
        empty_layout.addWidget(self.results_empty)
        self._show_empty_state("")
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
        self.stack.addWidget(self.welcome)
        layout.addWidget(self.stack, 1)

        self.setStatusBar(QStatusBar())
        self.counter_label = QLabel(f"Outlet {settings.outlet_code} · Counter {settings.counter_id}")
        self.statusBar().addWidget(self.counter_label)
        self.opening_label: QLabel | None = QLabel(OPENING_TEXT)
        self.opening_label.setObjectName("Muted")
        self.statusBar().addWidget(self.opening_label)

        self._typing_timer = QTimer(self)
        self._typing_timer.setSingleShot(True)
        self._typing_timer.setInterval(TYPING_PAUSE_MS)
        self._typing_timer.timeout.connect(self._search_now)
        self.search_box.textEdited.connect(self._on_text_edited)
        self.search_box.textChanged.connect(self._on_text_changed)
        self.search_box.returnPressed.connect(self._on_enter)

        QShortcut(QKeySequence("Ctrl+F"), self, activated=self.focus_search)
        QShortcut(QKeySequence("F3"), self, activated=self.focus_search)
        self.sign_in = None
        if lookup is not None:
            self.attach_services(lookup, counter)
        self.search_box.setFocus()

    # --- opening -----------------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        """Whether the services are attached (searches run, counter actions work)."""
        return self.lookup is not None

    def attach_services(self, lookup: LookupService, counter: CounterServices | None = None) -> None:
        """Complete the window with its services (on the GUI thread, once); a search typed meanwhile runs now."""
        assert self.lookup is None, "the services are attached once"
        from frontdesk.scan.codes import ScanCodeRules
        from frontdesk.ui.member_panel import MemberPanel
        from frontdesk.ui.scanner_view import ScannerPanel

        self.lookup = lookup
        self.counter = counter
        self.member_panel = MemberPanel(self.settings.zone, self.settings.currency)
        self.stack.addWidget(self.member_panel)
        self.scanner = ScannerPanel(
            ScanCodeRules(card_key=self.settings.member_card_key or None, phone_region=self.settings.phone_region),
            sound=self.settings.scan_sound, preview_visible=False)
        self.scanner.code_scanned.connect(self.open_scanned)
        self._left_layout.addWidget(self.scanner)
        if counter is not None:
            self.enrol_button = QPushButton("Enrol new member  (Ctrl+N)")
            self.enrol_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            self.enrol_button.clicked.connect(self.open_enrolment)
            self._left_layout.insertWidget(self._left_layout.indexOf(self.results_view) + 1, self.enrol_button)
            self._install_counter(counter)
        if self.opening_label is not None:
            self.statusBar().removeWidget(self.opening_label)
            self.opening_label.deleteLater()
            self.opening_label = None
        if self._search_waiting:
            self._search_waiting = False
            self._set_hint("")
            if self.search_box.text():
                self._search_now()
        self.services_ready.emit()

    def opening_status(self, text: str) -> None:
        """What the opening is doing, while it takes long (a schema upgrade of a large cache)."""
        if self.opening_label is not None:
            self.opening_label.setText(text)

    def opening_failed(self, text: str) -> None:
        """The services will not arrive (the app says why in a dialog and closes): say so where it said "opening"."""
        if self.opening_label is not None:
            self.opening_label.setText(text)
        self._search_waiting = False
        self._set_hint("")

    # --- search ----------------------------------------------------------------------------------------------
    def focus_search(self) -> None:
        self.search_box.setFocus()
        self.search_box.selectAll()

    def _on_text_edited(self, _text: str) -> None:
        self._typing_timer.start()
        self.close_member()

    def close_member(self) -> None:
        """Take the member off screen (and with them F2): the search no longer says who is at the counter."""
        self.current_view = None
        if self.stack.currentWidget() is not self.welcome:
            self.stack.setCurrentWidget(self.welcome)
        if self.ready:
            self.member_panel.new_sale_button.setEnabled(False)

    def _show_empty_state(self, query: str, result: SearchResult | None = None) -> None:
        if self.results_model.rowCount():
            self.results_empty.hide()
            return
        if not query.strip():
            text = "Matches appear here as you type: the last 4 digits of a phone, a name, an email or a member ID"
        elif result is not None and result.kind not in ("forged", "voucher", "invalid"):
            enrol = " · Ctrl+N enrols a new member" if self.counter is not None else ""
            text = f"Nobody matches “{query.strip()[:40]}”{enrol}"
        else:
            text = ""
        self.results_empty.setText(text)
        self.results_empty.setVisible(bool(text))

    def _set_hint(self, text: str, *, error: bool = False) -> None:
        self.hint_label.setText(text)
        if self.hint_label.property("error") != error:
            self.hint_label.setProperty("error", error)
            self.hint_label.setStyleSheet("color: #c62828; font-weight: 600;" if error else "")

    def _on_text_changed(self, text: str) -> None:
        if not text:  # cleared by Esc, the clear button or code: show the welcome, drop pending answers
            self._search_seq += 1
            self._open_when_ready = False
            self._search_waiting = False
            self.results_model.set_hits([])
            self._set_hint("")
            self._show_empty_state("")

    def _search_now(self) -> None:
        self._typing_timer.stop()
        lookup = self.lookup
        if lookup is None:
            # Kept in the box, not lost: searched the moment the member cache is open (attach_services).
            self._search_waiting = True
            self._set_hint("The member cache is still opening: your search runs as soon as it is ready")
            return
        query = self.search_box.text()
        self._search_seq += 1
        seq = self._search_seq
        self.runner.run_db(lambda: lookup.search(query), lambda result: self._show_result(seq, result),
                           self._search_failed)

    def _show_result(self, seq: int, result: SearchResult) -> None:
        if seq != self._search_seq:
            return  # an older answer arriving after a newer question: drop it
        self._shown_seq = seq
        self._last_result = result
        self.results_model.set_hits(result.hits)
        self._show_empty_state(result.query, result)
        if result.hits:
            self.results_view.setCurrentIndex(self.results_model.index(0))
        hint = result.hint or ""
        if not result.hits and hint == "No member found":
            hint = ""  # the list's empty state says it, with what to do next
        if result.kind == "forged":
            self.search_box.clear()  # the token means nothing to read; the next scan starts clean
            self.close_member()
            self._set_hint(f"⚠ {hint}", error=True)
            self.search_finished.emit(result)
            self._open_when_ready = False
            return
        if result.more:
            hint = "More members match: keep typing to narrow it down"
        elif len(result.hits) > 1 and all(h.match == "phone" for h in result.hits):
            hint = f"{len(result.hits)} members share this phone number: pick the right one"
        self._set_hint(hint)
        self.search_finished.emit(result)
        if self._open_when_ready:
            self._open_when_ready = False
            self._open_best()

    def _search_failed(self, error: BaseException) -> None:
        log.error("search failed: %s", error)
        self._set_hint("Search is not available right now; the database could not be read")

    def _on_enter(self) -> None:
        if self.lookup is None:
            self._open_when_ready = True  # the answer is opened when it arrives, as for a fast scanner
            self._search_now()
            return
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
                self._set_hint(result.hint if result and result.hint else "No member found")
            return
        current = self.results_view.currentIndex().row()
        unique = result.unique
        if unique is not None and (current <= 0 or self.results_model.hit(current) == unique):
            self.open_member(unique.id)
            if unique.match == "code":
                self.search_box.clear()  # a scanned token means nothing to read; the member is on screen
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
        if lookup is None:
            return
        self.runner.run_db(lambda: lookup.member_view(member_id),
                           lambda view: self._show_member(view, after), self._member_failed)

    def _show_member(self, view: MemberView | None, after: Callable[[MemberView], None] | None) -> None:
        if view is None:
            self._set_hint("That member is no longer in the local cache")
            return
        self.current_view = view
        self.member_panel.show_member(view)
        self.member_panel.new_sale_button.setEnabled(True)
        self.stack.setCurrentWidget(self.member_panel)
        self.member_opened.emit(view.profile.id)
        if after:
            after(view)

    def _member_failed(self, error: BaseException) -> None:
        log.error("could not load member: %s", error)
        self._set_hint("Could not open that member; the database could not be read")

    # --- sync ----------------------------------------------------------------------------------------------
    sync = None  # the SyncController once install_sync() ran

    def install_sync(self, controller) -> None:  # type: ignore[no-untyped-def]
        """Show the sync state in the status bar and keep open members fresh from the server."""
        from frontdesk.ui.sync_status import SyncStatusWidget

        self.sync = controller
        self.sync_widget = SyncStatusWidget(controller, approve=self._approve_sync_action)
        self.statusBar().addPermanentWidget(self.sync_widget)
        QShortcut(QKeySequence("F6"), self, activated=self.open_sync_panel)
        self.sync_widget.clicked.connect(self._wire_sync_panel)
        controller.memberRefreshed.connect(self._member_refreshed)
        controller.statusChanged.connect(self._sync_progressed)
        self.member_opened.connect(controller.refresh_member)

    def open_sync_panel(self) -> None:
        if self.sync is None or self.locked:
            return
        self.sync_widget.open_panel()
        self._wire_sync_panel()
        self.dialog_opened.emit(self.sync_widget.panel)

    def _wire_sync_panel(self) -> None:
        panel = self.sync_widget.panel
        if panel is not None and not panel.property("focus_wired"):
            panel.setProperty("focus_wired", True)
            panel.finished.connect(self.return_focus)

    def is_online(self) -> bool:
        """Whether the last status the sync loop reported says the loyalty server answers."""
        status = self.sync.last_status if self.sync is not None else None
        return bool(status is not None and status.online)

    def _sync_progressed(self, _status) -> None:  # type: ignore[no-untyped-def]
        # While the member on screen has anything waiting for the server (their enrolment, a sale, points), each
        # sync round may have delivered it: reload the panel so "waiting for the loyalty server", "waiting to sync"
        # and the unconfirmed points never linger beside "all synced" in the status bar.
        profile = self.member_panel.profile
        if profile is not None and self.stack.currentWidget() is self.member_panel and (
                profile.status == "pending" or profile.unsynced_points
                or any(tx.status == "pending" for tx in profile.recent)):
            self.refresh_member()

    def _member_refreshed(self, member_id: int, refresh) -> None:  # type: ignore[no-untyped-def]
        if refresh is not None and self.member_panel.member_id == member_id and \
                self.stack.currentWidget() is self.member_panel:
            lookup = self.lookup
            assert lookup is not None
            self.runner.run_db(lambda: lookup.member_view(member_id), lambda view: view and
                               self.member_panel.show_member(view))

    def _approve_sync_action(self, parent, text: str) -> int | None:  # type: ignore[no-untyped-def]
        if self.counter is None:
            return None
        from frontdesk.ui.manager_approval import ManagerApprovalDialog

        dialog = ManagerApprovalDialog(self.counter.staff, self.runner, text, parent)
        return dialog.approved_by if dialog.exec() else None

    def open_scanned(self, code) -> None:  # type: ignore[no-untyped-def]
        """A code read by the camera takes the same path as one typed by a USB scanner: search, then open."""
        if not code.usable:
            self.search_box.clear()
            self.close_member()
            self._set_hint(f"⚠ {code.message}", error=code.kind == "forged")
            return
        self.search_box.setText(code.text)
        self._open_when_ready = True
        self._search_now()

    def show_member_card(self, member_id: int) -> None:
        from frontdesk.scan.codes import sign_member_card
        from frontdesk.ui.member_card_dialog import MemberCardDialog

        profile = self.member_panel.profile
        if profile is None or profile.id != member_id:
            return
        if not profile.member_no:
            self._set_hint("This member has no member ID yet, so no card can be made")
            return
        if not self.settings.member_card_key:
            self._set_hint("No member card key is set on this counter (`frontdesk setup`), so no card "
                           "can be made")
            return
        token = sign_member_card(profile.member_no, self.settings.member_card_key)
        dialog = MemberCardDialog(profile.name, profile.member_no, token, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.finished.connect(self.return_focus)
        dialog.open()  # modal to this window only; the scanner and sync keep running
        self._card_dialog = dialog

    def refresh_member(self) -> None:
        if self.member_panel.member_id is not None and self.stack.currentWidget() is self.member_panel:
            self.open_member(self.member_panel.member_id)

    # --- counter actions: staff, checkout, enrolment, voids --------------------------------------------------
    def _install_counter(self, counter: CounterServices) -> None:
        from frontdesk.ui.sign_in import SignInPanel

        self.staff_label = QLabel("Nobody signed in")
        self.statusBar().addPermanentWidget(self.staff_label)
        self.lock_button = QPushButton("Lock  (Ctrl+L)")
        self.lock_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.lock_button.clicked.connect(self.lock)
        self.statusBar().addPermanentWidget(self.lock_button)
        self.staff_button = QPushButton("Staff…")
        self.staff_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.staff_button.clicked.connect(self.open_staff_admin)
        self.statusBar().addPermanentWidget(self.staff_button)
        self.sign_in = SignInPanel(counter.staff, self.runner, self)
        self.sign_in.signed_in.connect(self._signed_in)
        if self.settings.demo:
            from frontdesk.demo.generator import demo_pins_hint

            self.sign_in.set_hint(demo_pins_hint())
        QShortcut(QKeySequence("F2"), self, activated=self.new_sale_for_current)
        QShortcut(QKeySequence("Ctrl+N"), self, activated=self.open_enrolment)
        QShortcut(QKeySequence("Ctrl+L"), self, activated=self.lock)
        QShortcut(QKeySequence("F9"), self, activated=lambda: self.open_void())
        QShortcut(QKeySequence("F10"), self, activated=self.open_day)
        QShortcut(QKeySequence("Ctrl+Shift+S"), self, activated=self.open_staff_admin)
        # WESS invoice mail (issue 14): receipts that named no member, and the managers' review list.
        QShortcut(QKeySequence("F7"), self, activated=self.open_receipts_waiting)
        QShortcut(QKeySequence("Ctrl+Shift+R"), self, activated=self.open_invoice_review)
        self.member_panel.new_sale_requested.connect(self.open_checkout)
        self.member_panel.card_requested.connect(self.show_member_card)
        self.member_panel.visits_table.cellDoubleClicked.connect(self._visit_double_clicked)

    @property
    def locked(self) -> bool:
        return self.sign_in is not None and self.sign_in.isVisible()

    def resizeEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().resizeEvent(event)
        if self.sign_in is not None:
            self.sign_in.setGeometry(self.rect())

    def lock(self) -> None:
        """Hide everything behind the sign-in panel; whoever signs in next is the staff on the next sale."""
        if self.sign_in is None:
            return
        previous = self.staff
        self.staff = None
        self.staff_label.setText("Locked")
        self.staff_changed.emit(None)
        self.sign_in.setGeometry(self.rect())
        self.sign_in.start(locked_by=previous)

    def _signed_in(self, staff: StaffInfo) -> None:
        self.staff = staff
        self.staff_label.setText(f"Signed in: {staff.name} ({staff.role})")
        self.staff_changed.emit(staff)
        pending, self._after_sign_in = self._after_sign_in, None
        if pending is not None:
            pending()
        else:
            self.focus_search()

    def _with_staff(self, action: Callable[[], None]) -> None:
        """Run `action` now if someone is signed in, else right after they sign in."""
        if self.sign_in is None or self.locked:
            return
        if self.staff is None:
            self._after_sign_in = action
            self.sign_in.setGeometry(self.rect())
            self.sign_in.start(message="Sign in to record sales, enrol members and approve voids.")
            return
        action()

    def new_sale_for_current(self) -> None:
        if self.locked:
            return
        if self.current_view is None or self.stack.currentWidget() is not self.member_panel:
            self._set_hint("Open the member first: scan their code or type their phone, then F2")
            self.focus_search()
            return
        self.open_checkout(self.current_view.profile.id)

    def open_checkout(self, member_id: int) -> None:
        self._with_staff(lambda: self.open_member(member_id, after=self._show_checkout))

    def _show_checkout(self, view: MemberView) -> None:
        from frontdesk.ui.sales.checkout_dialog import CheckoutDialog

        assert self.counter is not None
        dialog = CheckoutDialog(self.settings, self.counter, self.runner, view, self.staff, self)
        dialog.finished.connect(self._dialog_closed)
        dialog.void_requested.connect(lambda sale_id: self.open_void(sale_id=sale_id))
        self.checkout_dialog = dialog
        fit_to_screen(dialog, self)
        dialog.open()
        self.dialog_opened.emit(dialog)

    def _dialog_closed(self, _code: int = 0) -> None:
        """Back from a counter dialog: the member's figures changed, and the keyboard belongs to the search box."""
        if self.sync is not None:
            self.sync.wake()  # whatever the dialog queued goes out now, not at the next poll
        self.refresh_member()
        self.return_focus()

    def return_focus(self, _code: int = 0) -> None:
        """After any dialog: the next key typed or code scanned goes to the search box."""
        self.activateWindow()
        self.search_box.setFocus()

    def open_enrolment(self) -> None:
        if self.locked:
            return

        def show() -> None:
            from frontdesk.ui.enrol_dialog import EnrolDialog

            assert self.counter is not None
            typed = self.search_box.text().strip()
            phone = typed if typed and not self.results_model.rowCount() and any(ch.isdigit() for ch in typed) else ""
            dialog = EnrolDialog(self.settings, self.counter, self.runner, phone=phone, signed_in=self.staff,
                                 parent=self)
            dialog.enrolled.connect(lambda member: self.open_member(member.member_id))
            dialog.open_member_requested.connect(self.open_member)
            dialog.finished.connect(self.return_focus)
            self.enrol_dialog = dialog
            fit_to_screen(dialog, self)
            dialog.open()
            self.dialog_opened.emit(dialog)

        self._with_staff(show)

    def open_void(self, sale_id: int | None = None, receipt_no: str = "", parent: QWidget | None = None) -> None:
        if self.locked:
            return

        def show() -> None:
            from frontdesk.ui.sales.void_dialog import VoidDialog

            assert self.counter is not None
            member_id = self.current_view.profile.id if self.current_view is not None else None
            dialog = VoidDialog(self.settings, self.counter, self.runner, sale_id=sale_id, receipt_no=receipt_no,
                                member_id=member_id, signed_in=self.staff, parent=parent or self)
            dialog.finished.connect(self._dialog_closed)
            self.void_dialog = dialog
            fit_to_screen(dialog, self)
            dialog.open()
            self.dialog_opened.emit(dialog)

        self._with_staff(show)

    day_window = None

    def open_day(self) -> None:
        """The Day window: the whole day for a manager, their own shift for a receptionist."""
        if self.locked:
            return

        def show() -> None:
            from frontdesk.reports.service import DayService
            from frontdesk.ui.day import sync_decisions
            from frontdesk.ui.day.screen import DayWindow

            assert self.counter is not None
            service = DayService(self.counter.sales.engine, self.settings, self.counter.staff, sync_decisions())
            window = DayWindow(service, self.runner, self.staff, self)
            window.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            def void_from_day(sale_id: int) -> None:
                # Over the Day window (it is modal to this one); the day shows the reversal when it closes.
                self.open_void(sale_id=sale_id, parent=window)
                if self.void_dialog is not None and self.void_dialog.parent() is window:
                    self.void_dialog.finished.connect(lambda _code: window.reload())

            window.void_requested.connect(void_from_day)
            if self.sync is not None:
                window.sync_now = self.sync.wake

            def review_from_day(parent: QWidget) -> None:
                self.open_invoice_review(parent=parent)
                review = getattr(self, "invoice_dialog", None)
                if review is not None and review.parent() is parent:
                    review.finished.connect(lambda _code: window.reload())

            window.open_invoice_review = review_from_day
            window.finished.connect(self._dialog_closed)
            self.day_window = window
            fit_to_screen(window, self)  # 1366x768 less a taskbar: the close button stays on screen
            window.open()
            self.dialog_opened.emit(window)

        self._with_staff(show)

    def open_staff_admin(self) -> None:
        """Staff administration, behind a manager's PIN (Staff… in the status bar, Ctrl+Shift+S)."""
        if self.locked or self.counter is None:
            return
        from frontdesk.ui.staff_admin import open_staff_admin

        self.staff_admin_dialog = open_staff_admin(self, self.counter.staff, self.runner)

    def invoice_services(self):  # type: ignore[no-untyped-def]
        if getattr(self, "_invoice_services", None) is None:
            from frontdesk.invoices.service import build_invoice_services

            assert self.counter is not None
            self._invoice_services = build_invoice_services(self.counter.sales.engine, self.settings,
                                                            checkout=self.counter.sales)
        return self._invoice_services

    def open_receipts_waiting(self) -> None:
        if self.locked:
            return

        def show() -> None:
            from frontdesk.ui.invoices.receipts_waiting import ReceiptsWaitingDialog

            view = self.current_view if self.stack.currentWidget() is self.member_panel else None
            dialog = ReceiptsWaitingDialog(self.settings, self.invoice_services(), self.runner,
                                           member_id=view.profile.id if view else None,
                                           member_name=view.profile.name if view else "",
                                           staff_id=self.staff.id if self.staff else None, parent=self)
            dialog.finished.connect(self._dialog_closed)
            self.invoice_dialog = dialog
            dialog.open()
            self.dialog_opened.emit(dialog)

        self._with_staff(show)

    def open_invoice_review(self, parent: QWidget | None = None) -> None:
        """The managers' review list; `parent` when opened over another window (the Day window's blockers)."""
        if self.locked:
            return

        def show() -> None:
            from frontdesk.ui.invoices.review_dialog import ReviewDialog

            dialog = ReviewDialog(self.settings, self.invoice_services(), self.runner, signed_in=self.staff,
                                  parent=parent or self)
            dialog.finished.connect(self._dialog_closed)
            self.invoice_dialog = dialog
            dialog.open()
            self.dialog_opened.emit(dialog)

        self._with_staff(show)

    def _visit_double_clicked(self, row: int, _column: int) -> None:
        view = self.current_view
        if view is None or not 0 <= row < len(view.profile.recent):
            return
        self.open_void(receipt_no=view.profile.recent[row].receipt_no)
