"""First-run setup: what IT fills in once per counter PC.

Pages: the loyalty API (URL and key), the counter (outlet code, counter id), the camera, phone region / currency /
time zone, and a summary of what will be written. Every field is checked as it is typed, with the same rules the
config loader applies (`frontdesk.config.from_mapping`), so the wizard cannot write a file the app would refuse.
Finish stores the API key in the OS keyring and writes the TOML file; both happen off the GUI thread, as do the
camera search and the connection test.
"""
from __future__ import annotations

import logging
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from PySide6.QtCore import QLocale, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QCompleter,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from frontdesk import config
from frontdesk.config import ConfigError, Settings
from frontdesk.secrets import mask_secret
from frontdesk.ui.tasks import TaskRunner

log = logging.getLogger(__name__)

COMMON_CURRENCIES = ("SGD", "MYR", "IDR", "THB", "PHP", "VND", "HKD", "TWD", "CNY", "JPY", "KRW", "AUD", "NZD",
                     "INR", "AED", "USD", "EUR", "GBP")
OUTLET_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,31}$")
COUNTER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,15}$")
CAMERA_PROBE_COUNT = 5
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def needs_setup(config_path: Path | None = None) -> bool:
    """True on a counter that has never been set up (no config file yet)."""
    return not (config_path or config.default_config_path()).exists()


def _setting_problem(dotted: str, value: Any) -> str:
    """What the config loader would say about this one value ("" when it is fine)."""
    section, key = dotted.split(".", 1)
    try:
        config.from_mapping({section: {key: value}})
    except ConfigError as error:
        return error.problem
    return ""


def region_name(region: str) -> str:
    territory = QLocale.codeToTerritory(region)
    name = QLocale.territoryToString(territory) if territory != QLocale.Country.AnyTerritory else ""
    return name or region


def _read_stored_key(key_name: str) -> str | None:
    from frontdesk import secrets

    return secrets.get_api_key(key_name)


def _store_key(key_name: str, api_key: str) -> None:
    from frontdesk import secrets

    secrets.set_api_key(api_key, key_name)


def _keyring_available() -> bool:
    from frontdesk import secrets

    return secrets.keyring_available()


def no_keyring_advice() -> str:
    from frontdesk.secrets import ENV_VAR

    return (f"This PC has no credential store to keep the API key in, so Finish saves every setting but not the "
            f"key. Set the {ENV_VAR} environment variable to the key for the Windows account that runs Front Desk "
            f"(System → Advanced system settings → Environment Variables, or `setx {ENV_VAR} <key>`), then start "
            "Front Desk again.")


class ValidatedPage(QWizardPage):
    """A page whose fields each carry a check; Next/Finish is enabled only when every check passes.

    A field's message shows once it has been edited, so an untouched empty page is not a wall of red.
    """

    def __init__(self, title: str, subtitle: str) -> None:
        super().__init__()
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.form = QFormLayout()
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        outer = QVBoxLayout(self)
        outer.addLayout(self.form)
        outer.addStretch(1)
        self._checks: list[tuple[Callable[[], str], QLabel, list[bool]]] = []

    def add_field(self, label: str, widget: QWidget, check: Callable[[], str], changed: Any,
                  help_text: str = "") -> QLabel:
        error = QLabel("")
        error.setObjectName("FieldError")
        error.setWordWrap(True)
        error.setAccessibleName(f"{label} problem")
        column = QVBoxLayout()
        column.setSpacing(2)
        column.addWidget(widget)
        if help_text:
            hint = QLabel(help_text)
            hint.setObjectName("Muted")
            hint.setWordWrap(True)
            column.addWidget(hint)
        column.addWidget(error)
        self.form.addRow(label, column)
        touched = [False]
        self._checks.append((check, error, touched))

        def on_change(*_: Any) -> None:
            touched[0] = True
            self.revalidate()

        changed.connect(on_change)
        return error

    def revalidate(self) -> None:
        for check, error, touched in self._checks:
            problem = check()
            error.setText(problem if touched[0] else "")
        self.completeChanged.emit()

    def problems(self) -> list[str]:
        return [p for p in (check() for check, _, _ in self._checks) if p]

    def isComplete(self) -> bool:  # noqa: N802 (Qt API)
        return not self.problems()

    def validatePage(self) -> bool:  # noqa: N802 (Qt API)
        for _, _, touched in self._checks:
            touched[0] = True
        self.revalidate()
        return self.isComplete()


