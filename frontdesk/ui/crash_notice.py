"""Telling the receptionist that something went wrong, without taking the screen away from them.

`frontdesk.logs` writes the crash report; this shows a small non-modal notice with the report's location. The main
window stays open and usable behind it, so a half-entered sale is still there. Safe to call from any thread: the
notice is always shown by the GUI thread.
"""
from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QUrl, Signal, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox

NOTICE_TITLE = "Front Desk hit an unexpected problem"


class CrashNotice(QObject):
    """Lives in the GUI thread; `requested` may be emitted from anywhere (Qt queues it across threads)."""

    requested = Signal(str, str)

    def __init__(self) -> None:
        super().__init__()
        self.box: QMessageBox | None = None
        self.repeats = 0
        self.requested.connect(self.show_notice, Qt.ConnectionType.QueuedConnection)

    @Slot(str, str)
    def show_notice(self, report: str, summary: str) -> None:
        if self.box is not None and self.box.isVisible():
            # One notice at a time: an error repeating on every repaint must not bury the window in dialogs.
            self.repeats += 1
            self.box.setInformativeText(self._details(report, summary))
            return
        self.repeats = 0
        box = QMessageBox(QApplication.activeWindow())
        box.setObjectName("CrashNotice")
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle(NOTICE_TITLE)
        box.setText("Something went wrong inside Front Desk.\n"
                    "Your work on screen is still there — you can carry on.")
        box.setInformativeText(self._details(report, summary))
        box.setWindowModality(Qt.WindowModality.NonModal)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)  # the path can be copied
        open_folder = box.addButton("Open report folder", QMessageBox.ButtonRole.ActionRole)
        copy_path = box.addButton("Copy report path", QMessageBox.ButtonRole.ActionRole)
        ok = box.addButton(QMessageBox.StandardButton.Ok)
        box.setEscapeButton(ok)  # otherwise QMessageBox ignores the title bar's close button
        open_folder.clicked.connect(lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(str(Path(report).parent))))
        copy_path.clicked.connect(lambda: QGuiApplication.clipboard().setText(report))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.destroyed.connect(self._forget_box)
        self.box = box
        box.show()

    @Slot()
    def _forget_box(self) -> None:
        self.box = None

    def _details(self, report: str, summary: str) -> str:
        again = f"\n\nThe same kind of problem happened {self.repeats} more time(s)." if self.repeats else ""
        return (f"A report was saved to:\n{report}\n\nIf this happens again, please send that file to IT.\n\n"
                f"Details: {summary}{again}")


_notice: CrashNotice | None = None
_notice_lock = threading.Lock()


def _gui_notice(app: QApplication) -> CrashNotice:
    global _notice
    with _notice_lock:
        if _notice is None:
            notice = CrashNotice()
            if threading.current_thread() is not threading.main_thread():
                notice.moveToThread(app.thread())
            _notice = notice
        return _notice


def notify_crash(report: Path, summary: str) -> None:
    """Show the crash notice if a QApplication runs (a command-line tool has none: the log says it all)."""
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        return
    notice = _gui_notice(app)
    if threading.current_thread() is threading.main_thread():  # the GUI thread
        notice.show_notice(str(report), summary)
    else:
        notice.requested.emit(str(report), summary)
