"""Qt's own messages (qDebug, qWarning, ...) routed into Python logging, under the "qt" logger."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QtMsgType, qInstallMessageHandler

_qt_handler: Callable[..., None] | None = None


def install_qt_message_handler() -> Callable[..., None] | None:
    """Route qDebug/qWarning/... from Qt into the "qt" logger; returns the handler that was installed before."""
    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }
    qt_log = logging.getLogger("qt")

    def handle(kind: Any, context: Any, message: str) -> None:
        where = f" ({context.file}:{context.line})" if getattr(context, "file", None) else ""
        category = getattr(context, "category", None)
        prefix = f"[{category}] " if category and category != "default" else ""
        qt_log.log(levels.get(kind, logging.WARNING), "%s%s%s", prefix, message, where)

    global _qt_handler
    _qt_handler = handle  # Qt keeps only a C pointer; the Python function must stay alive
    return qInstallMessageHandler(handle)
