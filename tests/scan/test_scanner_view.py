"""The scanner worker and panel, driven by real frames from files and by a camera that is missing or unplugged."""
from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

pytest.importorskip("PySide6.QtWidgets")

from PySide6.QtPrintSupport import QPrinter  # noqa: E402
from PySide6.QtWidgets import QLabel, QPushButton  # noqa: E402

from devtools.scan_corpus import make_frame  # noqa: E402
from frontdesk.scan.codes import ScanCodeRules, ScannedCode, sign_member_card  # noqa: E402
from frontdesk.scan.decoders import CombinedDecoder  # noqa: E402
from frontdesk.scan.frames import CameraSource, ImageSequenceSource  # noqa: E402
from frontdesk.ui.member_card_dialog import MemberCardDialog  # noqa: E402
from frontdesk.ui.scanner_view import (  # noqa: E402
    CAMERA_LOST,
    NO_CAMERA,
    READY,
    ScanEvent,
    ScannerPanel,
)

SHOTS = Path(tempfile.gettempdir()) / "frontdesk-scan-screens"


def _shot(widget, name: str) -> None:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(exist_ok=True)
    widget.grab().save(str(SHOTS / f"{name}.png"))


def _frames(tmp_path: Path, payloads: list[str | None]) -> list[Path]:
    paths = []
    for i, payload in enumerate(payloads):
        frame = make_frame("nominal", i, seed=3, payload=payload) if payload else make_frame("empty", i, seed=3)
        path = tmp_path / f"frame_{i:03d}.png"
        cv2.imwrite(str(path), frame.image)
        paths.append(path)
    return paths


def _wait_for_preview(qtbot, panel: ScannerPanel) -> None:  # type: ignore[no-untyped-def]
    preview = panel.findChild(QLabel, "ScannerPreview")
    qtbot.waitUntil(lambda: not preview.pixmap().isNull(), timeout=5_000)


@pytest.fixture
def panel(qtbot, card_key: bytes):  # type: ignore[no-untyped-def]
    widget = ScannerPanel(ScanCodeRules(card_key=card_key), sound=False)
    qtbot.addWidget(widget)
    widget.resize(360, 330)
    widget.show()
    yield widget
    assert widget.stop()


def test_member_card_frames_emit_one_scan(qtbot, panel: ScannerPanel, tmp_path: Path, card_key: bytes) -> None:  # type: ignore[no-untyped-def]
    token = sign_member_card("M1000042", card_key)
    paths = _frames(tmp_path, [None, None, token, token, token, token, None])
    scans: list[ScannedCode] = []
    events: list[ScanEvent] = []
    panel.code_scanned.connect(scans.append)
    panel.scan_event.connect(events.append)
    with qtbot.waitSignal(panel.code_scanned, timeout=10_000):
        panel.start(ImageSequenceSource(paths))
    qtbot.waitUntil(lambda: panel.status_text == "End of images", timeout=10_000)
    assert [(s.kind, s.value) for s in scans] == [("member_card", "M1000042")]  # the same card 4 times: one scan
    assert panel.last_scan_text == "✓ Member card M1000042"
    assert events[0].captured_at <= events[0].decoded_at
    assert events[0].decoded.corners
    _wait_for_preview(qtbot, panel)
    _shot(panel, "scanner-panel-member-card")


