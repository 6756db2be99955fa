"""Start-up: settings, window, then the database. Kept small so a cold start stays close to a bare Qt window's.

The window is shown before anything else is loaded (Qt and its own widgets only); `CounterOpening` then takes the
writer lock, checks the disk and the file, runs the migration check and builds the services on the task runner's
database worker, and hands them to the window. The camera and OpenCV, the sync engine, the invoice mailbox and the
demo loyalty server start once the services are there; the counter dialogs' modules are imported on a worker
meanwhile, so the first checkout opens as fast as the next.
"""
from __future__ import annotations

import argparse
import html
import logging
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from frontdesk import config
from frontdesk.config import Settings

log = logging.getLogger(__name__)

DEMO_MEMBERS = 300


def resolve_settings(args: argparse.Namespace) -> Settings:
    """Config file, then flags; a counter with nothing configured starts in demo mode."""
    from frontdesk.app.config_cli import config_path_from_args, settings_from_args

    settings, _sources = settings_from_args(args)
    nothing_configured = not config_path_from_args(args).exists() and not getattr(args, "db", None)
    if settings.demo or nothing_configured:
        demo_db = settings.database if getattr(args, "db", None) else str(config.data_dir() / "demo.sqlite")
        settings = replace(settings, demo=True, database=demo_db,
                           member_card_key=settings.member_card_key or config.DEMO_CARD_KEY)
    return settings


def prepare_database(settings: Settings) -> None:
    from frontdesk.store.db import upgrade_database

    path = settings.database_path
    if settings.demo and not path.exists():
        from frontdesk.demo.generator import build_demo_database

        build_demo_database(path, members=DEMO_MEMBERS)
    else:
        upgrade_database(path)


DEMO_SERVER_MISSING = ("The demo loyalty server is a developer tool and is not installed here, so the demo counter "
                       "works offline. From a source checkout: .venv/bin/pip install -e ./devtools")


class DemoServerMissing(RuntimeError):
    """The reference server (devtools, never in the installed product) is not importable."""


def start_demo_server(settings: Settings) -> tuple[Settings, str, object]:
    """The demo counter talks to a reference loyalty server on a free 127.0.0.1 port, seeded like its database.

    The server lives in `devtools` (its own distribution): found by name when installed, never bundled."""
    try:
        from devtools.loyalty_server.demo import start_demo_server as start
    except ImportError as error:
        raise DemoServerMissing(f"{DEMO_SERVER_MISSING} ({error})") from error

    url, api_key, stop = start(config.data_dir() / "demo-server.sqlite", members=DEMO_MEMBERS)
    return replace(settings, api_url=url, verify_tls=False), api_key, stop


class StartupRefused(Exception):
    """Start-up stopped with a message already shown; `exit_code` is what the process returns."""

    def __init__(self, exit_code: int) -> None:
        super().__init__(exit_code)
        self.exit_code = exit_code


def open_counter_storage(settings: Settings, show: Callable[[object], bool]) -> None:
    """Check the data folder and the database before the counter opens them; `show(box)` shows a message box and
    says whether its accepting button was pressed. Raises `StartupRefused` after telling the user.

    Nothing is lost on any path: a damaged file is only ever moved aside (when the user restores the newest
    backup), never deleted or overwritten, and a newer-schema file is not touched."""
    from frontdesk.store.health import StorageProblem, check_database_writable

    for _attempt in range(2):
        try:
            check_database_writable(settings.database_path)
            prepare_database(settings)
            return
        except StorageProblem as problem:
            restore_newest_backup(settings, backup_to_restore(problem, show))
    raise StartupRefused(6)


