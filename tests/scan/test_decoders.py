"""Decoders on the synthetic webcam corpus: the shipped combination reads at least what each library reads alone,
and never reads a code that is not there."""
from __future__ import annotations

import sys
from collections import defaultdict

import cv2
import numpy as np
import pytest
import zxingcpp

from devtools.scan_corpus import (
    CATEGORIES,
    FRAME_HEIGHT,
    FRAME_WIDTH,
    CorpusFrame,
    make_frame,
    qr_modules,
)
from frontdesk.scan.decoders import (
    CombinedDecoder,
    Decoder,
    OpenCVDecoder,
    PyzbarDecoder,
    ZxingDecoder,
    to_grey,
)


def _rates(decoder: Decoder, frames: list[CorpusFrame]) -> tuple[dict[str, int], list[str]]:
    """Frames read correctly per category, and every text read that was not the frame's code."""
    read: dict[str, int] = defaultdict(int)
    wrong: list[str] = []
    for frame in frames:
        texts = [code.text for code in decoder.decode(frame.image)]
        read[frame.category] += frame.expected in texts
        wrong += [f"{frame.category}#{frame.index}: {t!r}" for t in texts if t != frame.expected]
    return read, wrong


@pytest.fixture(scope="module")
def combined_rates(corpus_frames: list[CorpusFrame]) -> tuple[dict[str, int], list[str]]:
    return _rates(CombinedDecoder(), corpus_frames)


@pytest.mark.parametrize("single", [ZxingDecoder, PyzbarDecoder], ids=["zxing", "pyzbar"])
def test_combined_reads_at_least_what_each_library_reads(single, corpus_frames, combined_rates) -> None:  # type: ignore[no-untyped-def]
    combined, _ = combined_rates
    alone, _ = _rates(single(), corpus_frames)
    for category in CATEGORIES:
        assert combined[category] >= alone[category], category
    assert sum(combined.values()) > sum(alone.values())


def test_combined_beats_opencv_on_a_sample(corpus_frames: list[CorpusFrame], combined_rates) -> None:  # type: ignore[no-untyped-def]
    sample = [f for f in corpus_frames if f.index < 2]  # OpenCV is slow; 22 frames say enough
    combined, _ = _rates(CombinedDecoder(), sample)
    for variant in ("classic", "aruco"):
        alone, wrong = _rates(OpenCVDecoder(variant), sample)
        assert sum(combined.values()) >= sum(alone.values())
        assert not wrong


def test_no_false_positives(combined_rates) -> None:  # type: ignore[no-untyped-def]
    read, wrong = combined_rates
    assert wrong == []
    assert read["empty"] == 0


def test_thorough_mode_finds_no_codes_in_empty_frames(corpus_frames: list[CorpusFrame]) -> None:
    thorough = CombinedDecoder(thorough=True)
    for frame in corpus_frames:
        if frame.category == "empty":
            assert thorough.decode(frame.image) == []


def test_combined_decodes_the_easy_categories_every_time(combined_rates) -> None:  # type: ignore[no-untyped-def]
    read, _ = combined_rates
    for category in ("nominal", "rotated", "inverted", "perspective", "small", "low_contrast"):
        assert read[category] == 6, category


def test_corners_are_in_frame_coordinates() -> None:
    for category in ("nominal", "glare", "low_contrast"):
        for index in range(3):
            frame = make_frame(category, index, seed=5)
            codes = CombinedDecoder().decode(frame.image)
            if not codes:
                continue
            found = np.array(codes[0].corners)
            centre_error = np.linalg.norm(found.mean(axis=0) - frame.corners.mean(axis=0))
            assert centre_error < 0.1 * np.ptp(frame.corners[:, 0]) + 3, (category, index)
            x, y, w, h = codes[0].box
            assert 0 <= x < FRAME_WIDTH and 0 <= y < FRAME_HEIGHT and w > 10 and h > 10


def test_two_codes_in_one_frame() -> None:
    frame = np.full((720, 1280), 230, np.uint8)
    for offset, text in ((100, "RDM-ONE111"), (700, "RDM-TWO222")):
        modules = qr_modules(text)
        symbol = np.where(np.kron(modules, np.ones((8, 8), bool)), 20, 230).astype(np.uint8)
        frame[200:200 + symbol.shape[0], offset:offset + symbol.shape[1]] = symbol
    assert sorted(c.text for c in CombinedDecoder().decode(frame)) == ["RDM-ONE111", "RDM-TWO222"]