class ApiPage(ValidatedPage):
    def __init__(self, settings: Settings, runner: TaskRunner) -> None:
        super().__init__("Loyalty API", "Where the central loyalty platform is, and this counter's API key. "
                                        "Leave the address empty for a counter that works offline only.")
        self.runner = runner
        self.key_name = settings.api_key_name
        self.stored_key: str | None = None
        self.key_checked = False  # the keyring has answered (with a key, none, or an error)
        self.url = QLineEdit(settings.api_url)
        self.url.setObjectName("ApiUrl")
        self.url.setPlaceholderText("https://api.eber.co/api/v3")
        self.add_field("API address", self.url, self.url_problem, self.url.textChanged)

        self.key = QLineEdit()
        self.key.setObjectName("ApiKey")
        self.key.setEchoMode(QLineEdit.EchoMode.Password)
        self.key.setPlaceholderText("paste the key from the loyalty platform (Channels → API)")
        self.show_key = QCheckBox("Show")
        self.show_key.toggled.connect(lambda on: self.key.setEchoMode(
            QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password))
        key_row = QWidget()
        key_layout = QHBoxLayout(key_row)
        key_layout.setContentsMargins(0, 0, 0, 0)
        key_layout.addWidget(self.key, 1)
        key_layout.addWidget(self.show_key)
        self.key_hint = QLabel("Kept in the operating system's credential store, never in the config file.")
        self.key_hint.setObjectName("Muted")
        self.key_hint.setWordWrap(True)
        self.add_field("API key", key_row, self.key_problem, self.key.textChanged)
        self.form.addRow("", self.key_hint)

        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("TestConnection")
        self.test_button.clicked.connect(self.test_connection)
        self.test_result = QLabel("")
        self.test_result.setObjectName("TestResult")
        self.test_result.setWordWrap(True)
        test_row = QWidget()
        test_layout = QHBoxLayout(test_row)
        test_layout.setContentsMargins(0, 0, 0, 0)
        test_layout.addWidget(self.test_button)
        test_layout.addWidget(self.test_result, 1)
        self.form.addRow("", test_row)
        self.url.textChanged.connect(lambda _: self._update_test_button())
        self.key.textChanged.connect(lambda _: self._update_test_button())
        self._update_test_button()
        self.runner.run_io(lambda: _read_stored_key(self.key_name), self._stored_key_found, self._keyring_failed)

    def _stored_key_found(self, key: str | None) -> None:
        from frontdesk.logs import register_secret

        self.key_checked = True
        self.stored_key = key or None
        register_secret(self.stored_key)
        if self.stored_key:
            self.key.setPlaceholderText(f"stored key {mask_secret(self.stored_key)} — leave empty to keep it")
        self.revalidate()
        self._update_test_button()

    def _keyring_failed(self, error: BaseException) -> None:
        self.key_checked = True
        self.key_hint.setText(f"The credential store could not be read ({error}). A key typed here will still be "
                              "tried when you press Finish.")

    def url_problem(self) -> str:
        url = self.url.text().strip()
        if not url:
            return ""
        problem = _setting_problem("api.url", url)
        if problem:
            return problem
        parts = urlsplit(url)
        if not parts.hostname:
            return "needs a server name, like https://api.eber.co/api/v3"
        if parts.scheme == "http" and parts.hostname not in LOCAL_HOSTS:
            return "must start with https:// — http:// would send the API key unencrypted"
        if " " in url:
            return "must not contain spaces"
        return ""

    def key_problem(self) -> str:
        key = self.key.text().strip()
        if key and any(c.isspace() for c in key):
            return "must not contain spaces or line breaks (check the copy and paste)"
        if self.url.text().strip() and not key and not self.stored_key:
            return "needed to talk to the API"
        return ""

    def effective_key(self) -> str:
        return self.key.text().strip() or (self.stored_key or "")

    def _update_test_button(self) -> None:
        self.test_button.setEnabled(bool(self.url.text().strip()) and not self.url_problem()
                                    and bool(self.effective_key()) and not self.key_problem())

    def test_connection(self) -> None:
        from sync.client import client_from_settings

        url, key = self.url.text().strip(), self.effective_key()
        wizard = self.wizard()
        verify = wizard.base.verify_tls if isinstance(wizard, SetupWizard) else True
        probe_settings = replace(Settings(), api_url=url, verify_tls=verify)
        self.test_button.setEnabled(False)
        self.test_result.setText("Connecting…")

        def probe() -> float:
            client = client_from_settings(probe_settings, key, connect_timeout=5.0, read_timeout=10.0)
            try:
                return client.probe()
            finally:
                client.close()

        self.runner.run_io(probe, self._test_passed, self._test_failed)

    def _test_passed(self, seconds: float) -> None:
        self.test_result.setText(f"Connected: the server accepted the key ({seconds * 1000:.0f} ms).")
        self._update_test_button()

    def _test_failed(self, error: BaseException) -> None:
        from frontdesk.logs import mask_sensitive

        self.test_result.setText(mask_sensitive(f"Not connected: {error}"))
        self._update_test_button()


