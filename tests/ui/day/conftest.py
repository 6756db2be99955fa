"""The Day window on a generated day (tests/reports/conftest.py), with real worker threads, and a helper that
answers a manager-approval dialog the way a manager does: pick yourself, type the PIN (and the reason), Approve."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from frontdesk.reports.service import DayService
from frontdesk.staff.service import StaffService
from frontdesk.ui.day import sync_decisions
from frontdesk.ui.manager_approval import ManagerApprovalDialog
from frontdesk.ui.resources import stylesheet
from frontdesk.ui.tasks import TaskRunner
from tests.reports import conftest as generated

GeneratedDay = generated.GeneratedDay
day_template = generated.day_template  # the generated day's fixtures, shared with tests/reports
generated_day = generated.generated_day

WAIT = 8000


def answer_approval(qtbot, *, pin: str = "9999", manager_id: int = 3, reason: str | None = None,  # type: ignore[no-untyped-def]
                    seen: list | None = None) -> None:
    """When the next approval dialog opens (it runs its own event loop), fill it in and press Approve."""

    def fill() -> None:
        dialog = QApplication.activeModalWidget()
        if not isinstance(dialog, ManagerApprovalDialog) or dialog.manager_combo.findData(manager_id) < 0:
            QTimer.singleShot(30, fill)
            return
        if seen is not None:
            seen.append(dialog)
        dialog.manager_combo.setCurrentIndex(dialog.manager_combo.findData(manager_id))
        if reason is not None:
            dialog.reason_edit.setText(reason)  # type: ignore[attr-defined]
        qtbot.keyClicks(dialog.pin_edit, pin)
        dialog.buttons.accepted.emit()

    QTimer.singleShot(30, fill)


@pytest.fixture
def day_window_factory(qtbot, qapp, generated_day: GeneratedDay):  # type: ignore[no-untyped-def]
    from frontdesk.ui.day.screen import DayWindow

    qapp.setStyleSheet(stylesheet())
    runners: list[TaskRunner] = []

    def make(staff_id: int = 3) -> DayWindow:
        runner = TaskRunner()
        runners.append(runner)
        staff = StaffService(generated_day.engine)  # type: ignore[arg-type]
        service = DayService(generated_day.engine, generated_day.settings, staff,  # type: ignore[arg-type]
                             sync_decisions())
        window = DayWindow(service, runner, staff.get(staff_id), day=generated_day.day)
        qtbot.addWidget(window)
        with qtbot.waitSignal(window.loaded, timeout=WAIT):
            window.show()
        qtbot.waitExposed(window)
        return window

    yield make
    for runner in runners:
        runner.shutdown()


Factory = Callable[..., object]
