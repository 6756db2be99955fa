"""Where frames come from: a webcam, an image sequence, a video file or frames already in memory.

Every source reports trouble as a `FrameRead` with a status and a message, never as an exception: a missing or
unplugged camera is a normal event at a counter, and the scanner keeps retrying while the receptionist carries on
typing. Sources are used from one worker thread at a time.
"""
from __future__ import annotations

import contextlib
import enum
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import cv2
import numpy as np

log = logging.getLogger(__name__)


class SourceStatus(enum.Enum):
    OK = "ok"  # a frame, or an open that worked
    UNAVAILABLE = "unavailable"  # could not open: no such camera, camera in use, missing file
    LOST = "lost"  # was delivering frames and stopped (camera unplugged, driver hiccup)
    SKIPPED = "skipped"  # one item could not be read (a corrupt image in a sequence); the next may be fine
    ENDED = "ended"  # a finite source has no more frames


@dataclass(frozen=True)
class FrameRead:
    status: SourceStatus
    image: np.ndarray | None = None  # BGR uint8 when status is OK and this is a read
    message: str = ""
    captured_at: float = 0.0  # time.monotonic() when the frame was taken from the device or file


class FrameSource(Protocol):
    """Something the scanner worker can pull frames from."""

    @property
    def name(self) -> str: ...

    @property
    def live(self) -> bool:
        """True for cameras: after a failure, closing and opening again may bring it back."""
        ...

    def open(self) -> FrameRead: ...

    def read(self) -> FrameRead: ...

    def close(self) -> None: ...


@contextlib.contextmanager
def quiet_opencv() -> Iterator[None]:
    """Silence OpenCV's own log while probing devices (process-wide, so keep the block short)."""
    previous = None
    with contextlib.suppress(Exception):
        previous = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    try:
        yield
    finally:
        if previous is not None:
            with contextlib.suppress(Exception):
                cv2.utils.logging.setLogLevel(previous)


def default_backend() -> int:
    """DirectShow on Windows: it opens in well under a second where Media Foundation can hang; elsewhere OpenCV's
    default (V4L2 on Linux, AVFoundation on macOS)."""
    if sys.platform == "win32" and hasattr(cv2, "CAP_DSHOW"):
        return int(cv2.CAP_DSHOW)
    return int(cv2.CAP_ANY)


def _open_capture(index: int, backend: int) -> Any:
    with quiet_opencv():
        try:
            capture = cv2.VideoCapture(index, backend)
        except cv2.error as error:
            log.debug("camera %s: VideoCapture failed: %s", index, error)
            return None
        if not capture.isOpened():
            capture.release()
            return None
        return capture


