"""Log files and crash reports for a counter PC, with nothing personal or secret in them.

- Rotating log files in the platform log directory (`config.log_dir()`), so a counter never fills its disk.
- `SensitiveDataFilter` sits on every handler we install: phone numbers keep only their country code and last two
  digits, e-mail addresses their first letter and domain, and API keys, Authorization headers, passwords and PINs
  become ``***``. Masking happens at the handler rather than at each call site because one forgotten call site is
  all it takes to put a customer's phone number into a file IT mails around.
- Qt's own warnings go into the same log (`frontdesk.ui.qt_logging`, installed by the app).
- `install_crash_handlers` catches what nobody else caught (GUI slots, worker threads, native faults), writes a crash
  report file and tells the user where it is. The process is not ended for a Python exception: whatever the
  receptionist had on screen stays there.

Qt-free, and imported by every layer: it imports only `frontdesk.config`. Who tells the user about a crash is
injected (`set_crash_notifier`): the app installs the dialog from `frontdesk.ui.crash_notice`.
"""
from __future__ import annotations

import base64
import collections
import datetime as _dt
import faulthandler
import hashlib
import logging
import logging.handlers
import os
import platform
import re
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, cast

import phonenumbers

from frontdesk import __version__, config

log = logging.getLogger(__name__)

LOG_FILE_NAME = "frontdesk.log"
LOG_MAX_BYTES = 2 * 1024 * 1024
LOG_BACKUP_COUNT = 5  # 12 MB at most per counter
CRASH_REPORT_PREFIX = "crash-"
CRASH_REPORTS_KEPT = 30  # a crash loop must not fill the disk either
NATIVE_FAULT_FILE_NAME = "native-faults.log"
RECENT_LINES_IN_REPORT = 200
MASK = "***"

LOG_FORMAT = "%(asctime)s %(levelname)-8s %(threadName)s %(name)s: %(message)s"

# --- masking ---------------------------------------------------------------------------------------------------
# "+65 9123 4567", "+6591234567", "%2B6591234567" (URL-encoded), "+1 (415) 555-2671".
_INTERNATIONAL_PHONE = re.compile(r"(?<![\w+])(\+|%2[Bb])(\d[\d ().\-]{5,22}\d)(?![\w])")
# National numbers without "+": 8 to 15 digits, optionally grouped by single spaces or dashes ("9123 4567",
# "012-345 6789"). Not part of a longer word, code ("INV-20240105-0001", UUIDs) or decimal number, and not an ISO date.
_NATIONAL_PHONE = re.compile(r"(?<![\w+*\-])(?<!\d\.)(?!\d{4}-\d\d-\d\d)(\d(?:[ \-]?\d){7,14})(?!\w|\.\d)")
_EMAIL = re.compile(r"(?<![\w.%+\-])([A-Za-z0-9])[A-Za-z0-9._%+\-]*?(@|%40)((?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,})")
_AUTHORIZATION = re.compile(
    r"(?i)(\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)(?:(basic|bearer|token|digest)\s+)?[^\s\"',}\]]+")
_SECRET_SETTING = re.compile(
    r"(?i)((?<![\w\-])(?:x-)?(?:api[_\-]?key|apikey|key|access[_\-]?token|refresh[_\-]?token|auth[_\-]?token"
    r"|token|secret|client[_\-]?secret|password|passwd|pwd|pin|member[_\-]card[_\-]key|card[_\-]key)"
    r"[\"']?\s*[:=]\s*[\"']?)([^\s\"',&}\]]+)")
# Long random-looking strings: at least 32 characters mixing letters and digits. UUIDs (idempotency keys, record
# ids) are left alone: they identify, they do not authenticate, and IT needs them to follow a sale through the logs.
_LONG_TOKEN = re.compile(r"(?<![\w\-])(?=[\w\-]*\d)(?=[\w\-]*[A-Za-z])[A-Za-z0-9_\-]{32,}(?![\w\-])")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")