class CounterPage(ValidatedPage):
    def __init__(self, settings: Settings, *, configured: bool = True) -> None:
        super().__init__("This counter", "Which outlet this PC is in and which counter it is; both appear on "
                                         "every sale sent to the loyalty platform.")
        # A new counter starts with an empty outlet: a guessed one would send sales under another shop's code.
        self.outlet = QLineEdit(settings.outlet_code if configured else "")
        self.outlet.setObjectName("OutletCode")
        self.outlet.setPlaceholderText("the outlet's store code, e.g. SG-ORCHARD")
        self.add_field("Outlet code", self.outlet, self.outlet_problem, self.outlet.textChanged,
                       "The store code used by the loyalty platform for this outlet.")
        self.counter = QLineEdit(settings.counter_id)
        self.counter.setObjectName("CounterId")
        self.counter.setPlaceholderText("C1")
        self.add_field("Counter", self.counter, self.counter_problem, self.counter.textChanged,
                       "Tells two counters in the same outlet apart, e.g. C1, C2.")

    def outlet_problem(self) -> str:
        outlet = self.outlet.text().strip()
        if not outlet:
            return "must not be empty"
        if not OUTLET_CODE.match(outlet):
            return "letters, digits, - and _ only (up to 32), e.g. BUGIS or SG-ORCHARD"
        return _setting_problem("counter.outlet", outlet)

    def counter_problem(self) -> str:
        counter = self.counter.text().strip()
        if not counter:
            return "must not be empty"
        if not COUNTER_ID.match(counter):
            return "letters, digits, - and _ only (up to 16), e.g. C1"
        return ""


