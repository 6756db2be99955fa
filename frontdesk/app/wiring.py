"""Building a counter window and its services, and starting background sync and the invoice mailbox for it.

The one place that knows how the pieces fit: the database engine, the lookup, the counter services, the task
runner (which owns the process's database executor), the sync engine and the invoice mailbox watcher. The "server
reachable" flag the checkout reads comes from sync's `Connectivity`, made here before either exists, never from a
window.
"""
from __future__ import annotations

from typing import Any

from frontdesk.config import Settings


def build_window(settings: Settings):  # type: ignore[no-untyped-def]
    """The main window with its services, built at once (tests and tools; the app opens the services after the
    first paint, see `frontdesk.app.main.CounterOpening`)."""
    window = build_window_shell(settings)
    window.attach_services(*build_services(settings))
    return window


def build_window_shell(settings: Settings):  # type: ignore[no-untyped-def]
    """The main window in its "opening" state, with its task runner: Qt and the window's own widgets only, so it
    can be painted before SQLAlchemy, the services or the database are touched."""
    from frontdesk.ui.main_window import MainWindow
    from frontdesk.ui.tasks import TaskRunner

    runner = TaskRunner()
    window = MainWindow(settings, None, runner)
    runner.setParent(window)
    return window


def build_services(settings: Settings) -> tuple[Any, Any]:
    """(lookup, counter services) on an upgraded database: the engine, the lookup and the checkout's services.

    Qt-free and blocking: the app calls it on the task runner's database worker."""
    from frontdesk.counter import build_counter_services
    from frontdesk.members.lookup import LookupService, scan_code_resolver
    from frontdesk.store import make_engine
    from sync.status import Connectivity

    engine = make_engine(settings.database_path)
    lookup = LookupService(engine, region=settings.phone_region,
                           code_resolver=scan_code_resolver(settings.member_card_key, settings.phone_region),
                           outlet_code=settings.outlet_code)
    # The sync engine (HTTP client and all) is imported later, in start_sync, which also sets how many failures
    # mean "offline" from the engine's options.
    connectivity = Connectivity()
    # The checkout's services; the programme (loaded lazily, on the DB worker) also fills the member panel.
    counter = build_counter_services(engine, settings, lookup.search_service, connectivity=connectivity)
    lookup.programme = counter.programmes
    return lookup, counter


def start_sync(window: Any, settings: Settings, api_key: str | None = None):  # type: ignore[no-untyped-def]
    """Deliver the outbox and refresh the cache in the background, with the state in the status bar."""
    from frontdesk.ui.sync_status import SyncController
    from sync.engine import build_engine, options_from_settings

    connectivity = window.counter.connectivity if window.counter is not None else None
    if connectivity is not None:
        connectivity.failures_to_offline = max(1, options_from_settings(settings).failures_to_offline)
    # The engine's database work queues on the task runner's executor: one writer thread in the process.
    db_executor = window.runner.db_executor
    controller = SyncController(settings, lambda: build_engine(settings, api_key=api_key, connectivity=connectivity,
                                                               db_executor=db_executor), parent=window)
    window.install_sync(controller)
    controller.start()
    return controller


def start_mailbox(window: Any, settings: Settings):  # type: ignore[no-untyped-def]
    """Watch the WESS invoice mailbox when `[invoices.imap]` is configured (None otherwise), with its state in the
    status bar. Its database work queues on the task runner's executor, like sync's: one writer in the process."""
    from frontdesk.config import ConfigError
    from frontdesk.invoices.settings import invoice_settings

    if window.counter is None:
        return None
    try:
        imap = invoice_settings(settings).imap
    except ConfigError as error:
        window.statusBar().showMessage(f"Invoice mail is off: {error}", 30000)
        return None
    if not imap.configured:
        return None
    from frontdesk.ui.mailbox_status import MailboxController, MailboxStatusWidget

    services = window.invoice_services()
    controller = MailboxController(services.importer, imap, db_call=window.runner.db_executor.call, parent=window)
    window.mailbox = controller
    window.mailbox_widget = MailboxStatusWidget(controller)
    window.statusBar().addPermanentWidget(window.mailbox_widget)
    controller.start()
    return controller