_registered_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it appears (the API key once it is read from the keyring).

    Also masks its HTTP Basic form (base64 of "value:"), which is what travels in the Authorization header.
    """
    if not value or len(value) < 4:
        return
    basic = base64.b64encode(f"{value}:".encode("utf-8")).decode("ascii")
    with _secrets_lock:
        _registered_secrets.update({value, basic, basic.rstrip("=")})


def _country_code_length(digits: str) -> int:
    for length in (1, 2, 3):
        if phonenumbers.region_code_for_country_code(int(digits[:length])) != "ZZ":
            return length
    return 0


def _mask_international(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(2))
    if not 7 <= len(digits) <= 15:
        return match.group(0)
    code_length = _country_code_length(digits)
    return match.group(1) + digits[:code_length] + "*" * (len(digits) - code_length - 2) + digits[-2:]


def _mask_national(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group(1))
    return "*" * (len(digits) - 2) + digits[-2:]


def _mask_long_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if _UUID.fullmatch(token):
        return token
    return token[:4] + MASK


def mask_sensitive(text: str) -> str:
    """The text with secrets, phone numbers and e-mail addresses masked (what every log line goes through)."""
    if not text:
        return text
    with _secrets_lock:
        known = sorted(_registered_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _AUTHORIZATION.sub(lambda m: m.group(1) + (m.group(2) + " " if m.group(2) else "") + MASK, text)
    text = _SECRET_SETTING.sub(lambda m: m.group(1) + MASK, text)
    text = _EMAIL.sub(lambda m: m.group(1) + MASK + m.group(2) + m.group(3), text)
    text = _INTERNATIONAL_PHONE.sub(_mask_international, text)
    text = _NATIONAL_PHONE.sub(_mask_national, text)
    text = _LONG_TOKEN.sub(_mask_long_token, text)
    return text


class SensitiveDataFilter(logging.Filter):
    """Masks the message, its arguments and any traceback of each record before a handler writes it."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_frontdesk_masked", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format must not lose the line
            message = f"{record.msg!r} % {record.args!r}"
        record.msg = mask_sensitive(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_sensitive(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_sensitive(record.stack_info)
        record._frontdesk_masked = True
        return True


class _Formatter(logging.Formatter):
    """ISO 8601 local time with milliseconds and UTC offset: counters sit in different time zones."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802 (logging API)
        return _dt.datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class _RecentLines(logging.Handler):
    """The last lines logged, kept in memory so a crash report can show what led up to the crash."""

    def __init__(self, capacity: int) -> None:
        super().__init__()
        self.lines: collections.deque[str] = collections.deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:
            self.handleError(record)


_recent = _RecentLines(RECENT_LINES_IN_REPORT)


def _ours(handler: logging.Handler) -> bool:
    return getattr(handler, "_frontdesk", False)


def setup_logging(directory: Path | None = None, *, level: int = logging.INFO, echo: bool = False) -> Path:
    """Log to rotating files in `directory` (default: the platform log directory); returns the log file's path.

    Safe to call again (e.g. after the setup wizard changed something): our previous handlers are replaced.
    `echo` also writes to stderr, for command-line tools.
    """
    directory = Path(directory) if directory else config.log_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / LOG_FILE_NAME
    with open(path, "a", encoding="utf-8"):  # fail here, once, rather than on every line logged later
        pass
    root = logging.getLogger()
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its plugin list on every start is noise
    for handler in [h for h in root.handlers if _ours(h)]:
        root.removeHandler(handler)
        if handler is not _recent:
            handler.close()
    formatter = _Formatter(LOG_FORMAT)
    masking = SensitiveDataFilter()
    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUP_COUNT,
                                                        encoding="utf-8", delay=True)
    handlers: list[logging.Handler] = [file_handler, _recent]
    if echo and sys.stderr is not None:  # a windowed Windows app has no stderr
        handlers.append(logging.StreamHandler(sys.stderr))
    for handler in handlers:
        handler.setFormatter(formatter)
        handler.filters = [masking]
        handler._frontdesk = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(level)
    # Third-party chatter that would drown our own lines at INFO.
    for noisy in ("urllib3", "PIL", "alembic.runtime.migration", "faker", "werkzeug"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
    return path


def setup_logging_or_explain(directory: Path | None = None, **kwargs: Any) -> str:
    """`setup_logging`, or, when the log folder cannot be written, logging to stderr and memory only and one
    sentence saying so (the app shows it, a command prints it). "" when file logging works."""
    directory = Path(directory) if directory else config.log_dir()
    try:
        setup_logging(directory, **kwargs)
        return ""
    except OSError as error:
        root = logging.getLogger()
        for handler in [h for h in root.handlers if _ours(h)]:
            root.removeHandler(handler)
        masking = SensitiveDataFilter()
        root.setLevel(kwargs.get("level", logging.INFO))
        message = (f"Front Desk cannot write to its log folder {directory} ({error.strerror or error}), so logging "
                   "to file is off. The counter works normally; ask IT to give this account write access to the "
                   "folder (or set FRONTDESK_LOG_DIR).")
        handlers: list[logging.Handler] = [_recent]
        if sys.stderr is not None:
            console = logging.StreamHandler(sys.stderr)
            console.setLevel(logging.WARNING)
            handlers.append(console)
        for handler in handlers:
            handler.setFormatter(_Formatter(LOG_FORMAT))
            handler.filters = [masking]
            handler._frontdesk = True  # type: ignore[attr-defined]
            root.addHandler(handler)
            if handler is _recent:
                log.warning("%s", message)  # into crash reports; the caller shows or prints it once
        return message


def mask_text(text: str | None, limit: int = 1000) -> str | None:
    """Text from outside (a server's error message) made fit to store or show: masked like a log line, cut to
    `limit` characters. Registered secrets (the API key) are among what is masked."""
    if text is None:
        return None
    masked = mask_sensitive(str(text))
    return masked if len(masked) <= limit else masked[: limit - 1] + "…"


def recent_log_lines() -> list[str]:
    return list(_recent.lines)


# --- crash reports ---------------------------------------------------------------------------------------------
CrashNotifier = Callable[[Path, str], None]

_crash_notifier: CrashNotifier | None = None
_crash_dir: Path | None = None
_native_fault_file: IO[str] | None = None
_reports_by_fingerprint: dict[str, Path] = {}
_crash_lock = threading.Lock()


def set_crash_notifier(notifier: CrashNotifier | None) -> None:
    """Who tells the user about a crash report: called with (report path, one-line summary), from any thread.

    Without one, and while a QApplication is running, `frontdesk.ui.crash_notice` shows a dialog.
    """
    global _crash_notifier
    _crash_notifier = notifier


def crash_reports(directory: Path | None = None) -> list[Path]:
    """Crash report files, newest first."""
    directory = Path(directory) if directory else (_crash_dir or config.log_dir())
    if not directory.is_dir():
        return []
    return sorted(directory.glob(f"{CRASH_REPORT_PREFIX}*.txt"), key=lambda p: p.stat().st_mtime, reverse=True)


def _summary(exc_type: type[BaseException], exc: BaseException | None) -> str:
    text = f"{exc_type.__name__}: {exc}" if str(exc) else exc_type.__name__
    return mask_sensitive(text)[:300]


def _report_text(exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None,
                 thread_name: str, when: _dt.datetime) -> str:
    trace = "".join(traceback.format_exception(exc_type, exc, tb))
    lines = [
        "Front Desk crash report",
        "=======================",
        f"time:       {when.isoformat(timespec='seconds')}",
        f"version:    frontdesk {__version__}",
        f"python:     {platform.python_version()} ({'frozen' if getattr(sys, 'frozen', False) else 'source'})",
        f"system:     {platform.platform()}",
        f"process:    {os.getpid()}",
        f"thread:     {thread_name}",
        "",
        "What happened",
        "-------------",
        mask_sensitive(trace).rstrip(),
        "",
        f"Last {RECENT_LINES_IN_REPORT} log lines before the error",
        "-----------------------------------------",
        *recent_log_lines(),
        "",
    ]
    return "\n".join(lines)


def _prune_reports(directory: Path) -> None:
    for old in crash_reports(directory)[CRASH_REPORTS_KEPT:]:
        try:
            old.unlink()
        except OSError:
            pass


def write_crash_report(exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None, *,
                       thread_name: str | None = None, directory: Path | None = None) -> Path:
    """Write a crash report file (masked like the logs) and return its path.

    The same error raised again in this session (a paint handler failing on every repaint) reuses the first report
    instead of writing hundreds.
    """
    directory = Path(directory) if directory else (_crash_dir or config.log_dir())
    directory.mkdir(parents=True, exist_ok=True)
    frames = traceback.extract_tb(tb)
    fingerprint = hashlib.sha1(
        (exc_type.__qualname__ + "".join(f"{f.filename}:{f.lineno}" for f in frames)).encode("utf-8")
    ).hexdigest()
    with _crash_lock:
        existing = _reports_by_fingerprint.get(fingerprint)
        if existing is not None and existing.exists():
            return existing
        now = _dt.datetime.now().astimezone()
        stem = f"{CRASH_REPORT_PREFIX}{now:%Y%m%d-%H%M%S}-{os.getpid()}"
        path = directory / f"{stem}.txt"
        counter = 1
        while path.exists():
            counter += 1
            path = directory / f"{stem}-{counter}.txt"
        path.write_text(_report_text(exc_type, exc, tb, thread_name or threading.current_thread().name, now),
                        encoding="utf-8")
        _reports_by_fingerprint[fingerprint] = path
        _prune_reports(directory)
        return path


def _notify_user(report: Path, summary: str) -> None:
    notifier = _crash_notifier  # the app installs the dialog (frontdesk.ui.crash_notice) at start-up
    if notifier is not None:
        notifier(report, summary)


def report_unexpected_error(exc_type: type[BaseException], exc: BaseException | None, tb: TracebackType | None,
                            *, thread_name: str | None = None) -> Path | None:
    """Log the error, write a crash report and tell the user; never raises. Returns the report's path."""
    try:
        log.critical("unexpected error in thread %s", thread_name or threading.current_thread().name,
                     exc_info=cast("tuple[type[BaseException], BaseException, TracebackType | None]",
                                   (exc_type, exc, tb)))
        report = write_crash_report(exc_type, exc, tb, thread_name=thread_name)
        log.critical("crash report written to %s", report)
    except Exception:
        # The log directory may be gone or full; the user should still hear about the error.
        sys.__excepthook__(exc_type, exc if exc is not None else exc_type(), tb)
        return None
    try:
        _notify_user(report, _summary(exc_type, exc))
    except Exception:
        log.exception("could not show the crash notice")
    return report


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    report_unexpected_error(exc_type, exc, tb)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if issubclass(args.exc_type, SystemExit):
        return
    name = args.thread.name if args.thread is not None else "unknown thread"
    report_unexpected_error(args.exc_type, args.exc_value, args.exc_traceback, thread_name=name)


def _unraisable_hook(unraisable: Any) -> None:
    log.error("ignored error in %r: %s", unraisable.object, unraisable.err_msg or "",
              exc_info=(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))


def install_crash_handlers(directory: Path | None = None) -> Path | None:
    """Catch every unhandled error from now on (main thread, Qt slots, worker threads, native faults).

    Returns the path of the native-fault log the previous session left behind (a hard crash such as an access
    violation in a C library), renamed to a crash report, or None when the previous session ended cleanly.
    """
    global _crash_dir, _native_fault_file
    _crash_dir = Path(directory) if directory else config.log_dir()
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    sys.unraisablehook = _unraisable_hook

    fault_path = _crash_dir / NATIVE_FAULT_FILE_NAME
    previous: Path | None = None
    try:
        _crash_dir.mkdir(parents=True, exist_ok=True)
        if _native_fault_file is None:
            previous = _open_native_fault_log(fault_path)
    except OSError as error:
        # A read-only or missing log folder: Python errors are still caught and shown; only the native-fault
        # trace file is missing. setup_logging_or_explain has already told the user.
        log.warning("native fault traces are off: cannot write %s (%s)", fault_path, error.strerror or error)
    return previous


def _open_native_fault_log(fault_path: Path) -> Path | None:
    global _native_fault_file
    assert _crash_dir is not None
    previous: Path | None = None
    if fault_path.exists() and fault_path.stat().st_size > 0:
        stamp = _dt.datetime.fromtimestamp(fault_path.stat().st_mtime)
        previous = _crash_dir / f"{CRASH_REPORT_PREFIX}{stamp:%Y%m%d-%H%M%S}-native.txt"
        try:
            os.replace(fault_path, previous)
            log.warning("the previous session stopped on a native fault; its trace is in %s", previous)
        except OSError:
            previous = None
    # faulthandler writes straight to the file descriptor when the process is dying, so the file stays open.
    _native_fault_file = open(fault_path, "w", encoding="utf-8")  # noqa: SIM115
    faulthandler.enable(file=_native_fault_file, all_threads=True)
    return previous


def uninstall_crash_handlers() -> None:
    """Put Python's default handlers back (tests; an embedding application)."""
    global _native_fault_file
    sys.excepthook = sys.__excepthook__
    threading.excepthook = threading.__excepthook__
    sys.unraisablehook = sys.__unraisablehook__
    if _native_fault_file is not None:
        faulthandler.disable()
        _native_fault_file.close()
        _native_fault_file = None
    _reports_by_fingerprint.clear()