class CameraPage(ValidatedPage):
    def __init__(self, settings: Settings, runner: TaskRunner) -> None:
        super().__init__("Camera", "The webcam that reads members' QR codes. A USB barcode scanner needs no "
                                   "setting: it types into the search box.")
        self.runner = runner
        self.configured = settings.camera_index
        self.camera = QComboBox()
        self.camera.setObjectName("Camera")
        self.add_field("Camera", self.camera, self.camera_problem, self.camera.currentIndexChanged)
        self.status = QLabel("")
        self.status.setObjectName("Muted")
        self.status.setWordWrap(True)
        self.look_again = QPushButton("Look again")
        self.look_again.clicked.connect(self.find_cameras)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status, 1)
        layout.addWidget(self.look_again)
        self.form.addRow("", row)
        self._fill([])
        self.find_cameras()

    def _fill(self, cameras: list[Any]) -> None:
        current = self.camera.currentData()
        chosen = self.configured if current is None else current
        self.camera.blockSignals(True)
        self.camera.clear()
        for info in cameras:
            self.camera.addItem(f"Camera {info.index} — {info.width}×{info.height}"
                                + (f" ({info.backend})" if info.backend else ""), info.index)
        if chosen not in [info.index for info in cameras]:
            self.camera.addItem(f"Camera {chosen} — not found now (plug it in and press Look again)", chosen)
        self.camera.setCurrentIndex(self.camera.findData(chosen))
        self.camera.blockSignals(False)
        self.revalidate()

    def find_cameras(self) -> None:
        from frontdesk.scan.frames import list_cameras

        self.look_again.setEnabled(False)
        self.status.setText("Looking for cameras…")
        self.runner.run_io(lambda: list_cameras(CAMERA_PROBE_COUNT), self._found, self._search_failed)

    def _found(self, cameras: list[Any]) -> None:
        self._fill(cameras)
        self.look_again.setEnabled(True)
        self.status.setText(f"{len(cameras)} camera(s) found." if cameras else
                            "No camera answered. You can finish now and choose the camera later.")

    def _search_failed(self, error: BaseException) -> None:
        self.look_again.setEnabled(True)
        self.status.setText(f"Could not look for cameras ({error}).")

    def camera_index(self) -> int:
        data = self.camera.currentData()
        return int(data) if data is not None else self.configured

    def camera_problem(self) -> str:
        return _setting_problem("scanner.camera_index", self.camera_index())


class LocalePage(ValidatedPage):
    def __init__(self, settings: Settings) -> None:
        super().__init__("Region, money and time", "How phone numbers are read when typed without a country code, "
                                                    "the currency of prices, and the outlet's time zone.")
        self.region = QComboBox()
        self.region.setObjectName("PhoneRegion")
        regions = sorted(phonenumbers.SUPPORTED_REGIONS, key=region_name)
        for region in regions:
            code = phonenumbers.country_code_for_region(region)
            self.region.addItem(f"{region_name(region)} ({region}, +{code})", region)
        self.region.setCurrentIndex(max(0, self.region.findData(settings.phone_region)))
        self.add_field("Phone region", self.region, self.region_problem, self.region.currentIndexChanged)

        self.currency = QComboBox()
        self.currency.setObjectName("Currency")
        self.currency.setEditable(True)
        self.currency.addItems(list(COMMON_CURRENCIES))
        self.currency.setCurrentText(settings.currency)
        self.add_field("Currency", self.currency, self.currency_problem, self.currency.currentTextChanged,
                       "Three-letter ISO code, e.g. SGD.")

        self.timezone = QComboBox()
        self.timezone.setObjectName("TimeZone")
        self.timezone.setEditable(True)
        zones = sorted(zoneinfo.available_timezones())
        self.timezone.addItems(zones)
        completer = QCompleter(zones, self.timezone)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)
        self.timezone.setCompleter(completer)
        self.timezone.setCurrentText(settings.timezone)
        self.add_field("Time zone", self.timezone, self.timezone_problem, self.timezone.currentTextChanged,
                       "Type part of a city, e.g. Singapore.")

    def region_code(self) -> str:
        return str(self.region.currentData() or "")

    def region_problem(self) -> str:
        return _setting_problem("counter.phone_region", self.region_code()) if self.region_code() else "choose one"

    def currency_code(self) -> str:
        return self.currency.currentText().strip().upper()

    def currency_problem(self) -> str:
        return _setting_problem("counter.currency", self.currency_code())

    def timezone_name(self) -> str:
        return self.timezone.currentText().strip()

    def timezone_problem(self) -> str:
        return _setting_problem("counter.timezone", self.timezone_name())


CARD_KEY_NEW, CARD_KEY_SHARED, CARD_KEY_KEEP = "new", "shared", "keep"
CARD_KEY_MIN_LENGTH = 16


def new_card_key() -> str:
    """A member-card signing key for a business: 128 random bits, in letters and digits easy to read out."""
    import base64
    import secrets as token_source

    return base64.b32encode(token_source.token_bytes(20)).decode("ascii").rstrip("=")


