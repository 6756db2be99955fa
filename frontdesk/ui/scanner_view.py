"""The live scanner: capture and decode in a worker thread, a panel with preview, status and a success cue.

    panel = ScannerPanel(rules, sound=settings.scan_sound)
    panel.code_scanned.connect(open_member_or_voucher)      # receives a frontdesk.scan.codes.ScannedCode
    panel.start(CameraSource(settings.camera_index, settings.camera_width, settings.camera_height))
    ...
    panel.stop()                                            # on window close; waits for the thread to finish

Any FrameSource works (tests feed an ImageSequenceSource). The GUI thread never touches the camera or a decoder.
"""
from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, QTimer, Signal, Slot
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from frontdesk.scan.codes import RepeatFilter, ScanCodeRules, ScannedCode, interpret
from frontdesk.scan.decoders import CombinedDecoder, DecodedCode, Decoder
from frontdesk.scan.frames import FrameRead, FrameSource, SourceStatus

log = logging.getLogger(__name__)

NO_CAMERA = "No camera found — scanning by keyboard still works"
CAMERA_LOST = "Camera disconnected — retrying"
READY = "Ready — hold the QR code up to the camera"
STARTING = "Starting camera…"

_GOOD = (60, 180, 75)  # BGR boxes on the preview
_BAD = (40, 40, 220)


@dataclass(frozen=True)
class ScanEvent:
    """A code that passed the repeat filter, with timings for the scan -> screen budget."""

    code: ScannedCode
    decoded: DecodedCode
    captured_at: float  # time.monotonic() when the frame left the source
    decoded_at: float  # time.monotonic() when decoding finished


