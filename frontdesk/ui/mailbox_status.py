"""The WESS invoice mailbox in the window: a worker thread that watches it, and its item in the status bar.

`MailboxController` runs `frontdesk.invoices.imap.MailboxWatcher` (IDLE, or polling, with reconnects and back-off)
on a thread of its own. The password is read from the keyring on that thread; the watcher's database work goes to
the process's one database executor (the task runner's, handed in by `frontdesk.app.wiring`), so the app stays the
only writer. A mailbox problem (wrong password, unreachable server, a folder that will not open) shows in the
status bar and the watcher keeps retrying; it never reaches the counter as a crash.

    controller = MailboxController(importer, imap, db_call=runner.db_executor.call)
    window.statusBar().addPermanentWidget(MailboxStatusWidget(controller))
    controller.start()      # ... controller.stop() when the app quits
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QWidget

log = logging.getLogger(__name__)

MODE_WORDS = {"stopped": "stopped", "connecting": "connecting…", "idle": "watching", "poll": "checking every "
              "few minutes", "error": "problem"}


class MailboxController(QObject):
    """Watches the invoice mailbox off the GUI thread; `statusChanged` carries (mode, text, error)."""

    statusChanged = Signal(str, str, str)  # mode, one line for the status bar, the last error ("" if none)
    received = Signal(object)  # frontdesk.invoices.importer.Outcome, one per mail

    def __init__(self, importer: Any, imap: Any, *, db_call: Callable[[Callable[[], Any]], Any],
                 password_lookup: Callable[[str], str | None] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.importer = importer
        self.imap = imap
        self._db_call = db_call
        self._password_lookup = password_lookup
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.watcher: Any = None
        self.problem = ""  # set before the watcher exists (no password, a watcher that cannot start)
        self.outcomes: dict[str, int] = {}
        self._last: tuple[str, str, str] | None = None
        self._timer = QTimer(self)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self._report)

    # --- lifecycle ------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="invoice-mailbox", daemon=True)
        self._thread.start()
        self._timer.start()
        self._report()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop watching: the mail in hand is finished (or left unmarked, to be fetched again next time)."""
        self._stop.set()
        self._timer.stop()
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            if self._thread.is_alive():
                log.warning("the invoice mailbox thread did not stop within %.0f s", timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        from frontdesk.invoices.imap import MailboxWatcher
        from frontdesk.logs import register_secret
        from frontdesk.secrets import MAILBOX_ENV_VAR, get_mailbox_password

        lookup = self._password_lookup or get_mailbox_password
        try:
            password = lookup(self.imap.account)
            if not password:
                self.problem = (f"no password for {self.imap.account}: run `frontdesk invoices password` "
                                f"(or set {MAILBOX_ENV_VAR})")
                return
            register_secret(password)
            self.watcher = MailboxWatcher(self.importer, self.imap, password, db_call=self._db_call,
                                          on_outcome=self._outcome)
            self.watcher.run(self._stop)
        except Exception as error:  # noqa: BLE001 - shown in the status bar; the counter keeps working
            if self._stop.is_set():
                return  # the app is quitting (the database executor may already be shut down)
            log.exception("the invoice mailbox stopped")
            self.problem = f"stopped: {error}"

    def _outcome(self, outcome: Any) -> None:
        self.outcomes[outcome.status] = self.outcomes.get(outcome.status, 0) + 1
        try:
            self.received.emit(outcome)
        except RuntimeError:  # the controller was deleted while the thread finished
            pass

    # --- what the status bar shows ----------------------------------------------------------------------------
    def describe(self) -> tuple[str, str, str]:
        status = self.watcher.status if self.watcher is not None else None
        if self.problem:
            return "error", f"Mail: {self.problem}", self.problem
        if status is None:
            return "connecting", "Mail: connecting…", ""
        counts = " · ".join(f"{n} {s}" for s, n in sorted(self.outcomes.items()))
        tail = f" · {counts}" if counts else ""
        if status.mode == "error":
            return "error", f"Mail: {status.last_error}", status.last_error
        return status.mode, f"Mail: {MODE_WORDS.get(status.mode, status.mode)}{tail}", ""

    def _report(self) -> None:
        current = self.describe()
        if current != self._last:
            self._last = current
            self.statusChanged.emit(*current)


class MailboxStatusWidget(QLabel):
    """"Mail: watching · 3 queued" in the status bar; red, with the reason, when the mailbox has a problem."""

    def __init__(self, controller: MailboxController, parent: QWidget | None = None) -> None:
        super().__init__("Mail: starting…", parent)
        self.setObjectName("MailboxStatus")
        self.setMaximumWidth(420)
        controller.statusChanged.connect(self.show_status)

    def show_status(self, mode: str, text: str, error: str) -> None:
        colour = "#c62828" if mode == "error" else "#52606d"
        self.setStyleSheet(f"color: {colour}; padding: 0 6px;")
        # The server's own words (in parentheses) go in the tooltip; the bar keeps the plain sentence, elided.
        plain = text.split(" (", 1)[0]
        self.setText(self.fontMetrics().elidedText(plain, Qt.TextElideMode.ElideRight, self.maximumWidth() - 12))
        self.setToolTip(f"WESS invoice mailbox {'— ' + error if error else ''}\n{text}".strip())