def test_linear_barcodes_are_ignored() -> None:
    """Receipts and product labels carry Code 128/EAN; only QR codes mean anything at this desk."""
    barcode = zxingcpp.create_barcode("RDM-8F3K2P", zxingcpp.BarcodeFormat.Code128).to_image(scale=4)
    image = cv2.copyMakeBorder(np.array(barcode), 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    assert ZxingDecoder(formats="Code128").decode(image)  # the barcode is readable...
    assert CombinedDecoder(thorough=True).decode(image) == []  # ...and deliberately not read
    assert PyzbarDecoder().decode(image) == []


@pytest.mark.parametrize("bad", [np.zeros((0, 0), np.uint8), np.zeros((4, 4), np.uint8), None, "frame",
                                 np.zeros((64, 64), np.float64), np.zeros((64, 64, 4), np.uint8),
                                 np.zeros((64, 64, 1), np.uint8)])
@pytest.mark.parametrize("decoder", [CombinedDecoder, ZxingDecoder, PyzbarDecoder, OpenCVDecoder])
def test_bad_frames_read_as_nothing(decoder, bad) -> None:  # type: ignore[no-untyped-def]
    assert decoder().decode(bad) == []


def test_to_grey_accepts_every_layout() -> None:
    assert to_grey(np.zeros((8, 8, 3), np.uint8)).shape == (8, 8)
    assert to_grey(np.zeros((8, 8, 4), np.uint8)).shape == (8, 8)
    assert to_grey(np.full((8, 8), 300.0)).max() == 255


def test_missing_zbar_makes_pyzbar_unavailable_not_broken(monkeypatch: pytest.MonkeyPatch) -> None:
    # What a PC without libzbar (or a frozen build without its DLL) looks like: the import fails.
    monkeypatch.setitem(sys.modules, "pyzbar.wrapper", None)
    decoder = PyzbarDecoder()
    assert not decoder.available and "zbar" in decoder.unavailable_reason
    assert decoder.decode(make_frame("nominal", 0).image) == []
    combined = CombinedDecoder()  # still reads with zxing alone
    assert combined.available
    assert combined.decode(make_frame("nominal", 0).image)


def test_zbar_orientation_quirk_never_surfaces() -> None:
    """pyzbar.decode() raises ValueError on some zbar 0.23 orientations; our walk never asks for the orientation."""
    frame = make_frame("rotated", 0)
    for angle in range(0, 360, 45):
        rotation = cv2.getRotationMatrix2D((640, 360), angle, 1.0)
        rotated = cv2.warpAffine(to_grey(frame.image), rotation, (1280, 720), borderValue=128)
        assert [c.text for c in PyzbarDecoder().decode(rotated)] in ([], [frame.expected])


def test_frames_without_a_code_skip_the_whole_frame_retry_and_low_contrast_codes_still_read() -> None:
    """The live scanner's costly whole-frame retry runs only where a third-size look found something code-like."""
    from devtools.scan_corpus import iter_corpus

    corpus_frames = list(iter_corpus(20, seed=2024, categories=("low_contrast", "empty")))
    decoder = CombinedDecoder()
    empties = [to_grey(f.image) for f in corpus_frames if f.category == "empty"]
    assert empties and not any(decoder._looks_like_code(grey) for grey in empties)
    low = [f for f in corpus_frames if f.category == "low_contrast"]
    routes = []
    for frame in low:
        assert frame.expected in [c.text for c in decoder.decode(frame.image)]
        routes.append(decoder.last_route)
    assert "frame:adaptive" in routes, "the corpus still exercises the gated retry"


def test_frames_with_nothing_code_like_take_the_light_path() -> None:
    """Text, checkerboards, barcode-like stripes, random dots and a phone without a code: one zxing pass and a
    cheap look, no retries, nothing read."""
    from devtools.scan_corpus import iter_corpus

    decoder = CombinedDecoder()
    for frame in iter_corpus(20, seed=2024, categories=("empty",)):
        assert decoder.decode(frame.image) == []
        assert not decoder.last_retried, frame.index


def test_codes_zxing_cannot_read_at_once_get_the_thorough_retry(corpus_frames: list[CorpusFrame]) -> None:
    """Glare, blur, several problems at once: where the first zxing pass reads nothing but something looked like a
    code, the retries run and read it; a code read at once goes no further. (Low contrast: the tests above.)"""
    decoder = CombinedDecoder()
    retried: dict[str, int] = defaultdict(int)
    for frame in corpus_frames:
        if frame.expected is None:
            continue
        texts = [c.text for c in decoder.decode(frame.image)]
        if frame.expected in texts and decoder.last_route != "zxing":
            assert decoder.last_retried, (frame.category, frame.index, decoder.last_route)
            retried[frame.category] += 1
        if decoder.last_route == "zxing":
            assert not decoder.last_retried
    assert retried["glare"] >= 2, dict(retried)


def test_dim_dark_mode_screens_still_get_the_whole_frame_retry() -> None:
    """A dimmed phone in dark mode: light modules on a dark screen with little contrast. zxing alone sees nothing;
    the look at every third pixel tries both polarities, so the whole-frame retry still runs and reads it."""
    from devtools.scan_corpus import iter_corpus

    decoder = CombinedDecoder()
    zxing = ZxingDecoder()
    frames = list(iter_corpus(12, seed=2024, categories=("low_contrast",)))
    read = routes = 0
    for frame in frames:
        dark_mode = 255 - to_grey(frame.image)
        texts = [c.text for c in decoder.decode(dark_mode)]
        read += frame.expected in texts
        routes += decoder.last_route == "frame:adaptive"
    assert read == len(frames)
    assert routes, "some of these frames need the whole-frame retry"
    assert sum(f.expected in [c.text for c in zxing.decode(255 - to_grey(f.image))] for f in frames) < read
