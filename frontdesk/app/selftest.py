"""`frontdesk self-test`: is this counter PC (and this build) able to run Front Desk?

One line per check — OK, WARN, FAIL or SKIP with a detail a person can act on — and exit code 0 when nothing failed.
FAIL means the counter is not ready for a real shop (no manager, the published demo card key, the bundled demo
programme on a real counter, the API over plain HTTP to another machine); WARN means it works, degraded (zbar
missing, no camera, no member card key).
IT runs it after installing or upgrading; CI runs it on the frozen build, headless, to prove the bundle carries
what the app needs at run time (Qt platform plugins, zbar, zxing-cpp, OpenCV, the Alembic migrations, resources).

Nothing here changes the counter's data: migrations run on a temporary copy of the configured database.
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import sqlite3
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from frontdesk import __version__, config
from frontdesk.config import Settings
from frontdesk.logs import mask_sensitive

log = logging.getLogger(__name__)

OK, WARN, FAIL, SKIP = "OK", "WARN", "FAIL", "SKIP"
SAMPLE_CODE_IMAGE = Path("scan") / "sample-member.png"  # under the resources directory
API_TIMEOUT_SECONDS = 10.0


class CheckFailed(Exception):
    """A check found a problem it can describe in a sentence (no traceback needed)."""


class CheckSkipped(Exception):
    """A check that does not apply to this counter."""


class CheckWarning(Exception):
    """The counter works, but less well than it could (the detail says what is missing)."""


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str
    detail: str
    seconds: float

    def line(self) -> str:
        return f"{self.status:<5} {self.name:<9} {self.detail} ({self.seconds:.2f} s)"


def _describe(error: BaseException) -> str:
    return mask_sensitive(f"{type(error).__name__}: {error}" if str(error) else type(error).__name__)


def _run_check(name: str, check: Callable[[], str]) -> CheckResult:
    started = time.perf_counter()
    try:
        detail = check()
        status = OK
    except CheckSkipped as skip:
        status, detail = SKIP, str(skip)
    except CheckWarning as warning:
        status, detail = WARN, str(warning)
    except CheckFailed as failure:
        status, detail = FAIL, str(failure)
    except Exception as error:  # any other error is a failed check, never a crashed self-test
        log.error("self-test check %s failed\n%s", name, traceback.format_exc())
        status, detail = FAIL, _describe(error)
    return CheckResult(name, status, mask_sensitive(detail), time.perf_counter() - started)


def _resources_dir() -> Path:
    from frontdesk.ui.resources import resources_dir  # Qt-free module: only paths

    return resources_dir()


# --- checks ------------------------------------------------------------------------------------------------------
def check_config(settings: Settings, config_path: Path | None) -> str:
    path = config_path or config.default_config_path()
    state = "found" if path.exists() else "not found, defaults apply"
    return f"{path} ({state}); outlet {settings.outlet_code}, counter {settings.counter_id}"


def _writable(directory: Path) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".frontdesk-write-test-"):
            pass
    except OSError as error:
        raise CheckFailed(f"cannot write to {directory} ({error.strerror or error})") from None


def check_storage(settings: Settings) -> str:
    database_dir = settings.database_path.parent
    _writable(database_dir)
    _writable(config.log_dir())
    return f"database folder {database_dir} and log folder {config.log_dir()} are writable"


def _count_rows(path: Path, table: str) -> int | None:
    connection = sqlite3.connect(str(path))
    try:
        return int(connection.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
    except sqlite3.Error:
        return None
    finally:
        connection.close()


def check_database(settings: Settings, workdir: Path) -> tuple[str, Path]:
    """Migrate a temporary copy of the configured database; returns (detail, path of the migrated copy)."""
    from alembic.util.exc import CommandError

    from frontdesk.store.db import (
        MIGRATIONS_DIR,
        copy_sqlite,
        current_revision,
        head_revision,
        upgrade_database,
    )

    if not (MIGRATIONS_DIR / "env.py").exists():
        raise CheckFailed(f"the database migrations are missing from this build ({MIGRATIONS_DIR})")
    head = head_revision()
    source = settings.database_path
    copy = workdir / "selftest-copy.sqlite"
    from frontdesk.store.health import StorageProblem, inspect_database

    try:
        inspect_database(source)
    except StorageProblem as problem:
        raise CheckFailed(str(problem)) from None
    if source.exists():
        try:
            copy_sqlite(source, copy)
        except sqlite3.Error as error:
            raise CheckFailed(f"cannot read {source}: {error}") from None
        before = current_revision(copy)
        size_mb = source.stat().st_size / 1e6
        origin = f"copy of {source} ({size_mb:.1f} MB)"
    else:
        before = None
        origin = f"no database yet at {source}; a new one"
    try:
        reached = upgrade_database(copy)
    except CommandError as error:
        if "Can't locate revision" in str(error):
            raise CheckFailed(f"{source} was written by a newer Front Desk (revision {before}); this is "
                              f"{__version__} with schema {head}: install the newer version") from None
        raise
    connection = sqlite3.connect(str(copy))
    try:
        integrity = connection.execute("PRAGMA quick_check").fetchone()[0]
    finally:
        connection.close()
    if integrity != "ok":
        raise CheckFailed(f"{origin} fails SQLite's integrity check: {integrity}")
    if reached != head:
        raise CheckFailed(f"{origin} reached schema {reached}, expected {head}")
    steps = f"already at schema {head}" if before == head else f"migrated {before or 'empty'} → {head}"
    members = _count_rows(copy, "members")
    counted = f", {members} members" if members is not None else ""
    return f"{origin}: {steps}{counted}, integrity ok", copy


def _read_image(path: Path) -> Any:
    import cv2
    import numpy as np

    # np.fromfile + imdecode instead of cv2.imread: imread cannot open non-ASCII paths on Windows.
    image = cv2.imdecode(np.fromfile(str(path), dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise CheckFailed(f"{path} is not a readable image")
    return image


def check_scan() -> str:
    from frontdesk.scan.decoders import CombinedDecoder, PyzbarDecoder, ZxingDecoder

    sample = _resources_dir() / SAMPLE_CODE_IMAGE
    if not sample.exists():
        raise CheckFailed(f"the bundled sample code image is missing ({sample})")
    image = _read_image(sample)
    combined = CombinedDecoder(thorough=True)
    if not combined.available:
        raise CheckFailed(f"no QR decoder can load: {combined.unavailable_reason}")
    started = time.perf_counter()
    codes = combined.decode(image)
    elapsed_ms = (time.perf_counter() - started) * 1000
    if not codes:
        raise CheckFailed(f"could not read the code in {sample.name}")
    text = codes[0].text
    shown = text if len(text) <= 40 else text[:37] + "..."
    problems: list[str] = []
    readers: list[str] = []
    # Each library on its own, so a build that lost one of them (zbar's DLL on Windows) fails here, not at the desk.
    for decoder in (ZxingDecoder(), PyzbarDecoder()):
        if not decoder.available:
            problems.append(f"{decoder.name} unavailable ({decoder.unavailable_reason})")
        elif not any(code.text == text for code in decoder.decode(image)):
            problems.append(f"{decoder.name} did not read the sample")
        else:
            readers.append(decoder.name)
    if problems and not readers:
        raise CheckFailed(f"read {shown!r} but " + "; ".join(problems))
    if problems:
        # Scanning works with the other library; the gap is reported so it is fixed, not mistaken for readiness.
        raise CheckWarning(f"read {shown!r} with {', '.join(readers)} only; " + "; ".join(problems) +
                           ". Scanning works; on Windows install the Visual C++ 2013 Redistributable (x64), on "
                           "Debian `apt-get install libzbar0`")
    return f"read {shown!r} from {sample.name} in {elapsed_ms:.0f} ms; also read by {', '.join(readers)}"


def check_camera(settings: Settings) -> str:
    from frontdesk.scan.frames import list_cameras

    cameras = list_cameras(settings.camera_index + 1)
    chosen = [c for c in cameras if c.index == settings.camera_index]
    if not chosen:
        raise CheckWarning(f"camera {settings.camera_index} did not answer: QR codes can still be read by a USB "
                           "scanner; plug the webcam in or choose another in `frontdesk setup`")
    camera = chosen[0]
    return f"camera {camera.index} delivers {camera.width}x{camera.height} frames"


# --- readiness for a real shop -------------------------------------------------------------------------------------
ADD_MANAGER = 'frontdesk staff add --code M01 --name "Manager Name" --role manager'


def check_staff(settings: Settings, migrated: Path) -> str:
    connection = sqlite3.connect(str(migrated))
    try:
        staff, managers, with_pin = connection.execute(
            "SELECT count(*), coalesce(sum(role = 'manager'), 0), coalesce(sum(pin_hash IS NOT NULL), 0) "
            "FROM staff WHERE active = 1").fetchone()
    finally:
        connection.close()
    if not managers:
        raise CheckFailed(f"no active manager ({staff} active staff): nobody can approve a void or refund or add "
                          f"staff. Add one: {ADD_MANAGER}")
    if with_pin < staff:
        raise CheckWarning(f"{staff - with_pin} of {staff} active staff have no PIN and cannot sign in: "
                           "frontdesk staff set-pin CODE")
    return f"{staff} active staff with PINs, {managers} of them manager{'s' if managers > 1 else ''}"


def check_card_key(settings: Settings) -> str:
    key = settings.member_card_key
    if key == config.DEMO_CARD_KEY:
        if settings.demo:
            return "the demo card key (demo counter)"
        raise CheckFailed("scanner.member_card_key is the published demo key: anyone could print a card that "
                          "opens any member. Run `frontdesk setup` to make this business's key (or enter the one "
                          "your other counters share)")
    if not key:
        raise CheckWarning("there is no member card key, so member cards can be neither printed nor read (members are still "
                           "found by phone, ID or name). `frontdesk setup` makes one")
    if len(key) < 16:
        raise CheckWarning(f"the member card key is short ({len(key)} characters): a key of 16 or more is harder "
                           "to guess; `frontdesk setup` makes one")
    return f"member card key set ({len(key)} characters)"


def check_programme(settings: Settings, migrated: Path) -> str:
    from frontdesk.loyalty.programme import load_active_programme
    from frontdesk.store.db import make_read_engine

    engine = make_read_engine(migrated)
    try:
        active = load_active_programme(engine, settings)
    finally:
        engine.dispose()
    if active.source != "bundled demo":
        return f"{active.source} ({active.programme.name})"
    if settings.demo:
        return "the bundled demo programme (demo counter)"
    served = _server_programme(settings)
    if served:
        return f"the server's programme {served}; this counter caches it at its first sync"
    raise CheckFailed("sales would be priced with the bundled DEMO programme: no programme from the loyalty API is "
                      "cached and none is installed. Connect the API and run `frontdesk sync --once`, or set "
                      "loyalty.programme_file")


def _server_programme(settings: Settings) -> str:
    """The version of the programme the configured API publishes, or "" when it cannot be had now."""
    if not settings.api_url:
        return ""
    from frontdesk.app.config_cli import stored_api_key
    from frontdesk.domain.programme import ProgrammeError, programme_from_dict
    from sync.client import client_from_settings
    from sync.errors import ApiError

    api_key, _note = stored_api_key(settings)
    if not api_key:
        return ""
    client = client_from_settings(settings, api_key, read_timeout=API_TIMEOUT_SECONDS, connect_timeout=5.0)
    try:
        data = client.programme().data
        definition = data.get("program") if isinstance(data, dict) else None
        programme = programme_from_dict(definition) if isinstance(definition, dict) else None
    except (ApiError, ProgrammeError, ValueError, TypeError):
        return ""
    finally:
        client.close()
    return programme.version if programme is not None else ""


def _has_display() -> bool:
    if sys.platform in ("win32", "darwin"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def prepare_headless_qt() -> None:
    """Use Qt's off-screen platform when there is no display (CI, SSH), unless the caller chose a platform."""
    if not os.environ.get("QT_QPA_PLATFORM") and not _has_display():
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def check_window(settings: Settings, screenshot: Path | None) -> str:
    prepare_headless_qt()
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from frontdesk.app.wiring import build_window
    from frontdesk.ui.resources import stylesheet

    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "frontdesk"])
        app.setStyleSheet(stylesheet())
    window = build_window(settings)
    try:
        for _ in range(5):  # let queued start-up work (layouts, first paints) run
            QCoreApplication.processEvents()
        pixmap = window.grab()
        if pixmap.isNull() or pixmap.width() < 100 or pixmap.height() < 100:
            raise CheckFailed(f"the main window rendered as an empty {pixmap.width()}x{pixmap.height()} image")
        thumbnail = pixmap.toImage().scaled(64, 36, Qt.AspectRatioMode.IgnoreAspectRatio,
                                            Qt.TransformationMode.FastTransformation)
        colours = {thumbnail.pixel(x, y) for x in range(thumbnail.width()) for y in range(thumbnail.height())}
        if len(colours) < 3:
            raise CheckFailed("the main window rendered as a blank image (no text or controls drawn)")
        saved = ""
        if screenshot is not None:
            screenshot.parent.mkdir(parents=True, exist_ok=True)
            if not pixmap.save(str(screenshot)):
                raise CheckFailed(f"rendered, but could not save the screenshot to {screenshot}")
            saved = f", saved to {screenshot}"
        return (f"main window rendered {pixmap.width()}x{pixmap.height()} on the "
                f"'{QGuiApplication.platformName()}' platform{saved}")
    finally:
        runner = getattr(window, "runner", None)
        if runner is not None:
            runner.shutdown(wait=True)
        lookup = getattr(window, "lookup", None)
        if lookup is not None and hasattr(lookup, "close"):
            lookup.close()
        window.close()
        window.deleteLater()
        QCoreApplication.processEvents()


