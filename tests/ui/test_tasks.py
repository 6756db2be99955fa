"""The task runner: answers come back on the GUI thread, and never to a screen that has been deleted."""
from __future__ import annotations

import threading

import shiboken6
from PySide6.QtWidgets import QLabel

from frontdesk.ui.tasks import TaskRunner


class Panel(QLabel):
    def __init__(self) -> None:
        super().__init__("Loading…")
        self.answers: list[object] = []

    def loaded(self, result: object) -> None:
        self.answers.append(result)
        self.setText(str(result))  # would raise "C++ object already deleted" on a deleted label


def test_an_answer_reaches_a_live_screen_on_the_gui_thread(qtbot) -> None:
    runner = TaskRunner()
    panel = Panel()
    qtbot.addWidget(panel)
    seen: list[object] = []
    runner.run_db(lambda: threading.current_thread().name, lambda name: (seen.append(name), panel.loaded("ready")))
    qtbot.waitUntil(lambda: panel.answers == ["ready"], timeout=5000)
    assert seen and seen[0] != threading.current_thread().name
    runner.shutdown()


def test_a_screen_closed_and_deleted_while_its_data_loads_is_left_alone(qtbot) -> None:
    runner = TaskRunner()
    panel = Panel()
    release = threading.Event()
    future = runner.run_db(lambda: release.wait(5) and "members", panel.loaded, panel.loaded)
    shiboken6.delete(panel)  # the dialog's window was closed while the query ran
    release.set()
    assert future is not None
    future.result(timeout=5)
    done = []
    runner.run_db(lambda: None, done.append)  # the serial worker has passed the first answer's emit
    qtbot.waitUntil(lambda: done == [None], timeout=5000)
    runner.shutdown()