def test_forged_card_is_refused_visibly(qtbot, panel: ScannerPanel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    forged = sign_member_card("M1000042", b"someone-elses-key")
    with qtbot.waitSignal(panel.code_scanned, timeout=10_000) as blocker:
        panel.start(ImageSequenceSource(_frames(tmp_path, [forged])))
    assert blocker.args[0].kind == "forged"
    assert panel.last_scan_text.startswith("✗ This member card failed its security check")
    _wait_for_preview(qtbot, panel)
    _shot(panel, "scanner-panel-forged")


def test_preview_can_be_hidden(qtbot, panel: ScannerPanel, tmp_path: Path, card_key: bytes) -> None:  # type: ignore[no-untyped-def]
    toggle = panel.findChild(QPushButton, "ScannerPreviewToggle")
    assert panel.preview_visible and toggle.text() == "Hide camera"
    toggle.click()
    assert not panel.preview_visible and toggle.text() == "Show camera"
    worker = panel.start(ImageSequenceSource(_frames(tmp_path, [sign_member_card("M1", card_key)])))
    assert not worker._preview_enabled.is_set()
    with qtbot.waitSignal(panel.code_scanned, timeout=10_000):
        pass  # scanning carries on with the preview hidden
    _shot(panel, "scanner-panel-hidden")
    toggle.click()
    assert panel.preview_visible


def test_no_camera_gives_a_message_and_stops_cleanly(qtbot, panel: ScannerPanel) -> None:  # type: ignore[no-untyped-def]
    panel.start(CameraSource(index=99), retry_seconds=0.2)
    qtbot.waitUntil(lambda: panel.status_text == NO_CAMERA, timeout=10_000)
    _shot(panel, "scanner-panel-no-camera")
    started = time.monotonic()
    assert panel.stop()
    assert time.monotonic() - started < 2
    assert not panel.running and panel.status_text == "Scanner off"


def test_unplugged_camera_is_retried_until_it_comes_back(qtbot, panel: ScannerPanel, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                         card_key: bytes) -> None:
    first, second = sign_member_card("M1000001", card_key), sign_member_card("M1000002", card_key)
    clips = []
    for name, payload in (("before.avi", first), ("after.avi", second)):
        writer = cv2.VideoWriter(str(tmp_path / name), cv2.VideoWriter_fourcc(*"MJPG"), 30, (1280, 720))
        for i in range(3):
            writer.write(make_frame("nominal", i, seed=9, payload=payload).image)
        writer.release()
        clips.append(tmp_path / name)
    # Plugged in (first clip), then unplugged for two attempts, then back (second clip).
    plan = [clips[0], None, None, clips[1]]

    def open_device(index: int, backend: int):  # type: ignore[no-untyped-def]
        clip = plan.pop(0) if plan else None
        return cv2.VideoCapture(str(clip)) if clip else None

    statuses: list[str] = []
    scans: list[ScannedCode] = []
    panel.status_changed.connect(statuses.append)
    panel.code_scanned.connect(scans.append)
    panel.start(CameraSource(0, read_timeout=0.3, capture_factory=open_device), retry_seconds=0.1)
    qtbot.waitUntil(lambda: len(scans) == 2, timeout=15_000)
    assert [s.value for s in scans] == ["M1000001", "M1000002"]
    assert CAMERA_LOST in statuses
    lost_at = statuses.index(CAMERA_LOST)
    assert NO_CAMERA not in statuses[lost_at:]  # once seen, a missing camera is "disconnected", not "none"
    assert READY in statuses[lost_at:]


def test_decoder_runs_off_the_gui_thread(qtbot, card_key: bytes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import threading

    threads: set[str] = set()

    class RecordingDecoder(CombinedDecoder):
        def decode(self, image: np.ndarray):  # type: ignore[no-untyped-def]
            threads.add(threading.current_thread().name)
            return super().decode(image)

    widget = ScannerPanel(ScanCodeRules(card_key=card_key), sound=False, decoder_factory=RecordingDecoder)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.code_scanned, timeout=10_000):
        widget.start(ImageSequenceSource(_frames(tmp_path, [sign_member_card("M1", card_key)])))
    assert widget.stop()
    assert threads and threading.main_thread().name not in threads


def test_member_card_dialog_saves_and_prints(qtbot, tmp_path: Path, card_key: bytes) -> None:  # type: ignore[no-untyped-def]
    token = sign_member_card("M1000042", card_key)
    dialog = MemberCardDialog("Tan Mei Ling 陈美玲", "M1000042", token, save_dir=tmp_path)
    qtbot.addWidget(dialog)
    dialog.show()
    _shot(dialog, "member-card-dialog")
    assert dialog.print_button.isEnabled()  # QtPrintSupport ships in PySide6-Essentials

    assert dialog.save_png(tmp_path / "card.png")
    assert "Saved card.png" in dialog.message
    assert [c.text for c in CombinedDecoder().decode(cv2.imread(str(tmp_path / "card.png")))] == [token]
    assert dialog.save_pdf(tmp_path / "card.pdf")
    assert (tmp_path / "card.pdf").read_bytes().startswith(b"%PDF")

    assert not dialog.save_png(tmp_path / "missing-folder" / "card.png")
    assert dialog.message.startswith("Couldn't save the card")

    printer = dialog.make_printer()
    printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
    printer.setOutputFileName(str(tmp_path / "printed.pdf"))
    assert dialog.paint_card(printer)
    printed = (tmp_path / "printed.pdf").read_bytes()
    assert printed.startswith(b"%PDF") and len(printed) > 2000


@pytest.fixture(scope="session", autouse=True)
def _fresh_screens_dir() -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)


class _BrokenDriver:
    """A FrameSource whose driver throws, as some webcam drivers do mid-shift."""

    name = "broken camera"
    live = True

    def open(self):  # type: ignore[no-untyped-def]
        raise OSError("driver exploded")

    def read(self):  # type: ignore[no-untyped-def]
        raise AssertionError("never opened")

    def close(self) -> None:
        pass


def test_a_throwing_driver_is_retried_like_a_missing_camera(qtbot, panel: ScannerPanel) -> None:  # type: ignore[no-untyped-def]
    panel.start(_BrokenDriver(), retry_seconds=0.1)  # type: ignore[arg-type]
    qtbot.waitUntil(lambda: panel.status_text == NO_CAMERA, timeout=5_000)
    qtbot.wait(300)
    assert panel.running  # still trying, for when the driver comes back
    assert panel.stop()


def test_a_frame_that_breaks_the_decoder_is_skipped(qtbot, card_key: bytes, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    calls = {"n": 0}

    class FlakyDecoder(CombinedDecoder):
        def decode(self, image: np.ndarray):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 1:
                raise RuntimeError("decoder bug on this frame")
            return super().decode(image)

    token = sign_member_card("M7", card_key)
    widget = ScannerPanel(ScanCodeRules(card_key=card_key), sound=False, decoder_factory=FlakyDecoder)
    qtbot.addWidget(widget)
    with qtbot.waitSignal(widget.code_scanned, timeout=10_000) as blocker:
        widget.start(ImageSequenceSource(_frames(tmp_path, [token, token])))
    assert blocker.args[0].value == "M7"
    assert widget.stop()


def test_deleting_a_running_panel_stops_its_thread(qtbot, card_key: bytes) -> None:  # type: ignore[no-untyped-def]
    import shiboken6

    from frontdesk.scan.frames import ArraySource

    widget = ScannerPanel(ScanCodeRules(card_key=card_key), sound=False)
    frames = [make_frame("empty", 0).image]
    worker = widget.start(ArraySource(frames, loop=True), frame_interval=0.01)
    qtbot.waitUntil(lambda: worker.frames_read > 2, timeout=5_000)
    thread = worker.thread()
    shiboken6.delete(widget)  # what happens to a child widget when its window is deleted
    assert thread.isFinished()