class CameraSource:
    """A webcam by index. A background thread keeps only the newest frame, so a slow decode never shows stale video.

    The device is opened, read and released inside that one thread (DirectShow/COM wants that).
    """

    def __init__(self, index: int = 0, width: int = 1280, height: int = 720, backend: int | None = None,
                 open_timeout: float = 10.0, read_timeout: float = 2.0,
                 capture_factory: Callable[[int, int], Any] | None = None) -> None:
        """`capture_factory(index, backend)` returns an opened cv2.VideoCapture-like object or None; it defaults to
        opening the device and exists so a recorded video can stand in for a camera that gets unplugged."""
        self.index = index
        self._capture_factory = capture_factory or _open_capture
        self.width = width
        self.height = height
        self.backend = default_backend() if backend is None else backend
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.actual_size: tuple[int, int] | None = None
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._opened = threading.Event()
        self._open_failed = ""
        self._lost = ""
        self._latest: np.ndarray | None = None
        self._latest_at = 0.0
        self._sequence = 0
        self._delivered = 0

    @property
    def name(self) -> str:
        return f"Camera {self.index}"

    @property
    def live(self) -> bool:
        return True

    def open(self) -> FrameRead:
        self.close()
        self._stop.clear()
        self._opened.clear()
        self._open_failed = ""
        self._lost = ""
        self._latest = None
        self._sequence = self._delivered = 0
        self._thread = threading.Thread(target=self._grab_loop, name=f"camera-{self.index}", daemon=True)
        self._thread.start()
        if not self._opened.wait(self.open_timeout):
            self.close()
            return FrameRead(SourceStatus.UNAVAILABLE, message=f"{self.name} did not start within "
                                                               f"{self.open_timeout:.0f} s")
        if self._open_failed:
            self.close()
            return FrameRead(SourceStatus.UNAVAILABLE, message=self._open_failed)
        return FrameRead(SourceStatus.OK, message=f"{self.name} started")

    def _grab_loop(self) -> None:
        try:
            capture = self._capture_factory(self.index, self.backend)
        except Exception as error:  # noqa: BLE001 - whatever the driver throws, the answer is "no camera"
            log.debug("camera %s failed to open: %s", self.index, error)
            capture = None
        if capture is None:
            self._open_failed = f"No camera at index {self.index}"
            self._opened.set()
            return
        try:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            # Fewer buffered frames means less lag where the driver honours it; ignored elsewhere.
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            self.actual_size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
            self._opened.set()
            last_good = time.monotonic()
            while not self._stop.is_set():
                try:
                    ok, frame = capture.read()
                except cv2.error as error:
                    ok, frame = False, None
                    log.debug("camera %s read failed: %s", self.index, error)
                now = time.monotonic()
                if ok and frame is not None and frame.size:
                    last_good = now
                    with self._condition:
                        self._latest, self._latest_at = frame, now
                        self._sequence += 1
                        self._condition.notify_all()
                elif now - last_good > self.read_timeout:
                    with self._condition:
                        self._lost = f"{self.name} stopped sending pictures"
                        self._condition.notify_all()
                    return
                else:
                    time.sleep(0.02)
        finally:
            with quiet_opencv():
                capture.release()

    def read(self) -> FrameRead:
        if self._thread is None:
            return FrameRead(SourceStatus.UNAVAILABLE, message=f"{self.name} is not open")
        deadline = time.monotonic() + self.read_timeout
        with self._condition:
            while self._sequence == self._delivered and not self._lost:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self._thread.is_alive():
                    return FrameRead(SourceStatus.LOST, message=self._lost or f"{self.name} stopped sending pictures")
                self._condition.wait(min(remaining, 0.25))
            if self._sequence == self._delivered:
                return FrameRead(SourceStatus.LOST, message=self._lost)
            self._delivered = self._sequence
            return FrameRead(SourceStatus.OK, self._latest, captured_at=self._latest_at)

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop.set()
        with self._condition:
            self._condition.notify_all()
        # A driver stuck inside open() cannot be interrupted; the thread is a daemon and is left to finish alone.
        thread.join(timeout=self.read_timeout + 1.0)


def read_image(path: str | os.PathLike[str]) -> np.ndarray | None:
    """An image file as BGR, or None if it cannot be read. Works with non-ASCII paths on Windows (cv2.imread
    does not)."""
    try:
        data = np.fromfile(os.fspath(path), dtype=np.uint8)
    except (OSError, ValueError):
        return None
    if data.size == 0:
        return None
    try:
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    except cv2.error:
        return None
    return image if image is not None and image.size else None


class ImageSequenceSource:
    """Image files in order; an unreadable file is reported and skipped."""

    def __init__(self, paths: Sequence[str | os.PathLike[str]], loop: bool = False) -> None:
        self.paths = [Path(p) for p in paths]
        self.loop = loop
        self._position = 0

    @property
    def name(self) -> str:
        return f"{len(self.paths)} image(s)"

    @property
    def live(self) -> bool:
        return False

    def open(self) -> FrameRead:
        self._position = 0
        if not self.paths:
            return FrameRead(SourceStatus.UNAVAILABLE, message="No images to read")
        return FrameRead(SourceStatus.OK, message=self.name)

    def read(self) -> FrameRead:
        if self._position >= len(self.paths):
            if not self.loop or not self.paths:
                return FrameRead(SourceStatus.ENDED, message="End of images")
            self._position = 0
        path = self.paths[self._position]
        self._position += 1
        image = read_image(path)
        if image is None:
            return FrameRead(SourceStatus.SKIPPED, message=f"Can't read image {path.name}")
        return FrameRead(SourceStatus.OK, image, captured_at=time.monotonic())

    def close(self) -> None:
        self._position = len(self.paths)


