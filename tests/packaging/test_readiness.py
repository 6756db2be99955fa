"""A real counter from nothing: `frontdesk setup` (the wizard) and `frontdesk staff add`, then it signs in, sells,
voids with a manager's PIN and passes `self-test`; before the manager exists, `self-test` fails and says how to add
one. Real wizard, real reference server on 127.0.0.1, real `frontdesk` processes for IT's commands."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from frontdesk import config
from frontdesk.app import selftest
from frontdesk.ui.setup_wizard import SetupWizard
from tests.conftest import save_screenshot
from tests.packaging.test_setup_wizard import _next, _type, _wait_for_cameras

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "ek_live_counter_setup_0042"


@pytest.fixture
def loyalty_server(tmp_path):
    from devtools.loyalty_server.server import ReferenceServer, ServerConfig

    server = ReferenceServer(ServerConfig(db_path=str(tmp_path / "server.sqlite"), api_key=API_KEY, members=5))
    yield server.start()
    server.stop()


def _self_test(settings: config.Settings) -> tuple[int, dict[str, str], str]:
    out = io.StringIO()
    code = selftest.run_self_test(settings, out=out)
    text = out.getvalue()
    lines = {line.split()[1]: line.split()[0] for line in text.splitlines()[1:-1]}
    return code, lines, text


def _staff_add(code: str, name: str, role: str, pin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "frontdesk", "staff", "add", "--code", code, "--name", name,
                           "--role", role, "--pin-stdin"], input=f"{pin}\n", capture_output=True, text=True,
                          cwd=ROOT, env=dict(os.environ), timeout=120)


def test_setup_and_staff_add_make_a_working_counter(qtbot, qapp, memory_keyring, loyalty_server):
    # IT runs `frontdesk setup`.
    wizard = SetupWizard()
    wizard.show()
    qtbot.waitUntil(lambda: wizard.api_page.key_checked, timeout=3000)
    _type(qtbot, wizard.api_page.url, loyalty_server)
    _type(qtbot, wizard.api_page.key, API_KEY)
    _next(qtbot, wizard)
    _type(qtbot, wizard.counter_page.outlet, "ORCHARD")
    _next(qtbot, wizard)
    _wait_for_cameras(qtbot, wizard)
    _next(qtbot, wizard)
    _next(qtbot, wizard)
    _next(qtbot, wizard)  # member cards: a new key for the business
    with qtbot.waitSignal(wizard.config_saved, timeout=5000):
        qtbot.mouseClick(wizard.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    wizard.runner.shutdown(wait=True)
    settings = config.load()
    assert settings.api_url == loyalty_server and len(settings.member_card_key) >= 16

    # Without a manager the self-test fails and says how to add one.
    code, lines, text = _self_test(settings)
    assert code == 1 and lines["staff"] == "FAIL", text
    assert 'frontdesk staff add --code M01 --name "Manager Name" --role manager' in text

    # IT runs `frontdesk staff add` twice.
    manager = _staff_add("M01", "Mei Tan", "manager", "4821")
    assert manager.returncode == 0, manager.stderr
    receptionist = _staff_add("S01", "Jo Lim", "receptionist", "5930")
    assert receptionist.returncode == 0, receptionist.stderr

    code, lines, text = _self_test(settings)
    assert code == 0, text
    assert lines["staff"] == lines["cards"] == lines["programme"] == lines["api"] == "OK", text
    assert "the server's programme" in text and API_KEY not in text

    # The counter: the members arrive with the first sync; Jo signs in and sells; Mei voids it with her PIN.
    from frontdesk.app.wiring import build_window
    from frontdesk.sales import LineInput, PaymentInput, SaleRequest
    from sync.cli import sync_once_main

    assert sync_once_main(settings, out=io.StringIO()) == 0
    window = build_window(settings)
    qtbot.addWidget(window)
    window.show()
    window.lock()
    panel = window.sign_in
    qtbot.waitUntil(lambda: panel.staff_list.count() == 2, timeout=5000)
    jo = next(panel.staff_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(2)
              if panel.staff_list.item(i).text().startswith("Jo Lim"))
    panel.select_staff(jo.id)
    qtbot.keyClicks(panel.pin_edit, "5930")
    with qtbot.waitSignal(panel.pin_checked, timeout=5000) as checked:
        qtbot.keyClick(panel.pin_edit, Qt.Key.Key_Return)
    assert checked.args[0].ok and window.staff.name == "Jo Lim"
    save_screenshot(window, "new-counter-signed-in")
    services = window.counter
    member_id = window.lookup.search("a").hits[0].id
    sale = services.sales.record(SaleRequest(
        member_id=member_id, staff_id=jo.id, receipt_no="ORCH-0001",
        lines=(LineInput(name="Men's Cut", sku="SVC-CUT-M", category="Hair", unit_price="38.00"),),
        payments=(PaymentInput(method="card", amount="38.00"),)))
    manager_id = next(s.id for s in services.staff.list_staff(managers_only=True))
    void = services.sales.reverse(sale.sale_id, void=True, manager_id=manager_id, manager_pin="4821",
                                  reason="Rang up on the wrong member", requested_by=jo.id)
    assert void.reversal is not None
    window.runner.shutdown()
    window.lookup.close()
    code, lines, text = _self_test(replace(settings))
    assert code == 0, text
