"""The messages start-up shows before (or instead of) the counter: a broken config file, a database or disk that
cannot be used, a log folder that cannot be written. On a Windows counter there is no terminal, so each is a
dialog; the same text goes to the log. Qt widgets only.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtWidgets import QMessageBox, QWidget

from frontdesk.ui.widgets.screen import fit_to_screen


def _box(icon: QMessageBox.Icon, title: str, text: str, detail: str = "", parent: QWidget | None = None
         ) -> QMessageBox:
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setObjectName("StartupNotice")
    # Wide enough for a Windows path and a sentence per line, rather than a tall narrow column.
    box.setStyleSheet("QLabel#qt_msgbox_label, QLabel#qt_msgbox_informativelabel { min-width: 560px; }")
    if detail:
        box.setInformativeText(detail)
    return box


def config_problems_box(path: Path, problems: Sequence[tuple[str, str]], parent: QWidget | None = None
                        ) -> QMessageBox:
    """Every problem in the config file at once, with the file's path (`problems`: (key, problem))."""
    items = "".join(f"<li><b>{key}</b>: {problem}</li>" for key, problem in problems)
    count = f"{len(problems)} settings need" if len(problems) > 1 else "One setting needs"
    box = _box(QMessageBox.Icon.Critical, "Front Desk: configuration problem",
               f"<p>{count} fixing in the configuration file</p><p><code>{path}</code></p><ul>{items}</ul>",
               "Fix the file (or run <code>frontdesk setup</code>) and start Front Desk again. Nothing was "
               "changed.", parent)
    box.addButton(QMessageBox.StandardButton.Close)
    return box


def storage_problem_box(title: str, message: str, *, can_restore: bool, parent: QWidget | None = None
                        ) -> QMessageBox:
    """A database or disk that cannot be used; with `can_restore`, a Restore button (the newest backup)."""
    box = _box(QMessageBox.Icon.Critical, f"Front Desk: {title.lower()}", f"<p><b>{title}</b></p><p>{message}</p>",
               parent=parent)
    if can_restore:
        restore = box.addButton("Restore the backup", QMessageBox.ButtonRole.AcceptRole)
        restore.setObjectName("RestoreBackup")
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    return box


def already_open_box(message: str, parent: QWidget | None = None) -> QMessageBox:
    """Another process (a second Front Desk, `sync --once`, an import) holds the database's writer lock."""
    box = _box(QMessageBox.Icon.Critical, "Front Desk is already open", message, parent=parent)
    box.addButton(QMessageBox.StandardButton.Close)
    return box


def warning_box(title: str, message: str, parent: QWidget | None = None) -> QMessageBox:
    box = _box(QMessageBox.Icon.Warning, f"Front Desk: {title.lower()}", f"<p><b>{title}</b></p><p>{message}</p>",
               parent=parent)
    box.addButton("Continue", QMessageBox.ButtonRole.AcceptRole)
    return box


def ask(box: QMessageBox) -> bool:
    """Show `box` modally within the screen; True when its accepting button (Restore, Continue) was pressed."""
    box.adjustSize()
    fit_to_screen(box)
    box.exec()
    clicked = box.clickedButton()
    return clicked is not None and box.buttonRole(clicked) == QMessageBox.ButtonRole.AcceptRole
