"""Frame sources: files, videos, and cameras that are missing, unplugged and plugged back in."""
from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from frontdesk.scan.frames import (
    ArraySource,
    CameraSource,
    ImageSequenceSource,
    SourceStatus,
    VideoFileSource,
    list_cameras,
    read_image,
)


def _write_video(path: Path, frames: int, size: tuple[int, int] = (320, 240)) -> Path:
    """Frame i is a flat grey of brightness 4*i, so a frame tells which one it is."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, size)
    assert writer.isOpened()
    for i in range(frames):
        writer.write(np.full((size[1], size[0], 3), (i * 4) % 256, np.uint8))
    writer.release()
    return path


def test_image_sequence_skips_unreadable_files_and_ends(tmp_path: Path) -> None:
    good = tmp_path / "ok é.png"  # non-ASCII path: cv2.imread would fail on Windows
    cv2.imencode(".png", np.zeros((40, 60, 3), np.uint8))[1].tofile(str(good))
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    source = ImageSequenceSource([good, broken, tmp_path / "missing.png", good])
    assert source.open().status is SourceStatus.OK
    statuses = [source.read() for _ in range(5)]
    assert [r.status for r in statuses] == [SourceStatus.OK, SourceStatus.SKIPPED, SourceStatus.SKIPPED,
                                            SourceStatus.OK, SourceStatus.ENDED]
    assert statuses[0].image.shape == (40, 60, 3)
    assert "broken.png" in statuses[1].message
    assert ImageSequenceSource([]).open().status is SourceStatus.UNAVAILABLE


def test_read_image_never_raises(tmp_path: Path) -> None:
    assert read_image(tmp_path) is None  # a folder
    assert read_image(tmp_path / "nope.png") is None
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    assert read_image(empty) is None


def test_video_file_source(tmp_path: Path) -> None:
    source = VideoFileSource(_write_video(tmp_path / "clip.avi", 5))
    assert source.open().status is SourceStatus.OK
    reads = [source.read() for _ in range(6)]
    assert [r.status for r in reads].count(SourceStatus.OK) == 5
    assert reads[-1].status is SourceStatus.ENDED
    source.close()
    looping = VideoFileSource(tmp_path / "clip.avi", loop=True)
    looping.open()
    assert all(looping.read().status is SourceStatus.OK for _ in range(12))
    looping.close()
    assert VideoFileSource(tmp_path / "none.avi").open().status is SourceStatus.UNAVAILABLE


def test_array_source_loops() -> None:
    frames = [np.zeros((8, 8, 3), np.uint8), np.ones((8, 8, 3), np.uint8)]
    source = ArraySource(frames, loop=True)
    source.open()
    assert [int(source.read().image.max()) for _ in range(4)] == [0, 1, 0, 1]


def test_missing_camera_is_a_status_not_an_exception(capfd: pytest.CaptureFixture[str]) -> None:
    camera = CameraSource(index=99, open_timeout=5)
    opened = camera.open()
    assert opened.status is SourceStatus.UNAVAILABLE and "99" in opened.message
    assert camera.read().status is SourceStatus.UNAVAILABLE
    camera.close()
    camera.close()  # twice is fine
    assert capfd.readouterr().err == ""  # OpenCV's probing warnings stay quiet


def test_list_cameras_is_quiet_and_empty_without_devices(capfd: pytest.CaptureFixture[str]) -> None:
    if list(Path("/dev").glob("video*")):
        pytest.skip("this machine has a camera")
    assert list_cameras(max_index=3) == []
    assert capfd.readouterr().err == ""


def test_unplugged_camera_is_lost_then_recovers_on_reopen(tmp_path: Path) -> None:
    """A recorded clip stands in for the device: it delivers frames, then stops like an unplugged webcam."""
    clip = _write_video(tmp_path / "camera.avi", 8)
    opened_captures: list[cv2.VideoCapture] = []

    def open_clip(index: int, backend: int) -> cv2.VideoCapture:
        capture = cv2.VideoCapture(str(clip))
        opened_captures.append(capture)
        return capture

    camera = CameraSource(index=0, read_timeout=0.3, capture_factory=open_clip)
    assert camera.open().status is SourceStatus.OK
    statuses = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        read = camera.read()
        statuses.append(read.status)
        if read.status is not SourceStatus.OK:
            break
    assert statuses[0] is SourceStatus.OK
    assert statuses[-1] is SourceStatus.LOST
    camera.close()
    # Plugged back in: the same source opens again and delivers.
    assert camera.open().status is SourceStatus.OK
    assert camera.read().status is SourceStatus.OK
    camera.close()
    assert len(opened_captures) == 2


def test_camera_keeps_only_the_newest_frame(tmp_path: Path) -> None:
    """A slow reader gets the newest frame, not a backlog: frames it was too slow for are dropped."""
    clip = _write_video(tmp_path / "camera.avi", 60)
    camera = CameraSource(index=0, read_timeout=0.5, capture_factory=lambda i, b: cv2.VideoCapture(str(clip)))
    assert camera.open().status is SourceStatus.OK
    first = camera.read()
    time.sleep(0.3)  # the grabber reads the whole clip meanwhile
    later = camera.read()
    assert first.status is SourceStatus.OK and later.status is SourceStatus.OK
    assert abs(float(later.image.mean()) - 4 * 59) < 4  # the clip's last frame, not the one after `first`
    camera.close()


def test_camera_factory_exceptions_become_unavailable() -> None:
    def broken(index: int, backend: int) -> None:
        raise RuntimeError("driver crashed")

    assert CameraSource(index=0, capture_factory=broken).open().status is SourceStatus.UNAVAILABLE