def backup_to_restore(problem: Exception, show: Callable[[object], bool], parent: object = None, *,
                      offer_restore: bool = True) -> Path:
    """Tell the user about a storage problem (`show(box)`, see `open_counter_storage`); the backup to put in place
    when they chose to restore it, else raises `StartupRefused` with the problem's exit code. `offer_restore`
    False: a backup already restored did not help, so none is offered again."""
    from frontdesk.store.health import DatabaseDamaged
    from frontdesk.ui.startup_notice import storage_problem_box

    log.error("%s", problem)
    damaged = problem if isinstance(problem, DatabaseDamaged) and offer_restore else None
    box = storage_problem_box(problem.title, str(problem),  # type: ignore[attr-defined]
                              can_restore=bool(damaged and damaged.backup), parent=parent)  # type: ignore[arg-type]
    if not show(box) or damaged is None or damaged.backup is None:
        raise StartupRefused(problem.exit_code) from None  # type: ignore[attr-defined]
    return damaged.backup


def restore_newest_backup(settings: Settings, backup: Path) -> None:
    from frontdesk.store.health import restore_backup

    kept = restore_backup(settings.database_path, backup)
    log.warning("restored %s from %s; the damaged file is kept as %s", settings.database_path, backup, kept)


OPEN_FAILED_TITLE = "Front Desk could not open the counter database"
EXIT_ALREADY_OPEN = 3  # another process holds the database's writer lock
EXIT_OPEN_FAILED = 1  # anything else that stopped the database opening (a failed migration): see the crash report


UPGRADING_TEXT = ("Updating the member cache for this version of Front Desk (a large cache takes a minute or two; "
                  "a copy of it is kept)…")


class CounterOpening:
    """Opens the counter's storage and services after the first paint and hands them to `window`.

    On the task runner's database worker (the GUI thread never waits on the disk): the data folder check, the writer
    lock (when `writer` is given), the file's health and migration check (or the demo database on a first start),
    then the engine and the services (`frontdesk.app.wiring.build_services`). Back on the GUI thread they are
    attached to the window and `on_ready()` runs.

    A problem gets the message it got when all this ran before the window, through `show(box)`: another process
    holds the file ("Front Desk is already open"), a storage problem (its dialog, with the newest backup offered
    for a damaged file: restored on the worker, then one more try), anything else (a failed migration) a crash
    report and a dialog saying where it is. Then `on_refused(exit_code)`; meanwhile the window says it could not
    open.
    """

    def __init__(self, window: Any, settings: Settings, show: Callable[[object], bool], *,
                 writer: Any = None, on_ready: Callable[[], None], on_refused: Callable[[int], None]) -> None:
        self.window = window
        self.settings = settings
        self.show = show
        self.writer = writer
        self.on_ready = on_ready
        self.on_refused = on_refused
        self._restores = 0

    def start(self) -> None:
        self.window.runner.run_db(self._upgrade_pending, self._before_open, self._failed)

    def _upgrade_pending(self) -> bool:
        """Does the file need a schema upgrade? (Read-only: a large cache's upgrade can take a minute, said first.)"""
        from frontdesk.store.db import current_revision, head_revision

        path = self.settings.database_path
        try:
            return path.exists() and current_revision(path) not in (None, head_revision())
        except Exception:  # noqa: BLE001 - a damaged or unreadable file: the opening itself says what is wrong
            return False

    def _before_open(self, upgrade_pending: bool) -> None:
        if upgrade_pending:
            self.window.opening_status(UPGRADING_TEXT)
        self.window.runner.run_db(self._open_or_refusal, self._opened, self._failed)

    def _open_or_refusal(self) -> Any:
        """`_open`, with the expected refusals (another process has the file, a storage problem) returned rather than
        raised: each gets its own dialog, not a "background task failed" traceback in the log."""
        from frontdesk.store.health import StorageProblem
        from frontdesk.store.writer import DatabaseBusy

        try:
            return self._open()
        except (DatabaseBusy, StorageProblem) as refusal:
            return refusal

    def _open(self) -> tuple[Any, Any]:
        from frontdesk.app.wiring import build_services
        from frontdesk.store.health import check_database_writable, check_writable

        if self.writer is not None and not self.writer.held:
            check_writable(self.settings.database_path.parent)
            self.writer.acquire()
        check_database_writable(self.settings.database_path)
        prepare_database(self.settings)
        return build_services(self.settings)

    def _opened(self, services: Any) -> None:
        if isinstance(services, Exception):
            self._failed(services)
            return
        lookup, counter = services
        self.window.attach_services(lookup, counter)
        self.on_ready()

    def _failed(self, error: BaseException) -> None:
        from frontdesk.store.health import StorageProblem, describe_storage_error
        from frontdesk.store.writer import DatabaseBusy

        self.window.opening_failed("The member cache could not be opened")
        if isinstance(error, DatabaseBusy):
            from frontdesk.ui.startup_notice import already_open_box

            log.error("%s", error)
            self.show(already_open_box(str(error), parent=self.window))
            self.on_refused(EXIT_ALREADY_OPEN)
            return
        problem = error if isinstance(error, StorageProblem) else \
            describe_storage_error(error, self.settings.database_path)
        if problem is None:
            self._unexpected(error)
            return
        try:
            backup = backup_to_restore(problem, self.show, parent=self.window, offer_restore=self._restores == 0)
        except StartupRefused as refused:
            self.on_refused(refused.exit_code)
            return
        self._restores += 1
        settings = self.settings

        def restore_and_open() -> Any:
            restore_newest_backup(settings, backup)
            return self._open_or_refusal()

        self.window.runner.run_db(restore_and_open, self._opened, self._failed)

    def _unexpected(self, error: BaseException) -> None:
        from frontdesk import logs
        from frontdesk.ui.startup_notice import storage_problem_box

        log.critical("the counter database could not be opened", exc_info=error)
        try:
            report: object = logs.write_crash_report(type(error), error, error.__traceback__)
        except Exception:  # noqa: BLE001 - a full or read-only log folder: the dialog still says what happened
            report = "no report could be written (see the log folder)"
        cause = getattr(error, "orig", None) or error  # SQLAlchemy's wrapper adds the SQL: the report has it
        self.show(storage_problem_box(
            OPEN_FAILED_TITLE, f"{html.escape(f'{type(cause).__name__}: {cause}')}<br><br>A report was saved to "
            f"{html.escape(str(report))}. Please send it to IT; the database file was not deleted or replaced.",
            can_restore=False, parent=self.window))
        self.on_refused(EXIT_OPEN_FAILED)


