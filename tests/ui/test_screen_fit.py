"""The window on a 1366x768 counter screen, with and without a 40 px taskbar: the main window fills the usable area
(status bar with sync state and Lock on screen), and the checkout's Confirm and Cancel and the Day window's buttons
are within it.

Each size runs in its own process: Qt's off-screen platform takes the screen size from a config file at start-up
(`offscreen:configfile=...`). A 40 px taskbar is a usable area of 1366x728; the PNGs add the taskbar strip."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SCREENSHOTS

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = r'''
import json, sys
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
from frontdesk.app.wiring import build_window
from frontdesk.config import DEMO_CARD_KEY, Settings
from frontdesk.ui.resources import stylesheet
from frontdesk.ui.widgets.screen import show_maximized

db, out, taskbar = sys.argv[1], sys.argv[2], int(sys.argv[3])
app = QApplication([])
app.setStyleSheet(stylesheet())
window = build_window(Settings(database=db, demo=True, member_card_key=DEMO_CARD_KEY))
show_maximized(window)

def wait(condition, ms=8000):
    for _ in range(ms // 20):
        if condition():
            return True
        QTest.qWait(20)
    raise SystemExit(f"timed out waiting: {condition}")

window.lock()
panel = window.sign_in
wait(lambda: panel.staff_list.count() > 0)
panel.select_staff(next(panel.staff_list.item(i).data(Qt.ItemDataRole.UserRole).id
                        for i in range(panel.staff_list.count())
                        if panel.staff_list.item(i).text().startswith("Jason Lim")))
QTest.keyClicks(panel.pin_edit, "1111")
QTest.keyClick(panel.pin_edit, Qt.Key.Key_Return)
wait(lambda: not window.locked)
window.open_member(12)
wait(lambda: window.current_view is not None)
for _ in range(10):
    QTest.qWait(20)
window.grab().save(out.replace("-checkout.png", "-window.png"))
window.new_sale_for_current()
wait(lambda: window.checkout_dialog is not None and window.checkout_dialog.isVisible())
dialog = window.checkout_dialog
for _ in range(10):
    QTest.qWait(20)

def global_rect(widget):
    return QRect(widget.mapToGlobal(QPoint(0, 0)), widget.size())

def as_list(rect):
    return [rect.x(), rect.y(), rect.width(), rect.height()]

area = window.screen().availableGeometry()
result = {
    "usable": as_list(area),
    "window": as_list(window.frameGeometry()),
    "maximized": window.isMaximized(),
    "lock_button": as_list(global_rect(window.lock_button)),
    "sync": as_list(global_rect(window.sync_widget)) if getattr(window, "sync_widget", None) else None,
    "dialog": as_list(dialog.frameGeometry()),
    "confirm": as_list(global_rect(dialog.confirm_button)),
    "cancel": as_list(global_rect(dialog.cancel_button)),
}
# The whole screen as the receptionist sees it: the window, the dialog over it, and the taskbar strip.
picture = QImage(area.width(), area.height() + taskbar, QImage.Format.Format_RGB32)
picture.fill(QColor("#202020"))
painter = QPainter(picture)
painter.drawPixmap(window.frameGeometry().topLeft(), window.grab())
painter.drawPixmap(dialog.geometry().topLeft(), dialog.grab())
if taskbar:
    painter.setPen(QColor("white"))
    painter.drawText(QRect(0, area.height(), area.width(), taskbar), Qt.AlignmentFlag.AlignCenter,
                     "Windows taskbar (40 px)")
painter.end()
picture.save(out)
dialog.done(0)
window.open_day()
wait(lambda: window.day_window is not None and window.day_window.state is not None)
day = window.day_window
for _ in range(10):
    QTest.qWait(20)
result.update(day=as_list(day.frameGeometry()), day_close=as_list(global_rect(day.close_button)),
              day_refresh=as_list(global_rect(day.refresh_button)))
day.grab().save(out.replace("-checkout.png", "-day.png"))
print("RESULT " + json.dumps(result))
day.done(0)
window.runner.shutdown()
'''


def _inside(inner: list[int], outer: list[int]) -> bool:
    x, y, w, h = inner
    ox, oy, ow, oh = outer
    return ox <= x and oy <= y and x + w <= ox + ow and y + h <= oy + oh


@pytest.mark.parametrize("taskbar", [0, 40], ids=["no-taskbar", "taskbar-40px"])
def test_window_and_checkout_fit_the_usable_screen(demo_db, tmp_path, taskbar):
    screens = tmp_path / "screens.json"
    screens.write_text(json.dumps({"screens": [{"name": "counter", "x": 0, "y": 0, "width": 1366,
                                                "height": 768 - taskbar, "logicalDpi": 96, "dpr": 1}]}))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    picture = SCREENSHOTS / f"screen-1366x768-{'taskbar' if taskbar else 'no-taskbar'}-checkout.png"
    env = {**os.environ, "QT_QPA_PLATFORM": f"offscreen:configfile={screens}"}
    run = subprocess.run([sys.executable, "-c", SCRIPT, str(demo_db), str(picture), str(taskbar)],
                         capture_output=True, text=True, cwd=ROOT, env=env, timeout=180)
    line = next((ln for ln in run.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert run.returncode == 0 and line, run.stdout + run.stderr
    result = json.loads(line[len("RESULT "):])
    usable = result["usable"]
    assert usable == [0, 0, 1366, 768 - taskbar]
    assert result["maximized"] and result["window"] == usable
    for part in ("lock_button", "sync", "dialog", "confirm", "cancel", "day", "day_close", "day_refresh"):
        assert result[part] is None or _inside(result[part], usable), (part, result)
    assert picture.stat().st_size > 20_000
