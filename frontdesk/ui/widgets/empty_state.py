"""A calm sentence in the middle of an empty list or table ("Nothing recorded yet"), instead of a blank white box.

Qt only. The text sits on the view's viewport and follows its size; the view stays a normal view (headers, focus,
keyboard), so nothing about the screen moves when the first row arrives.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QAbstractItemView, QLabel


class EmptyState(QObject):
    """Shows `text` over `view` while its model has no rows."""

    def __init__(self, view: QAbstractItemView) -> None:
        super().__init__(view)
        self.view = view
        self.label = QLabel("", view.viewport())
        self.label.setObjectName("Muted")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        self.label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.label.hide()
        view.viewport().installEventFilter(self)

    def show_text(self, text: str) -> None:
        """`text` while the view is empty; an empty `text` hides it."""
        self.label.setText(text)
        self.label.setVisible(bool(text))
        self._place()

    @property
    def text(self) -> str:
        return "" if self.label.isHidden() else self.label.text()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        if event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        viewport = self.view.viewport()
        margin = 24
        self.label.setGeometry(margin, margin, max(0, viewport.width() - 2 * margin),
                               max(0, min(viewport.height() - 2 * margin, 120)))