def run_app(args: argparse.Namespace, *, logging_problem: str = "") -> int:
    from frontdesk import logs

    logs.install_crash_handlers()
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from frontdesk.ui.resources import resources_dir, stylesheet

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from frontdesk.ui.crash_notice import notify_crash
    from frontdesk.ui.qt_logging import install_qt_message_handler
    from frontdesk.ui.startup_notice import ask, config_problems_box, warning_box

    install_qt_message_handler()
    logs.set_crash_notifier(notify_crash)
    app.setApplicationName("Front Desk")
    app.setOrganizationName("FrontDesk")
    app.setWindowIcon(QIcon(str(resources_dir() / "icons" / "frontdesk.png")))
    app.setStyleSheet(stylesheet())
    if logging_problem:
        ask(warning_box("Logging to file is off", logging_problem))
    try:
        settings = resolve_settings(args)
    except config.ConfigError as error:
        from frontdesk.app.config_cli import config_path_from_args

        path = config_path_from_args(args)
        problems = [(p.key, p.problem) for p in error.problems]
        log.error("configuration problem in %s: %s", path, "; ".join(f"{k}: {p}" for k, p in problems))
        ask(config_problems_box(path, problems))
        return 2
    if settings.demo and not getattr(args, "demo", False) and not getattr(args, "db", None):
        # First start with nothing configured: IT gets the setup wizard; closing it opens the demo counter, so a
        # newcomer still sees a working desk at once.
        from frontdesk.ui.setup_wizard import needs_setup, run_setup_wizard

        config_path = Path(args.config) if getattr(args, "config", None) else None
        if needs_setup(config_path) and run_setup_wizard(config_path=config_path) is not None:
            settings = resolve_settings(args)
    from PySide6.QtCore import QTimer

    from frontdesk.app.wiring import build_window_shell
    from frontdesk.store.writer import WriterLock
    from frontdesk.ui.widgets.screen import show_maximized

    window = build_window_shell(settings)
    show_maximized(window)
    writer = WriterLock(settings.database_path, "the counter app")
    background: list[object] = []
    demo_server: list[object] = []

    def ready() -> None:
        lock_when_ready(window, settings)
        # OpenCV, the camera, the sync engine (HTTP client and all) and the mailbox are imported on a worker, with
        # the counter dialogs' modules; started from here when that is done, so the GUI thread never waits on them.
        window.runner.run_io(lambda: warm_up(settings), lambda served: start_background(served), warm_up_failed)

    def warm_up_failed(error: BaseException) -> None:
        log.error("background start failed: %s", error)
        start_background(None)

    def start_background(served: object) -> None:
        from frontdesk.scan.frames import CameraSource

        sync_settings, api_key = settings, None
        if isinstance(served, DemoServerMissing):
            window.statusBar().showMessage(f"Demo mode, offline · {DEMO_SERVER_MISSING}", 30000)
        elif served is not None:
            sync_settings, api_key, stop = served  # type: ignore[misc]
            demo_server.append(stop)
            logs.register_secret(api_key)
            window.statusBar().showMessage(f"Demo mode · demo loyalty server at {sync_settings.api_url} · "
                                           "`frontdesk setup` configures this counter", 30000)
        window.scanner.start(CameraSource(settings.camera_index, settings.camera_width, settings.camera_height))
        background.append(start_sync(window, sync_settings, api_key))
        mailbox = start_mailbox(window, sync_settings)
        if mailbox is not None:
            background.append(mailbox)

    from frontdesk.app.wiring import start_mailbox, start_sync

    opening = CounterOpening(window, settings, ask, writer=writer, on_ready=ready, on_refused=app.exit)
    app.processEvents()  # the first paint, before the database worker competes for the interpreter
    QTimer.singleShot(0, opening.start)
    code = app.exec()
    for controller in background:
        controller.stop()  # type: ignore[attr-defined]
    if window.ready:
        window.scanner.stop()
    window.runner.shutdown(wait=True)
    for stop_server in demo_server:
        stop_server()  # type: ignore[operator]
    writer.release()
    return code