class ScannerWorker(QObject):
    """Runs in its own QThread: read the newest frame, decode, interpret, filter repeats, emit.

    `run()` loops until `request_stop()`; it opens, reads and closes the source in this thread only. A camera that
    is missing or unplugged is retried every `retry_seconds` with a status message, never an exception.
    """

    code_scanned = Signal(object)  # ScannedCode
    scan_event = Signal(object)  # ScanEvent, emitted just before code_scanned
    status_changed = Signal(str)
    preview_ready = Signal()  # call take_preview() to get the newest preview; only the newest is kept
    finished = Signal()

    def __init__(self, source: FrameSource, rules: ScanCodeRules, decoder: Decoder | None = None,
                 repeat_window: float = 3.0, preview_width: int = 480, preview_interval: float = 1 / 15,
                 retry_seconds: float = 2.0, frame_interval: float = 0.0) -> None:
        super().__init__()
        self.source = source
        self.rules = rules
        self.decoder: Decoder = decoder or CombinedDecoder()
        self.repeat_filter = RepeatFilter(repeat_window)
        self.preview_width = preview_width
        self.preview_interval = preview_interval
        self.retry_seconds = retry_seconds
        self.frame_interval = frame_interval  # pacing for files and arrays; cameras pace themselves
        self.frames_read = 0
        self._stop = threading.Event()
        self._preview_enabled = threading.Event()
        self._preview_enabled.set()
        self._preview_lock = threading.Lock()
        self._preview: QImage | None = None
        self._last_preview = 0.0
        self._status = ""

    # Called from the GUI thread: both only touch thread-safe primitives.
    def request_stop(self) -> None:
        self._stop.set()

    def set_preview_enabled(self, enabled: bool) -> None:
        """A hidden preview costs nothing: frames are then decoded but not converted for display."""
        if enabled:
            self._preview_enabled.set()
        else:
            self._preview_enabled.clear()

    def take_preview(self) -> QImage | None:
        with self._preview_lock:
            image, self._preview = self._preview, None
            return image

    def _set_status(self, text: str) -> None:
        if text != self._status:
            self._status = text
            self.status_changed.emit(text)

    @Slot()
    def run(self) -> None:
        try:
            self._loop()
        except Exception:  # noqa: BLE001 - a broken source must not take the app down; the keyboard still works
            log.exception("scanner stopped after an error")
            self._set_status("The scanner stopped after an error — scanning by keyboard still works")
        finally:
            try:
                self.source.close()
            except Exception:  # noqa: BLE001
                log.exception("closing the picture source failed")
            self.finished.emit()

    def _loop(self) -> None:
        is_open = False
        was_open = False  # once a camera has worked, failing to reopen it means "unplugged", not "none"
        if not self.decoder.available:
            self._set_status(f"QR reading unavailable ({self.decoder.unavailable_reason}) — use the keyboard")
            return
        if self.source.live:
            self._set_status(STARTING)
        while not self._stop.is_set():
            if not is_open:
                opened = self._guarded(self.source.open, SourceStatus.UNAVAILABLE)
                if opened.status is not SourceStatus.OK:
                    if not self.source.live:
                        self._set_status(opened.message or "Nothing to scan")
                        return
                    self._set_status(CAMERA_LOST if was_open else NO_CAMERA)
                    self._stop.wait(self.retry_seconds)
                    continue
                is_open = was_open = True
                self._set_status(READY)
            started = time.monotonic()
            frame = self._guarded(self.source.read, SourceStatus.LOST)
            if frame.status is SourceStatus.OK and frame.image is not None:
                self.frames_read += 1
                try:
                    self._process(frame)
                except Exception:  # noqa: BLE001 - one bad frame (or a faulty decoder plug-in) is skipped, not fatal
                    log.exception("could not process a frame")
            elif frame.status is SourceStatus.SKIPPED:
                self._set_status(frame.message)
                continue
            elif frame.status is SourceStatus.ENDED:
                self._set_status(frame.message or "Finished")
                return
            else:  # LOST, or UNAVAILABLE after an open that worked: close, then reopen on the next turn
                self.source.close()
                is_open = False
                if not self.source.live:
                    self._set_status(frame.message or "The picture source stopped")
                    return
                self._set_status(CAMERA_LOST)
                self._stop.wait(self.retry_seconds)
                continue
            if self.frame_interval > 0:
                self._stop.wait(max(0.0, self.frame_interval - (time.monotonic() - started)))

    @staticmethod
    def _guarded(call: Callable[[], FrameRead], failure: SourceStatus) -> FrameRead:
        """A driver that throws is treated like one that reports the failure: a live camera is then retried."""
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - third-party drivers raise anything
            log.warning("picture source failed: %s", error)
            return FrameRead(failure, message=str(error))

    def _process(self, frame: FrameRead) -> None:
        assert frame.image is not None
        decoded = self.decoder.decode(frame.image)
        decoded_at = time.monotonic()
        meanings = [interpret(code.text, self.rules) for code in decoded]
        for code, meaning in zip(decoded, meanings):
            if self.repeat_filter.accept(code.text):
                self.scan_event.emit(ScanEvent(meaning, code, frame.captured_at, decoded_at))
                self.code_scanned.emit(meaning)
        if self._preview_enabled.is_set() and (decoded or decoded_at - self._last_preview >= self.preview_interval):
            self._last_preview = decoded_at
            self._publish_preview(preview_image(frame.image, decoded, meanings, self.preview_width))

    def _publish_preview(self, image: QImage) -> None:
        with self._preview_lock:
            was_empty = self._preview is None
            self._preview = image
        if was_empty:
            self.preview_ready.emit()