class CardKeyPage(ValidatedPage):
    """The key that signs this business's member cards: made here for the first counter, typed in on the others."""

    def __init__(self, settings: Settings) -> None:
        super().__init__("Member cards", "Member cards carry a code signed with this business's key, so a card "
                                         "cannot be forged from a member number. Every counter of the business "
                                         "needs the same key.")
        current = settings.member_card_key
        self.current = current if current and current != config.DEMO_CARD_KEY else ""
        self.generated = new_card_key()
        self.mode = QComboBox()
        self.mode.setObjectName("CardKeyMode")
        if self.current:
            self.mode.addItem("Keep this counter's current key", CARD_KEY_KEEP)
        self.mode.addItem("This is the business's first counter: make a new key", CARD_KEY_NEW)
        self.mode.addItem("Another counter already has the key: type it in", CARD_KEY_SHARED)
        self.shown_key = QLineEdit(self.generated)
        self.shown_key.setObjectName("NewCardKey")
        self.shown_key.setReadOnly(True)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.copy_key)
        key_row = QWidget()
        key_layout = QHBoxLayout(key_row)
        key_layout.setContentsMargins(0, 0, 0, 0)
        key_layout.addWidget(self.shown_key, 1)
        key_layout.addWidget(self.copy_button)
        self.shared = QLineEdit()
        self.shared.setObjectName("SharedCardKey")
        self.shared.setPlaceholderText("the key from the first counter's setup (or `config show` there)")
        self.add_field("Card key", self.mode, lambda: "", self.mode.currentIndexChanged)
        self.form.addRow("New key", key_row)
        self.new_hint = QLabel("<b>Write this key down or copy it now:</b> it is shown only here, and the other "
                               "counters of this business need it in their setup.")
        self.new_hint.setWordWrap(True)
        self.form.addRow("", self.new_hint)
        self.add_field("Shared key", self.shared, self.shared_problem, self.shared.textChanged)
        self.key_rows = (key_row, self.new_hint)
        self.mode.currentIndexChanged.connect(lambda _i: self._mode_changed())
        self._mode_changed()

    def chosen_mode(self) -> str:
        return str(self.mode.currentData())

    def select_mode(self, mode: str) -> None:
        self.mode.setCurrentIndex(self.mode.findData(mode))

    def _mode_changed(self) -> None:
        mode = self.chosen_mode()
        for widget in self.key_rows:
            self.form.setRowVisible(widget, mode == CARD_KEY_NEW)
        self.shared.setEnabled(mode == CARD_KEY_SHARED)
        self.revalidate()

    def copy_key(self) -> None:
        from PySide6.QtGui import QGuiApplication

        clipboard = QGuiApplication.clipboard()
        if clipboard is not None:
            clipboard.setText(self.generated)
        self.copy_button.setText("Copied")

    def shared_problem(self) -> str:
        if self.chosen_mode() != CARD_KEY_SHARED:
            return ""
        key = self.shared.text().strip()
        if not key:
            return "type the key the other counters use"
        if key == config.DEMO_CARD_KEY:
            return "this is the published demo key: make a new key for the business instead"
        if len(key) < CARD_KEY_MIN_LENGTH or any(c.isspace() for c in key):
            return f"a card key is at least {CARD_KEY_MIN_LENGTH} characters, without spaces"
        return ""

    def card_key(self) -> str:
        mode = self.chosen_mode()
        if mode == CARD_KEY_KEEP:
            return self.current
        if mode == CARD_KEY_SHARED:
            return self.shared.text().strip()
        return self.generated