def check_api(settings: Settings) -> str:
    if not settings.api_url:
        raise CheckSkipped("no API URL configured (offline or demo counter)")
    if settings.api_url.startswith("http://") and not config.is_loopback_url(settings.api_url):
        raise CheckFailed(f"{settings.api_url} is plain http:// to another machine: the API key and members' "
                          "details travel unencrypted. Use https://")
    from frontdesk.app.config_cli import stored_api_key
    from sync.client import client_from_settings
    from sync.errors import ApiError, AuthError

    api_key, note = stored_api_key(settings)
    if not api_key:
        raise CheckFailed(f"{settings.api_url} is configured but {note}; run the setup wizard to store it")
    client = client_from_settings(settings, api_key, read_timeout=API_TIMEOUT_SECONDS,
                                  connect_timeout=min(5.0, API_TIMEOUT_SECONDS))
    try:
        seconds = client.probe()
    except AuthError as error:
        raise CheckFailed(f"{settings.api_url} refused the API key ({error}); store the right key") from None
    except ApiError as error:
        raise CheckFailed(f"{settings.api_url}: {error}") from None
    finally:
        client.close()
    return f"{settings.api_url} answered an authenticated request in {seconds * 1000:.0f} ms"


# --- the run -----------------------------------------------------------------------------------------------------
@contextmanager
def _workdir() -> Iterator[Path]:
    # ignore_cleanup_errors: on Windows a file SQLite or Qt still holds must not turn a passed test into a crash.
    with tempfile.TemporaryDirectory(prefix="frontdesk-selftest-", ignore_cleanup_errors=True) as name:
        yield Path(name)


