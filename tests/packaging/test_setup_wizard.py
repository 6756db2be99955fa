"""The first-run wizard, driven like IT would: typing, clicking Next, Finish; the TOML file and the keyring checked."""
from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWizard

from frontdesk import config
from frontdesk.ui.setup_wizard import SetupWizard, needs_setup
from tests.conftest import save_screenshot

API_KEY = "ek_test_0123456789abcdef"


@pytest.fixture
def wizard(qtbot, memory_keyring):
    made: list[SetupWizard] = []

    def make(settings: config.Settings | None = None, config_path=None) -> SetupWizard:
        wiz = SetupWizard(settings, config_path)
        wiz.show()
        qtbot.waitExposed(wiz)
        qtbot.waitUntil(lambda: wiz.api_page.key_checked, timeout=3000)
        made.append(wiz)
        return wiz

    yield make
    for wiz in made:
        wiz._discard_confirmed = True  # closing at teardown must not wait for the "discard?" question
        wiz.close()
        wiz.runner.shutdown(wait=True)
        wiz.deleteLater()


def _next(qtbot, wiz: SetupWizard) -> None:
    button = wiz.button(QWizard.WizardButton.NextButton)
    assert button.isEnabled(), [p for p in getattr(wiz.currentPage(), "problems", lambda: [])()]
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _type(qtbot, line_edit, text: str) -> None:
    line_edit.selectAll()
    line_edit.del_()
    qtbot.keyClicks(line_edit, text)


def _wait_for_cameras(qtbot, wiz: SetupWizard) -> None:
    qtbot.waitUntil(lambda: wiz.camera_page.look_again.isEnabled(), timeout=10_000)


def test_filling_every_page_writes_the_file_and_stores_the_key(qtbot, wizard, memory_keyring):
    from frontdesk import secrets

    wiz = wizard()
    assert needs_setup()
    _type(qtbot, wiz.api_page.url, "https://api.example.com/api/v3")
    _type(qtbot, wiz.api_page.key, API_KEY)
    save_screenshot(wiz, "setup-1-api")
    _next(qtbot, wiz)

    _type(qtbot, wiz.counter_page.outlet, "ORCHARD")
    _type(qtbot, wiz.counter_page.counter, "C2")
    save_screenshot(wiz, "setup-2-counter")
    _next(qtbot, wiz)

    _wait_for_cameras(qtbot, wiz)
    save_screenshot(wiz, "setup-3-camera")
    _next(qtbot, wiz)

    page = wiz.locale_page
    page.region.setCurrentIndex(page.region.findData("MY"))
    page.currency.setCurrentText("")
    qtbot.keyClicks(page.currency.lineEdit(), "myr")
    page.timezone.setCurrentText("")
    qtbot.keyClicks(page.timezone.lineEdit(), "Asia/Kuala_Lumpur")
    save_screenshot(wiz, "setup-4-locale")
    _next(qtbot, wiz)

    card_key = wiz.card_page.card_key()
    assert len(card_key) >= 16 and wiz.card_page.shown_key.text() == card_key
    save_screenshot(wiz, "setup-5-card-key")
    _next(qtbot, wiz)

    preview = wiz.summary_page.preview.toPlainText()
    assert 'outlet = "ORCHARD"' in preview and API_KEY not in preview
    assert "…cdef" in wiz.summary_page.key_line.text()
    save_screenshot(wiz, "setup-6-summary")
    with qtbot.waitSignal(wiz.config_saved, timeout=5000):
        qtbot.mouseClick(wiz.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)

    path = config.default_config_path()
    saved = config.load(path)
    assert (saved.api_url, saved.outlet_code, saved.counter_id) == ("https://api.example.com/api/v3", "ORCHARD", "C2")
    assert (saved.phone_region, saved.currency, saved.timezone) == ("MY", "MYR", "Asia/Kuala_Lumpur")
    assert saved.member_card_key == card_key
    assert API_KEY not in path.read_text(encoding="utf-8")
    assert secrets.get_api_key(saved.api_key_name) == API_KEY
    assert not needs_setup() and not wiz.isVisible()