class SummaryPage(QWizardPage):
    def __init__(self, config_path: Path) -> None:
        super().__init__()
        self.config_path = config_path
        self.setTitle("Ready to save")
        layout = QVBoxLayout(self)
        self.preview = QPlainTextEdit()
        self.preview.setObjectName("Preview")
        self.preview.setReadOnly(True)
        layout.addWidget(self.preview, 1)
        self.key_line = QLabel("")
        self.key_line.setWordWrap(True)
        layout.addWidget(self.key_line)
        self.error = QLabel("")
        self.error.setObjectName("FieldError")
        self.error.setWordWrap(True)
        layout.addWidget(self.error)

    def initializePage(self) -> None:  # noqa: N802 (Qt API)
        wizard = self.wizard()
        assert isinstance(wizard, SetupWizard)
        self.error.setText("")
        try:
            settings = wizard.collected_settings()
        except ConfigError as error:
            self.preview.setPlainText("")
            self.error.setText(f"{error.key}: {error.problem}")
            return
        self.preview.setPlainText(config.to_toml(settings).replace(
            f'member_card_key = "{settings.member_card_key}"', 'member_card_key = "***"'))
        if not wizard.keyring_available and settings.api_url and wizard.api_page.key.text().strip():
            self.key_line.setText(no_keyring_advice())
            self.setSubTitle(f"Finish writes this to {self.config_path}.")
            return
        typed = wizard.api_page.key.text().strip()
        stores_key = " and stores the API key in the operating system's credential store" if (
            settings.api_url and typed) else ""
        self.setSubTitle(f"Finish writes this to {self.config_path}{stores_key}.")
        if not settings.api_url:
            self.key_line.setText("API key: not needed (no API address).")
        elif typed:
            self.key_line.setText(f"API key: {mask_secret(typed)} will be stored as “{settings.api_key_name}”.")
        else:
            self.key_line.setText(f"API key: the stored key {mask_secret(wizard.api_page.stored_key or '')} is kept.")


