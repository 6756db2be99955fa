"""Running work off the GUI thread and getting the answer back on it.

Two executors, as in Anki's task manager: the process's one *serial* database executor
(`frontdesk.store.writer.DatabaseExecutor`, so our own reads and writes never fight over SQLite's lock; the sync
engine is handed the same executor) and a small pool for network and camera-free slow work.
Results and errors come back through a Qt signal, which Qt delivers on the GUI thread because the runner lives
there. Tests can pass `inline=True` to run tasks synchronously.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal

from frontdesk.store.writer import DatabaseExecutor

log = logging.getLogger(__name__)

Callback = Callable[[Any], None]


class TaskRunner(QObject):
    _finished = Signal(object, object, object)  # callback, result-or-error, is_error

    def __init__(self, parent: QObject | None = None, *, inline: bool = False) -> None:
        super().__init__(parent)
        self._inline = inline
        self.db_executor = DatabaseExecutor()
        self._io = ThreadPoolExecutor(max_workers=4, thread_name_prefix="frontdesk-io")
        self._finished.connect(self._deliver)
        self._closed = False

    def run_db(self, fn: Callable[[], Any], on_done: Callback | None = None,
               on_error: Callback | None = None) -> Future[Any] | None:
        """Run `fn` on the serial database worker; `on_done(result)` / `on_error(exception)` on the GUI thread."""
        return self._submit(self.db_executor, fn, on_done, on_error)

    def run_io(self, fn: Callable[[], Any], on_done: Callback | None = None,
               on_error: Callback | None = None) -> Future[Any] | None:
        return self._submit(self._io, fn, on_done, on_error)

    def _submit(self, pool: ThreadPoolExecutor | DatabaseExecutor, fn: Callable[[], Any], on_done: Callback | None,
                on_error: Callback | None) -> Future[Any] | None:
        if self._closed:
            return None
        if self._inline:
            try:
                result = fn()
            except Exception as error:  # noqa: BLE001 - handed to the caller's error callback
                self._deliver((on_done, on_error), error, True)
            else:
                self._deliver((on_done, on_error), result, False)
            return None

        def job() -> None:
            try:
                result = fn()
            except Exception as error:  # noqa: BLE001 - every failure is reported back, never swallowed
                log.exception("background task failed")
                self._emit((on_done, on_error), error, True)
            else:
                self._emit((on_done, on_error), result, False)

        return pool.submit(job)

    def _emit(self, callbacks: object, payload: object, is_error: bool) -> None:
        if not self._closed:
            try:
                self._finished.emit(callbacks, payload, is_error)
            except RuntimeError:  # the runner was deleted while the task ran (window closing)
                pass

    def _deliver(self, callbacks: object, payload: object, is_error: bool) -> None:
        on_done, on_error = callbacks  # type: ignore[misc]
        if _owner_gone(on_done) or _owner_gone(on_error):
            # The screen that asked was closed and deleted while the task ran (a dialog closed while loading,
            # its parent window closed): nobody is left to show the answer, and touching it would raise.
            log.debug("dropped a background answer: the widget that asked for it is gone")
            return
        if is_error:
            if on_error is not None:
                on_error(payload)
            else:
                log.error("unhandled background error: %s", payload)
        elif on_done is not None:
            on_done(payload)

    def shutdown(self, wait: bool = True) -> None:
        self._closed = True
        self.db_executor.shutdown(wait=wait)
        self._io.shutdown(wait=wait, cancel_futures=True)


def _owner_gone(callback: object) -> bool:
    """Is `callback` a method of a Qt object whose C++ side has been deleted?"""
    owner = getattr(callback, "__self__", None)
    return isinstance(owner, QObject) and not shiboken6.isValid(owner)