def warm_up(settings: Settings) -> object:
    """On a worker after the services are there: import what the first scan, sync round and dialog would otherwise
    import on the GUI thread; in the demo, start the demo loyalty server. Returns `start_demo_server`'s answer,
    the `DemoServerMissing` it raised, or None when there is no demo server to start."""
    import importlib

    for module in WARM_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as error:  # an optional part missing (OpenCV in a slim build): its own start says so
            log.warning("could not preload %s: %s", module, error)
    if settings.demo and not settings.api_url:
        try:
            return start_demo_server(settings)
        except DemoServerMissing as missing:
            log.warning("%s", missing)
            return missing
    return None


# What the first use of each would import on the GUI thread (measured with python -X importtime).
WARM_MODULES = (
    "frontdesk.scan.frames",
    "frontdesk.scan.decoders",
    "sync.engine",
    "frontdesk.ui.sync_status",
    "frontdesk.ui.sales.checkout_dialog",
    "frontdesk.ui.enrol_dialog",
    "frontdesk.ui.sales.void_dialog",
)


def lock_when_ready(window: object, settings: Settings) -> None:
    """Sign-in at start (every sale is recorded against whoever signs in); a real counter without a manager first
    walks IT through creating one."""
    if settings.demo or getattr(window, "counter", None) is None:
        window.lock()  # type: ignore[attr-defined]
        return
    from frontdesk.staff.admin import StaffAdmin
    from frontdesk.ui.staff_admin import offer_first_manager

    window.lock()  # type: ignore[attr-defined]
    offer_first_manager(window, StaffAdmin(window.counter.staff.engine), window.runner,  # type: ignore[attr-defined]
                        then=window.lock)  # type: ignore[attr-defined]