class SetupWizard(QWizard):
    """The first-run wizard. `config_saved(Settings)` fires once the file and the key are stored."""

    config_saved = Signal(object)

    def __init__(self, settings: Settings | None = None, config_path: Path | None = None,
                 parent: QWidget | None = None, *, runner: TaskRunner | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("SetupWizard")
        self.setWindowTitle("Set up Front Desk")
        self.setWizardStyle(QWizard.WizardStyle.ModernStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnStartPage, True)
        self.resize(720, 560)
        self.base = settings or Settings()
        self.config_path = config_path or config.default_config_path()
        self.runner = runner or TaskRunner(self)
        self._own_runner = runner is None
        self.saved_settings: Settings | None = None
        self._saving = False

        self.keyring_available = True
        self.key_stored = False
        self.key_problem = ""  # why the API key was not stored (no credential store): shown, logged
        self._discard_confirmed = False
        self.api_page = ApiPage(self.base, self.runner)
        self.counter_page = CounterPage(self.base, configured=self.config_path.exists())
        self.camera_page = CameraPage(self.base, self.runner)
        self.locale_page = LocalePage(self.base)
        self.card_page = CardKeyPage(self.base)
        self.summary_page = SummaryPage(self.config_path)
        for page in (self.api_page, self.counter_page, self.camera_page, self.locale_page, self.card_page,
                     self.summary_page):
            self.addPage(page)
        self.finished.connect(self._stop_runner)
        self._initial_state = self._typed_state()
        self.runner.run_io(_keyring_available, self._keyring_known)

    def _keyring_known(self, available: bool) -> None:
        self.keyring_available = bool(available)
        if not available:
            self.api_page.key_hint.setText(no_keyring_advice())

    def collected_settings(self) -> Settings:
        """The settings the pages describe, on top of everything else already configured; validated."""
        candidate = replace(
            self.base,
            api_url=self.api_page.url.text().strip(),
            outlet_code=self.counter_page.outlet.text().strip(),
            counter_id=self.counter_page.counter.text().strip(),
            camera_index=self.camera_page.camera_index(),
            phone_region=self.locale_page.region_code(),
            currency=self.locale_page.currency_code(),
            timezone=self.locale_page.timezone_name(),
            member_card_key=self.card_page.card_key(),
        )
        return config.from_mapping({}, base=candidate)

    def accept(self) -> None:
        """Finish: store the key, then write the file, off the GUI thread; close only once both worked."""
        if self._saving:
            return
        try:
            settings = self.collected_settings()
        except ConfigError as error:
            self.summary_page.error.setText(f"{error.key}: {error.problem}")
            return
        api_key = self.api_page.key.text().strip()
        path = self.config_path
        self._saving = True
        self.button(QWizard.WizardButton.FinishButton).setEnabled(False)
        self.summary_page.error.setText("")

        def save() -> tuple[Path, bool, str]:
            from frontdesk.secrets import SecretStoreUnavailable

            stored, problem = False, ""
            if settings.api_url and api_key:
                try:
                    _store_key(settings.api_key_name, api_key)
                    stored = True
                except SecretStoreUnavailable as unavailable:
                    problem = str(unavailable)  # the settings are still saved; the advice says how to add the key
            return config.save(settings, path), stored, problem

        self.runner.run_io(save, lambda written: self._saved(settings, *written), self._save_failed)

    def _saved(self, settings: Settings, path: Path, key_stored: bool = False, key_problem: str = "") -> None:
        self._saving = False
        self.saved_settings = settings
        self.key_stored, self.key_problem = key_stored, key_problem
        if key_problem:
            log.warning("setup wizard: the API key was not stored (%s); settings saved to %s", key_problem, path)
        log.info("setup wizard saved the configuration to %s (outlet %s, counter %s)", path, settings.outlet_code,
                 settings.counter_id)
        self.config_saved.emit(settings)
        super().accept()

    def _save_failed(self, error: BaseException) -> None:
        self._saving = False
        self.button(QWizard.WizardButton.FinishButton).setEnabled(True)
        message = str(error)
        if isinstance(error, OSError):
            blocking = next((p for p in self.config_path.parents if p.exists() and not p.is_dir()), None)
            reason = f"{blocking} is a file where a folder is needed" if blocking else (error.strerror or str(error))
            message = f"could not write {self.config_path} ({reason})"
        self.summary_page.error.setText(f"Not saved: {message}")

    def _typed_state(self) -> tuple[Any, ...]:
        return (self.api_page.url.text().strip(), self.api_page.key.text().strip(),
                self.counter_page.outlet.text().strip(), self.counter_page.counter.text().strip(),
                self.locale_page.region_code(), self.locale_page.currency_code(), self.locale_page.timezone_name(),
                self.card_page.chosen_mode(), self.card_page.shared.text().strip())

    def has_input(self) -> bool:
        """Whether anything was typed or chosen that Cancel would throw away (the camera search is not typing)."""
        return self._typed_state() != self._initial_state

    def confirm_discard(self) -> bool:
        """Cancel with something typed: ask first (Esc or a stray click must not throw away a page of settings)."""
        from PySide6.QtWidgets import QMessageBox

        box = QMessageBox(QMessageBox.Icon.Question, "Discard the setup?",
                          "Nothing has been saved yet. Close the setup and discard what you typed?",
                          QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("DiscardSetup")
        box.button(QMessageBox.StandardButton.Cancel).setText("Keep editing")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.discard_box = box
        return box.exec() == QMessageBox.StandardButton.Discard

    def reject(self) -> None:
        if self._saving:
            return
        if self.saved_settings is None and not self._discard_confirmed and self.has_input():
            if not self.confirm_discard():
                return
            self._discard_confirmed = True
        super().reject()

    def _stop_runner(self) -> None:
        if self._own_runner:
            self.runner.shutdown(wait=False)


def run_setup_wizard(settings: Settings | None = None, config_path: Path | None = None,
                     parent: QWidget | None = None) -> Settings | None:
    """Show the wizard modally; the saved settings, or None if IT cancelled.

    Without `settings`, an existing config file is the starting point (running setup again changes only what IT
    changes)."""
    path = config_path or config.default_config_path()
    if settings is None and path.exists():
        try:
            settings = config.load(path)
        except ConfigError as error:
            log.warning("setup wizard: starting from defaults, the config file has problems: %s", error)
    wizard = SetupWizard(settings, config_path, parent)
    from frontdesk.ui.widgets.screen import fit_to_screen

    fit_to_screen(wizard)
    wizard.exec()
    run_setup_wizard.last_wizard = wizard  # type: ignore[attr-defined]  # cmd_setup reports a key not stored
    return wizard.saved_settings