class VideoFileSource:
    """A recorded video (or an OpenCV image-sequence pattern such as ``frames/img_%03d.png``)."""

    def __init__(self, path: str | os.PathLike[str], loop: bool = False) -> None:
        self.path = os.fspath(path)
        self.loop = loop
        self._capture: Any = None

    @property
    def name(self) -> str:
        return os.path.basename(self.path) or self.path

    @property
    def live(self) -> bool:
        return False

    def open(self) -> FrameRead:
        self.close()
        with quiet_opencv():
            try:
                capture = cv2.VideoCapture(self.path)
            except cv2.error:
                capture = None
        if capture is None or not capture.isOpened():
            return FrameRead(SourceStatus.UNAVAILABLE, message=f"Can't open video {self.name}")
        self._capture = capture
        return FrameRead(SourceStatus.OK, message=self.name)

    def read(self) -> FrameRead:
        if self._capture is None:
            return FrameRead(SourceStatus.UNAVAILABLE, message=f"{self.name} is not open")
        try:
            ok, frame = self._capture.read()
        except cv2.error:
            ok, frame = False, None
        if ok and frame is not None:
            return FrameRead(SourceStatus.OK, frame, captured_at=time.monotonic())
        if self.loop and self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0):
            ok, frame = self._capture.read()
            if ok and frame is not None:
                return FrameRead(SourceStatus.OK, frame, captured_at=time.monotonic())
        return FrameRead(SourceStatus.ENDED, message=f"End of {self.name}")

    def close(self) -> None:
        capture, self._capture = self._capture, None
        if capture is not None:
            capture.release()


class ArraySource:
    """Frames already in memory (tests, benchmarks, the self-test)."""

    def __init__(self, frames: Iterable[np.ndarray], name: str = "frames", loop: bool = False) -> None:
        self._frames = list(frames)
        self._name = name
        self.loop = loop
        self._position = 0

    @property
    def name(self) -> str:
        return self._name

    @property
    def live(self) -> bool:
        return False

    def open(self) -> FrameRead:
        self._position = 0
        return FrameRead(SourceStatus.OK if self._frames else SourceStatus.UNAVAILABLE, message=self._name)

    def read(self) -> FrameRead:
        if self._position >= len(self._frames):
            if not self.loop or not self._frames:
                return FrameRead(SourceStatus.ENDED, message=f"End of {self._name}")
            self._position = 0
        frame = self._frames[self._position]
        self._position += 1
        return FrameRead(SourceStatus.OK, frame, captured_at=time.monotonic())

    def close(self) -> None:
        self._position = len(self._frames)


@dataclass(frozen=True)
class CameraInfo:
    index: int
    width: int
    height: int
    backend: str


def list_cameras(max_index: int = 5, backend: int | None = None) -> list[CameraInfo]:
    """Cameras that open and deliver a frame, probing indices 0..max_index-1 without printing OpenCV warnings."""
    chosen = default_backend() if backend is None else backend
    found = []
    for index in range(max(0, max_index)):
        capture = _open_capture(index, chosen)
        if capture is None:
            continue
        try:
            with quiet_opencv():
                ok, frame = capture.read()
                name = capture.getBackendName() if hasattr(capture, "getBackendName") else ""
        except cv2.error:
            ok, frame, name = False, None, ""
        finally:
            with quiet_opencv():
                capture.release()
        if ok and frame is not None:
            height, width = frame.shape[:2]
            found.append(CameraInfo(index, width, height, name))
    return found