def test_each_field_is_checked_as_it_is_typed(qtbot, wizard):
    wiz = wizard()
    api = wiz.api_page
    _type(qtbot, api.url, "http://api.example.com")
    assert "https://" in api.url_problem() and not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    error_labels = [label.text() for label in api.findChildren(type(api.key_hint))
                    if label.objectName() == "FieldError"]
    assert any("unencrypted" in text for text in error_labels)
    _type(qtbot, api.url, "http://127.0.0.1:5000/v3/public")  # a local test server may use http
    assert api.url_problem() == "" and "needed" in api.key_problem()
    _type(qtbot, api.key, "two words")
    assert "spaces" in api.key_problem()
    _type(qtbot, api.key, API_KEY)
    assert wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    save_screenshot(wiz, "setup-api-checked")
    _next(qtbot, wiz)

    _type(qtbot, wiz.counter_page.outlet, "BAD CODE!")
    assert "letters, digits" in wiz.counter_page.outlet_problem()
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    save_screenshot(wiz, "setup-counter-error")
    _type(qtbot, wiz.counter_page.outlet, "BUGIS")
    _next(qtbot, wiz)
    _wait_for_cameras(qtbot, wiz)
    _next(qtbot, wiz)

    page = wiz.locale_page
    page.timezone.setCurrentText("Asia/Nowhere")
    assert "time zone" in page.timezone_problem() and not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    page.currency.setCurrentText("DOLLARS")
    assert "3-letter" in page.currency_problem()