def preview_image(frame: np.ndarray, decoded: list[DecodedCode], meanings: list[ScannedCode],
                  width: int = 480) -> QImage:
    """A small RGB copy of the frame with a box around each code (green: usable, red: refused)."""
    height, frame_width = frame.shape[:2]
    scale = width / frame_width
    small = cv2.resize(frame, (width, max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
    if small.ndim == 2:
        small = cv2.cvtColor(small, cv2.COLOR_GRAY2BGR)
    for code, meaning in zip(decoded, meanings):
        points = np.array([[x * scale, y * scale] for x, y in code.corners], dtype=np.int32)
        if len(points) >= 3:
            cv2.polylines(small, [points], True, _GOOD if meaning.usable else _BAD, 3, cv2.LINE_AA)
    rgb = np.ascontiguousarray(cv2.cvtColor(small, cv2.COLOR_BGR2RGB))
    h, w = rgb.shape[:2]
    # .copy(): the QImage must own its pixels, the numpy buffer dies with this function.
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()


# Threads that did not finish in time (a camera driver stuck inside a call) are kept referenced here: letting Python
# delete a running QThread aborts the process. They end on their own when the driver returns.
_STUCK: list[tuple[ScannerWorker, QThread]] = []


def _stop_worker(worker: ScannerWorker, thread: QThread, *_: object, timeout_ms: int = 5000) -> bool:
    worker.request_stop()
    thread.quit()
    if thread.wait(timeout_ms):
        return True
    log.warning("scanner thread did not stop within %d ms; leaving it to finish", timeout_ms)
    _STUCK.append((worker, thread))
    return False


class ScannerPanel(QWidget):
    """Status line, last scan, and a live preview the receptionist can show or hide. Re-emits `code_scanned`."""

    code_scanned = Signal(object)  # ScannedCode
    scan_event = Signal(object)  # ScanEvent
    status_changed = Signal(str)

    PREVIEW_SIZE = (320, 180)

    def __init__(self, rules: ScanCodeRules, sound: bool = True, preview_visible: bool = True,
                 decoder_factory: Callable[[], Decoder] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ScannerPanel")
        self.rules = rules
        self.sound = sound
        self._decoder_factory = decoder_factory or CombinedDecoder
        self._thread: QThread | None = None
        self._worker: ScannerWorker | None = None
        self._destroy_guard: QMetaObject.Connection | None = None

        self._status = QLabel("Scanner off")
        self._status.setObjectName("ScannerStatus")
        self._status.setWordWrap(True)
        self._last = QLabel("")
        self._last.setObjectName("ScannerLastScan")
        self._last.setWordWrap(True)
        self._toggle = QPushButton()
        self._toggle.setObjectName("ScannerPreviewToggle")
        self._toggle.setCheckable(True)
        self._toggle.setFocusPolicy(Qt.FocusPolicy.TabFocus)  # keep keyboard focus in the search box
        self._toggle.toggled.connect(self.set_preview_visible)
        self._preview = QLabel()
        self._preview.setObjectName("ScannerPreview")
        self._preview.setFixedSize(*self.PREVIEW_SIZE)
        self._preview.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._preview.setStyleSheet("background: #222; color: #ccc; border-radius: 6px;")
        self._preview.setText("No picture yet")

        header = QHBoxLayout()
        title = QLabel("<b>Scanner</b>")
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self._toggle)
        self._frame = QFrame()
        self._frame.setObjectName("ScannerFrame")
        frame_layout = QVBoxLayout(self._frame)
        frame_layout.setContentsMargins(8, 8, 8, 8)
        frame_layout.addLayout(header)
        frame_layout.addWidget(self._status)
        frame_layout.addWidget(self._preview, alignment=Qt.AlignmentFlag.AlignHCenter)
        frame_layout.addWidget(self._last)
        frame_layout.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self._frame)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._flash_timer = QTimer(self)
        self._flash_timer.setSingleShot(True)
        self._flash_timer.timeout.connect(self._end_flash)
        self._end_flash()
        self._toggle.setChecked(preview_visible)
        self.set_preview_visible(preview_visible)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.stop)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    @property
    def worker(self) -> ScannerWorker | None:
        return self._worker

    def start(self, source: FrameSource, **worker_options: float) -> ScannerWorker:
        """Start scanning `source` in a new thread (stopping any previous one). Options go to ScannerWorker."""
        self.stop()
        worker = ScannerWorker(source, self.rules, self._decoder_factory(), **worker_options)  # type: ignore[arg-type]
        worker.set_preview_enabled(self._toggle.isChecked())
        # Not parented to the panel: deleting a parent deletes a running QThread, which aborts the process. Instead
        # the panel's destruction stops the thread (see _stop_worker).
        thread = QThread()
        thread.setObjectName("scanner")
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.finished.connect(thread.quit)
        thread.finished.connect(worker.deleteLater)
        thread.finished.connect(self._on_thread_finished)
        # Queued: the slots run here, in the GUI thread.
        worker.code_scanned.connect(self._on_code, Qt.ConnectionType.QueuedConnection)
        worker.scan_event.connect(self.scan_event, Qt.ConnectionType.QueuedConnection)
        worker.status_changed.connect(self._on_status, Qt.ConnectionType.QueuedConnection)
        worker.preview_ready.connect(self._on_preview, Qt.ConnectionType.QueuedConnection)
        self._worker, self._thread = worker, thread
        self._destroy_guard = self.destroyed.connect(functools.partial(_stop_worker, worker, thread))
        thread.start()
        return worker

    def stop(self, timeout_ms: int = 5000) -> bool:
        """Ask the worker to finish and wait for its thread. Never terminates a thread; returns False on timeout.

        Call it when the window closes; it also runs on QApplication.aboutToQuit and when the panel is deleted."""
        worker, thread = self._worker, self._thread
        self._worker = self._thread = None
        if self._destroy_guard is not None:
            QObject.disconnect(self._destroy_guard)
            self._destroy_guard = None
        if thread is None or worker is None:
            return True
        finished = _stop_worker(worker, thread, timeout_ms=timeout_ms)
        if finished:
            self._on_status("Scanner off")
        return finished

    # -- slots (GUI thread) ------------------------------------------------------------------------------------
    @Slot()
    def _on_thread_finished(self) -> None:
        """The worker ended by itself (a file source ran out, or no decoder): forget it so start() begins afresh."""
        if self.sender() is self._thread and self._thread is not None:
            self._thread.wait()
            self._worker = self._thread = None

    def _on_status(self, text: str) -> None:
        self._status.setText(text)
        self.status_changed.emit(text)
        if text in (NO_CAMERA, CAMERA_LOST, "Scanner off"):
            self._preview.clear()
            self._preview.setText("No picture")

    def _on_preview(self) -> None:
        worker = self._worker
        image = worker.take_preview() if worker is not None else None
        if image is None or not self.preview_visible:
            return
        pixmap = QPixmap.fromImage(image).scaled(self._preview.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation)
        self._preview.setPixmap(pixmap)

    def _on_code(self, code: ScannedCode) -> None:
        mark = "✓" if code.usable else "✗"
        self._last.setText(f"{mark} {code.message}")
        self._flash(code.usable)
        if self.sound and code.usable:
            QApplication.beep()
        self.code_scanned.emit(code)

    # -- look --------------------------------------------------------------------------------------------------
    def set_preview_visible(self, visible: bool) -> None:
        self._preview.setVisible(visible)
        self._toggle.setText("Hide camera" if visible else "Show camera")
        if self._toggle.isChecked() != visible:
            self._toggle.setChecked(visible)
        if self._worker is not None:
            self._worker.set_preview_enabled(visible)

    @property
    def preview_visible(self) -> bool:
        return self._toggle.isChecked()

    @property
    def status_text(self) -> str:
        return self._status.text()

    @property
    def last_scan_text(self) -> str:
        return self._last.text()

    def _flash(self, good: bool) -> None:
        colour = "#d9f7df" if good else "#fde0e0"
        border = "#3cb44b" if good else "#d03030"
        self._frame.setStyleSheet(f"#ScannerFrame {{ background: {colour}; border: 2px solid {border}; "
                                  "border-radius: 8px; }")
        self._flash_timer.start(600)

    def _end_flash(self) -> None:
        self._frame.setStyleSheet("#ScannerFrame { border: 1px solid #c8c8c8; border-radius: 8px; }")
