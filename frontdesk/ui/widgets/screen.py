"""Windows on the screen's usable area: the main window maximized on it, dialogs sized and placed within it.

"Usable" is `QScreen.availableGeometry()`: the screen minus the Windows taskbar (or a Linux panel). A counter PC is
often 1366x768 with a 40 px taskbar, so a dialog laid out for 768 px would hide its Confirm button under the
taskbar. Qt widgets only; no services, no I/O.
"""
from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtGui import QGuiApplication, QScreen
from PySide6.QtWidgets import QWidget

# Room for a dialog's title bar and frame, which Qt does not count in the widget's own size before it is shown.
FRAME_ALLOWANCE_HEIGHT = 36
FRAME_ALLOWANCE_WIDTH = 12


def screen_for(widget: QWidget | None) -> QScreen | None:
    screen = widget.screen() if widget is not None else None
    return screen or QGuiApplication.primaryScreen()


def usable_area(widget: QWidget | None = None) -> QRect:
    """The part of the widget's screen that windows may cover (taskbar excluded)."""
    screen = screen_for(widget)
    return screen.availableGeometry() if screen is not None else QRect(0, 0, 1366, 728)


def show_maximized(window: QWidget) -> None:
    """Show the main window maximized on its screen's usable area (its geometry first, for platforms without a
    window manager, where "maximized" alone changes nothing)."""
    area = usable_area(window)
    window.setMinimumSize(min(window.minimumWidth(), area.width()), min(window.minimumHeight(), area.height()))
    window.setGeometry(area)
    window.showMaximized()


def fit_to_screen(dialog: QWidget, parent: QWidget | None = None) -> QRect:
    """Shrink `dialog` (and its minimum size) to fit the usable area with its frame, and centre it there.

    Call before showing it; returns the geometry given to it."""
    area = usable_area(parent or dialog.parentWidget() or dialog)
    max_width = max(320, area.width() - FRAME_ALLOWANCE_WIDTH)
    max_height = max(240, area.height() - FRAME_ALLOWANCE_HEIGHT)
    dialog.setMinimumSize(min(dialog.minimumWidth(), max_width), min(dialog.minimumHeight(), max_height))
    dialog.setMaximumSize(max(dialog.minimumWidth(), min(dialog.maximumWidth(), max_width)),
                          max(dialog.minimumHeight(), min(dialog.maximumHeight(), max_height)))
    width = min(max(dialog.width(), dialog.minimumWidth()), max_width)
    height = min(max(dialog.height(), dialog.minimumHeight()), max_height)
    left = area.left() + (area.width() - width) // 2
    top = area.top() + max(0, (area.height() - height - FRAME_ALLOWANCE_HEIGHT) // 2) + FRAME_ALLOWANCE_HEIGHT - 6
    top = min(top, area.bottom() - height + 1)
    geometry = QRect(left, max(area.top(), top), width, height)
    dialog.setGeometry(geometry)
    return geometry


def grow_to_fit(dialog: QWidget) -> None:
    """Make `dialog` taller (within the usable area) when its content no longer fits, e.g. after a message of two
    lines appeared: otherwise Qt squeezes its wrapped labels and cuts their last line."""
    layout = dialog.layout()
    if layout is None:
        return
    width = dialog.width()
    needed = layout.totalHeightForWidth(width) if layout.hasHeightForWidth() else layout.totalSizeHint().height()
    if needed <= dialog.height():
        return
    area = usable_area(dialog.parentWidget() or dialog)
    height = min(needed, max(240, area.height() - FRAME_ALLOWANCE_HEIGHT), dialog.maximumHeight())
    dialog.resize(width, height)