def _emit(out: TextIO | None, line: str) -> None:
    log.info("self-test: %s", line)
    if out is not None:
        print(line, file=out, flush=True)


def run_self_test(settings: Settings, *, config_path: Path | None = None, out: TextIO | None = None,
                  screenshot: Path | None = None) -> int:
    """Run every check, print one line each to `out` (default stdout) and return 0 if none failed, else 1."""
    out = out if out is not None else sys.stdout  # None in a windowed Windows exe: the log still has the report
    frozen = "frozen" if getattr(sys, "frozen", False) else "source"
    _emit(out, f"Front Desk self-test — frontdesk {__version__} ({frozen}), Python {platform.python_version()}, "
               f"{platform.system()} {platform.release()}")
    results: list[CheckResult] = []

    def record(result: CheckResult) -> None:
        results.append(result)
        _emit(out, result.line())

    with _workdir() as workdir:
        record(_run_check("config", lambda: check_config(settings, config_path)))
        record(_run_check("storage", lambda: check_storage(settings)))
        migrated: list[Path] = []

        def database() -> str:
            detail, copy = check_database(settings, workdir)
            migrated.append(copy)
            return detail

        record(_run_check("database", database))
        record(_run_check("scan", check_scan))
        record(_run_check("camera", lambda: check_camera(settings)))
        if migrated:
            copy = migrated[0]
            window_settings = replace(settings, database=str(copy))
            record(_run_check("window", lambda: check_window(window_settings, screenshot)))
            record(_run_check("staff", lambda: check_staff(settings, copy)))
        else:
            for name in ("window", "staff"):
                record(CheckResult(name, SKIP, "needs a working database (see above)", 0.0))
        record(_run_check("cards", lambda: check_card_key(settings)))
        if migrated:
            record(_run_check("programme", lambda: check_programme(settings, migrated[0])))
        else:
            record(CheckResult("programme", SKIP, "needs a working database (see above)", 0.0))
        record(_run_check("api", lambda: check_api(settings)))
    failed = [r for r in results if r.status == FAIL]
    skipped = sum(r.status == SKIP for r in results)
    warned = [r.name for r in results if r.status == WARN]
    if failed:
        _emit(out, f"FAILED: {len(failed)} of {len(results)} checks failed ({', '.join(r.name for r in failed)})")
        return 1
    ok = len(results) - skipped - len(warned)
    _emit(out, f"PASSED: {ok} checks OK" + (f", {len(warned)} warning{'s' if len(warned) > 1 else ''} "
                                            f"({', '.join(warned)})" if warned else "")
          + (f", {skipped} skipped" if skipped else ""))
    return 0


def add_self_test_command(subparsers: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = subparsers.add_parser("self-test", help="check this PC and this build can run Front Desk (exit 0/1)")
    add_common(parser)
    parser.add_argument("--screenshot", metavar="PNG", help="also save the rendered main window to this file")
    parser.add_argument("--demo", action="store_true",
                        help="check as a demo counter (demo staff, card key and programme are then fine)")


def cmd_self_test(args: argparse.Namespace) -> int:
    from frontdesk.app.config_cli import config_path_from_args, settings_from_args

    settings, _ = settings_from_args(args)
    if settings.demo and not settings.member_card_key:
        settings = replace(settings, member_card_key=config.DEMO_CARD_KEY)
    screenshot = Path(args.screenshot) if getattr(args, "screenshot", None) else None
    return run_self_test(settings, config_path=config_path_from_args(args), screenshot=screenshot)