def test_an_offline_counter_needs_no_key(qtbot, wizard, memory_keyring):
    wiz = wizard()
    _next(qtbot, wiz)
    _type(qtbot, wiz.counter_page.outlet, "ORCHARD")
    _next(qtbot, wiz)
    _wait_for_cameras(qtbot, wiz)
    for _ in range(3):
        _next(qtbot, wiz)
    assert "not needed" in wiz.summary_page.key_line.text()
    with qtbot.waitSignal(wiz.config_saved, timeout=5000):
        qtbot.mouseClick(wiz.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    assert config.load().api_url == "" and not memory_keyring.passwords


def test_running_it_again_keeps_other_settings_and_the_stored_key(qtbot, wizard, memory_keyring):
    from frontdesk import secrets

    path = config.default_config_path()
    earlier = config.from_mapping({"api": {"url": "https://api.example.com/api/v3"},
                                   "counter": {"outlet": "TAMPINES"},
                                   "scanner": {"member_card_key": "shop-hmac-key-9"}})
    config.save(earlier, path)
    secrets.set_api_key(API_KEY, name=earlier.api_key_name)

    wiz = wizard(config.load(path), path)
    qtbot.waitUntil(lambda: wiz.api_page.stored_key == API_KEY, timeout=3000)
    assert "…cdef" in wiz.api_page.key.placeholderText() and wiz.api_page.key.text() == ""
    assert wiz.counter_page.outlet.text() == "TAMPINES"
    _next(qtbot, wiz)
    _type(qtbot, wiz.counter_page.counter, "C3")
    _next(qtbot, wiz)
    _wait_for_cameras(qtbot, wiz)
    assert wiz.card_page.chosen_mode() == "keep"
    for _ in range(3):
        _next(qtbot, wiz)
    with qtbot.waitSignal(wiz.config_saved, timeout=5000):
        qtbot.mouseClick(wiz.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    saved = config.load(path)
    assert saved.counter_id == "C3" and saved.member_card_key == "shop-hmac-key-9"
    assert secrets.get_api_key(saved.api_key_name) == API_KEY


def test_a_file_that_cannot_be_written_keeps_the_wizard_open_with_the_reason(qtbot, wizard, tmp_path):
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the config folder should be")
    wiz = wizard(None, blocker / "frontdesk.toml")
    _next(qtbot, wiz)
    _type(qtbot, wiz.counter_page.outlet, "ORCHARD")
    _next(qtbot, wiz)
    _wait_for_cameras(qtbot, wiz)
    for _ in range(3):
        _next(qtbot, wiz)
    qtbot.mouseClick(wiz.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not saved" in wiz.summary_page.error.text(), timeout=5000)
    assert wiz.isVisible() and wiz.saved_settings is None
    assert wiz.button(QWizard.WizardButton.FinishButton).isEnabled()
    save_screenshot(wiz, "setup-save-failed")


def test_test_connection_talks_to_a_real_server(qtbot, wizard, tmp_path):
    from devtools.loyalty_server.server import ReferenceServer, ServerConfig

    server = ReferenceServer(ServerConfig(db_path=str(tmp_path / "server.sqlite"), api_key=API_KEY, members=5))
    url = server.start()
    try:
        wiz = wizard()
        api = wiz.api_page
        _type(qtbot, api.url, url)
        _type(qtbot, api.key, API_KEY)
        qtbot.mouseClick(api.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: api.test_result.text().startswith("Connected"), timeout=10_000)
        save_screenshot(wiz, "setup-connection-ok")
        _type(qtbot, api.key, "ek_wrong_key_000000")
        qtbot.mouseClick(api.test_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: api.test_result.text().startswith("Not connected"), timeout=10_000)
        assert "401" in api.test_result.text() and "ek_wrong_key_000000" not in api.test_result.text()
    finally:
        server.stop()


def test_a_pc_without_a_keyring_still_saves_every_setting_and_explains_the_environment_variable(qtbot, wizard):
    import keyring
    from keyring.backends import fail

    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        wiz = wizard()
        qtbot.waitUntil(lambda: not wiz.keyring_available, timeout=3000)
        assert "FRONTDESK_API_KEY" in wiz.api_page.key_hint.text()
        _type(qtbot, wiz.api_page.url, "https://api.example.com/api/v3")
        _type(qtbot, wiz.api_page.key, API_KEY)
        _next(qtbot, wiz)
        _type(qtbot, wiz.counter_page.outlet, "ORCHARD")
        _next(qtbot, wiz)
        _wait_for_cameras(qtbot, wiz)
        for _ in range(3):
            _next(qtbot, wiz)
        assert "FRONTDESK_API_KEY" in wiz.summary_page.key_line.text()
        save_screenshot(wiz, "setup-no-keyring-summary")
        with qtbot.waitSignal(wiz.config_saved, timeout=5000):
            qtbot.mouseClick(wiz.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    finally:
        keyring.set_keyring(previous)
    saved = config.load()
    assert (saved.api_url, saved.outlet_code) == ("https://api.example.com/api/v3", "ORCHARD")
    assert saved.member_card_key == wiz.card_page.generated
    assert not wiz.key_stored and "FRONTDESK_API_KEY" in wiz.key_problem
    assert API_KEY not in config.default_config_path().read_text(encoding="utf-8")


def test_a_new_counter_has_no_outlet_filled_in(qtbot, wizard):
    wiz = wizard()
    _next(qtbot, wiz)
    assert wiz.counter_page.outlet.text() == ""
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    assert "must not be empty" in wiz.counter_page.outlet_problem()


def test_the_other_counters_type_in_the_shared_card_key(qtbot, wizard):
    wiz = wizard()
    _next(qtbot, wiz)
    _type(qtbot, wiz.counter_page.outlet, "ORCHARD")
    _next(qtbot, wiz)
    _wait_for_cameras(qtbot, wiz)
    _next(qtbot, wiz)
    _next(qtbot, wiz)
    page = wiz.card_page
    page.select_mode("shared")
    assert not wiz.button(QWizard.WizardButton.NextButton).isEnabled()
    _type(qtbot, page.shared, config.DEMO_CARD_KEY)
    assert "demo key" in page.shared_problem()
    _type(qtbot, page.shared, "short")
    assert "at least 16" in page.shared_problem()
    _type(qtbot, page.shared, "K5XQ7ZBD3UFGN2YAQ4LM")
    save_screenshot(wiz, "setup-5-card-key-shared")
    _next(qtbot, wiz)
    with qtbot.waitSignal(wiz.config_saved, timeout=5000):
        qtbot.mouseClick(wiz.button(QWizard.WizardButton.FinishButton), Qt.MouseButton.LeftButton)
    assert config.load().member_card_key == "K5XQ7ZBD3UFGN2YAQ4LM"


def _answer_discard_box(qtbot, wiz, button) -> None:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    def answer() -> None:
        box = getattr(wiz, "discard_box", None)
        if box is None or not box.isVisible():
            QTimer.singleShot(20, answer)
            return
        save_screenshot(box, "setup-discard-question")
        box.button(button).click()

    QTimer.singleShot(20, answer)
    del QMessageBox


def test_cancel_asks_before_discarding_what_was_typed(qtbot, wizard):
    from PySide6.QtWidgets import QMessageBox

    wiz = wizard()
    _type(qtbot, wiz.api_page.url, "https://api.example.com/api/v3")
    _answer_discard_box(qtbot, wiz, QMessageBox.StandardButton.Cancel)
    wiz.reject()
    assert wiz.isVisible() and wiz.api_page.url.text() == "https://api.example.com/api/v3"
    _answer_discard_box(qtbot, wiz, QMessageBox.StandardButton.Discard)
    wiz.reject()
    assert not wiz.isVisible() and wiz.saved_settings is None
    assert not config.default_config_path().exists()


def test_cancel_on_an_untouched_wizard_just_closes(qtbot, wizard):
    wiz = wizard()
    wiz.reject()
    assert not wiz.isVisible()
