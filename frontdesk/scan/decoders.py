"""QR decoders behind one protocol: zxing-cpp, pyzbar (zbar), OpenCV, and the combination Front Desk ships.

A decoder takes a camera frame (BGR or grey uint8 numpy array) and returns what it read, with the corners of each
code in frame coordinates so the preview can draw a box. Decoders never raise on a frame: a library error means
"nothing read" for that frame, and a library that cannot load (libzbar missing) makes its decoder unavailable with
a reason instead of breaking the import of this module.

Instances are not shared between threads (OpenCV's detectors keep state); the scanner worker owns its own.
"""
from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import cv2
import numpy as np

log = logging.getLogger(__name__)

Point = tuple[float, float]


@dataclass(frozen=True)
class DecodedCode:
    text: str
    format: str  # "QRCode", "MicroQRCode", ...
    corners: tuple[Point, ...]  # clockwise from the code's top-left, frame pixel coordinates
    decoder: str  # which decoder (and retry) read it, for diagnostics

    @property
    def box(self) -> tuple[int, int, int, int]:
        """Axis-aligned (x, y, width, height) around the corners."""
        xs = [p[0] for p in self.corners]
        ys = [p[1] for p in self.corners]
        x, y = int(min(xs)), int(min(ys))
        return x, y, int(max(xs)) - x, int(max(ys)) - y


class Decoder(Protocol):
    name: str

    @property
    def available(self) -> bool: ...

    @property
    def unavailable_reason(self) -> str: ...

    def decode(self, image: np.ndarray) -> list[DecodedCode]: ...


def to_grey(image: np.ndarray) -> np.ndarray:
    """A contiguous single-channel uint8 view of a frame (BGR, BGRA or already grey)."""
    if image.ndim == 3 and image.shape[2] == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2GRAY)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    return np.ascontiguousarray(image)


def _valid_frame(image: Any) -> bool:
    return (isinstance(image, np.ndarray) and image.ndim in (2, 3) and image.shape[0] >= 8 and image.shape[1] >= 8
            and image.size > 0)


def bytes_to_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # zbar hands back raw bytes when the code declares no charset; ISO-8859-1 is the QR default.
        return data.decode("latin-1")


class ZxingDecoder:
    """zxing-cpp: fast and robust; reads inverted (dark-mode) codes, perspective and glare."""

    def __init__(self, formats: str = "QRCode,MicroQRCode", try_invert: bool = True, try_downscale: bool = True,
                 try_rotate: bool = True, binarizer: str = "LocalAverage", name: str = "zxing") -> None:
        self.name = name
        self._reason = ""
        try:
            import zxingcpp
        except ImportError as error:  # a broken wheel on an odd platform should not stop keyboard scanning
            self._zx: Any = None
            self._reason = f"zxing-cpp is not installed ({error})"
            return
        self._zx = zxingcpp
        self._options = dict(
            formats=zxingcpp.barcode_formats_from_str(formats),
            try_rotate=try_rotate,
            try_downscale=try_downscale,
            try_invert=try_invert,
            binarizer=getattr(zxingcpp.Binarizer, binarizer),
            text_mode=zxingcpp.TextMode.Plain,
        )

    @property
    def available(self) -> bool:
        return self._zx is not None

    @property
    def unavailable_reason(self) -> str:
        return self._reason

    def options(self, return_errors: bool = False, binarizer: str | None = None, **overrides: Any) -> dict[str, Any]:
        """This decoder's zxing options with some changed, to build once and pass to read() on every frame."""
        if self._zx is None:
            return {}
        options = {**self._options, **overrides, "return_errors": return_errors}
        if binarizer is not None:
            options["binarizer"] = getattr(self._zx.Binarizer, binarizer)
        return options

    def read(self, grey: np.ndarray, options: dict[str, Any] | None = None) -> list[Any]:
        """Raw zxing results for a grey image, with this decoder's options or a set from options()."""
        if self._zx is None:
            return []
        try:
            return list(self._zx.read_barcodes(grey, **(options or self._options)))
        except Exception as error:  # noqa: BLE001 - a library fault on one frame must not stop the scan loop
            log.debug("zxing-cpp failed on a frame: %s", error)
            return []

    @staticmethod
    def corners_of(result: Any) -> tuple[Point, ...]:
        position = result.position
        return tuple((float(p.x), float(p.y)) for p in
                     (position.top_left, position.top_right, position.bottom_right, position.bottom_left))

    def to_code(self, result: Any, offset: Point = (0.0, 0.0), scale: float = 1.0,
                decoder: str | None = None) -> DecodedCode:
        corners = tuple((x / scale + offset[0], y / scale + offset[1]) for x, y in self.corners_of(result))
        return DecodedCode(result.text, result.format.name, corners, decoder or self.name)

    def decode(self, image: np.ndarray) -> list[DecodedCode]:
        if not _valid_frame(image):
            return []
        return [self.to_code(r) for r in self.read(to_grey(image)) if r.valid and r.text]


class PyzbarDecoder:
    """zbar through pyzbar's ctypes bindings: the long-standing baseline, weak on inverted and tilted codes.

    pyzbar.decode() itself is not used: pyzbar 0.1.9 with zbar 0.23.9x raises ValueError while converting a symbol's
    orientation, which would throw away every code in the frame. We walk zbar's symbols with pyzbar's own wrapper
    functions and simply do not ask for the orientation.
    """

    def __init__(self, qr_only: bool = True, name: str = "pyzbar") -> None:
        self.name = name
        self._reason = ""
        self._qr_only = qr_only
        try:
            wrapper = importlib.import_module("pyzbar.wrapper")  # loads libzbar through ctypes at import
        except (ImportError, OSError) as error:  # libzbar missing (Linux: apt install libzbar0) or unloadable DLL
            self._wrapper: Any = None
            self._reason = f"zbar library not available ({error})"
            return
        self._wrapper = wrapper

    @property
    def available(self) -> bool:
        return self._wrapper is not None

    @property
    def unavailable_reason(self) -> str:
        return self._reason

    def read_grey(self, grey: np.ndarray) -> list[tuple[str, tuple[Point, ...]]]:
        from ctypes import c_char_p, c_void_p, cast, string_at

        w = self._wrapper
        if w is None:
            return []
        height, width = grey.shape[:2]
        pixels = np.ascontiguousarray(grey).tobytes()
        found: list[tuple[str, tuple[Point, ...]]] = []
        scanner = w.zbar_image_scanner_create()
        if not scanner:
            return []
        try:
            if self._qr_only:
                # Linear barcodes are easy to "see" in text and stripes; our codes are all QR.
                w.zbar_image_scanner_set_config(scanner, 0, w.ZBarConfig.CFG_ENABLE, 0)
                w.zbar_image_scanner_set_config(scanner, w.ZBarSymbol.QRCODE, w.ZBarConfig.CFG_ENABLE, 1)
            image = w.zbar_image_create()
            if not image:
                return []
            try:
                w.zbar_image_set_format(image, 808466521)  # fourcc 'Y800': 8-bit grey
                w.zbar_image_set_size(image, width, height)
                w.zbar_image_set_data(image, cast(c_char_p(pixels), c_void_p), len(pixels), None)
                if w.zbar_scan_image(scanner, image) < 0:
                    return []
                symbol = w.zbar_image_first_symbol(image)
                while symbol:
                    data = string_at(w.zbar_symbol_get_data(symbol), w.zbar_symbol_get_data_length(symbol))
                    points = tuple(
                        (float(w.zbar_symbol_get_loc_x(symbol, i)), float(w.zbar_symbol_get_loc_y(symbol, i)))
                        for i in range(w.zbar_symbol_get_loc_size(symbol)))
                    found.append((bytes_to_text(data), points))
                    symbol = w.zbar_symbol_next(symbol)
            finally:
                w.zbar_image_destroy(image)
        except (ValueError, OSError, ArithmeticError) as error:  # never let a zbar quirk reach the receptionist
            log.debug("zbar failed on a frame: %s", error)
        finally:
            w.zbar_image_scanner_destroy(scanner)
        return found

    def decode(self, image: np.ndarray) -> list[DecodedCode]:
        if not _valid_frame(image):
            return []
        return [DecodedCode(text, "QRCode", _quad_from_points(points), self.name)
                for text, points in self.read_grey(to_grey(image)) if text]


def _quad_from_points(points: Sequence[Point]) -> tuple[Point, ...]:
    """zbar reports the finder outline point by point; reduce it to a rotated rectangle's 4 corners."""
    if len(points) < 3:
        return tuple(points)
    box = cv2.boxPoints(cv2.minAreaRect(np.array(points, dtype=np.float32)))
    return tuple((float(x), float(y)) for x, y in box)


class OpenCVDecoder:
    """OpenCV's QRCodeDetector ("classic") or QRCodeDetectorAruco ("aruco"): no extra dependency, slow on big frames."""

    def __init__(self, variant: str = "aruco", name: str | None = None) -> None:
        if variant not in ("classic", "aruco"):
            raise ValueError("variant must be 'classic' or 'aruco'")
        self.name = name or f"opencv-{variant}"
        self._detector: Any = cv2.QRCodeDetectorAruco() if variant == "aruco" else cv2.QRCodeDetector()

    @property
    def available(self) -> bool:
        return True

    @property
    def unavailable_reason(self) -> str:
        return ""

    def decode(self, image: np.ndarray) -> list[DecodedCode]:
        if not _valid_frame(image):
            return []
        grey = to_grey(image)
        try:
            ok, texts, points, _ = self._detector.detectAndDecodeMulti(grey)
        except cv2.error as error:
            log.debug("OpenCV QR detector failed on a frame: %s", error)
            return []
        if not ok or points is None:
            return []
        codes = []
        for text, quad in zip(texts, points):
            if text:
                codes.append(DecodedCode(text, "QRCode", tuple((float(x), float(y)) for x, y in quad), self.name))
        return codes


# ---------------------------------------------------------------------------------------------------------------------
# The shipped combination
# ---------------------------------------------------------------------------------------------------------------------

_ROI_SIDE = 360  # crops are scaled to about this size: big enough for 2-3 px modules, small enough to stay cheap


def _unsharp(grey: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    blurred = cv2.GaussianBlur(grey, (0, 0), sigma)
    return cv2.addWeighted(grey, 1 + amount, blurred, -amount, 0)


def _fit(grey: np.ndarray, side: int = _ROI_SIDE) -> tuple[np.ndarray, float]:
    scale = side / max(grey.shape[:2])
    interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
    return cv2.resize(grey, None, fx=scale, fy=scale, interpolation=interpolation), scale


def _adaptive(grey: np.ndarray) -> np.ndarray:
    smooth = cv2.GaussianBlur(grey, (0, 0), 1.5)
    return cv2.adaptiveThreshold(smooth, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 41, 0)


# The look for a code zxing cannot see (step 3 of CombinedDecoder) takes every third pixel and a 13-pixel block.
# Picking pixels costs a fifth of interpolating them, and with this block it still finds every code the whole-frame
# retry reads in 40 frames of each hard category (low contrast, glare, blur, mix) of three corpus seeds, and the
# light-on-dark versions of the low-contrast ones (blocks of 9-11 or a quarter size miss
# some); benchmarks/bench_decode.py times it against zxing alone.
_GATE_STEP = 3
_GATE_BLOCK = 13
_GATE_MIN_SIDE = 80  # below 240 px a frame is cheap enough to retry in full


def _adaptive_frame(grey: np.ndarray) -> np.ndarray:
    """Whole-frame local threshold without pre-smoothing: ~1.4 ms at 1280x720, against ~3.5 ms with a blur."""
    return cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, 41, 0)


def _clahe(grey: np.ndarray) -> np.ndarray:
    return cv2.createCLAHE(clipLimit=3.0, tileGridSize=(4, 4)).apply(grey)


# Each retry turns a crop (already scaled to about _ROI_SIDE) into an image for the decoder. The order is by
# usefulness per millisecond on the corpus; see benchmarks/bench_decode.py.
_ROI_RETRIES: dict[str, Any] = {
    "adaptive": _adaptive,          # low contrast and uneven light (glare)
    "sharpen": lambda g: _unsharp(g, 4.0, 3.0),  # out of focus
    "clahe": _clahe,                # dim codes on phones
}


class CombinedDecoder:
    """What Front Desk ships: zxing-cpp on the whole frame, then cheap, targeted retries.

    1. zxing-cpp reads the grey frame at full size (inverted codes included) and also reports codes it *located*
       but failed to decode (checksum errors). A clean frame stops here: ~0.7 ms at 1280x720.
    2. If nothing was read, a cheap look for anything code-like (below). Where nothing looks like a code (the
       common case) the frame costs about one zxing pass with its defaults, as its own third-size pass is skipped.
       Everything after this runs only where something looked like a code.
    3. zxing-cpp with its defaults (adding a third-size copy: big or blurred codes).
    4. Around each located-but-unread code it crops, rescales to ~360 px and retries zxing on the plain crop, then on
       an adaptive-threshold, a sharpened and a CLAHE version, and finally gives zbar (pyzbar) a go on the sharpened
       crop. Crops are small, so this costs a few milliseconds, and only on frames that really show a code.
    5. A whole-frame retry on a locally thresholded frame (~2 ms): zxing ignores detail with less than ~24 grey
       levels of contrast, which is exactly a dim phone screen or a code under glare. This is what the look of step
       2 is for: zxing located a code in step 1 (free), or it locates one in the same threshold of every third pixel
       (~0.3 ms, light-on-dark codes included). On the corpus the look never fires on an empty frame and never
       misses a code that steps 3-5 read.
    6. `thorough=True` (single images, the CLI) adds slower whole-frame retries (sharpened, CLAHE, zbar). The live
       scanner leaves it off: frames without a code are the common case and must stay cheap.

    Every result is a QR whose Reed-Solomon check passed, so retries do not invent codes.
    """

    name = "combined"

    def __init__(self, thorough: bool = False, use_pyzbar: bool = True, max_regions: int = 2) -> None:
        self.thorough = thorough
        self.max_regions = max_regions
        self._zxing = ZxingDecoder()
        self._pyzbar = PyzbarDecoder() if use_pyzbar else None
        self._last_route = ""
        self._last_retried = False
        # Built once: a live scanner calls decode() for every camera frame.
        self._first_pass = self._zxing.options(return_errors=True, try_downscale=False)
        self._downscaled_pass = self._zxing.options(return_errors=True)
        self._thresholded_pass = self._zxing.options(binarizer="FixedThreshold")
        self._gate_pass = self._zxing.options(return_errors=True, binarizer="FixedThreshold", try_rotate=False,
                                              try_downscale=False)

    @property
    def available(self) -> bool:
        return self._zxing.available or bool(self._pyzbar and self._pyzbar.available)

    @property
    def unavailable_reason(self) -> str:
        if self.available:
            return ""
        return "; ".join(r for r in (self._zxing.unavailable_reason,
                                      self._pyzbar.unavailable_reason if self._pyzbar else "") if r)

    @property
    def last_route(self) -> str:
        """Which step read the last frame ("zxing", "roi:sharpen", "frame:adaptive", ...), "" if nothing was read."""
        return self._last_route

    @property
    def last_retried(self) -> bool:
        """Whether the last frame went on to the retries (steps 3-6) because something in it looked like a code."""
        return self._last_retried

    def decode(self, image: np.ndarray) -> list[DecodedCode]:
        self._last_route = ""
        self._last_retried = False
        if not _valid_frame(image):
            return []
        grey = to_grey(image)
        if not self._zxing.available:
            codes = self._pyzbar.decode(grey) if self._pyzbar else []
            self._last_route = "pyzbar" if codes else ""
            return codes
        results = self._zxing.read(grey, self._first_pass)
        codes = self._valid(results, "zxing")
        if codes:
            return codes
        located = [r for r in results if not r.valid]
        if not (self.thorough or located or self._looks_like_code(grey)):
            return []  # nothing looked like a code: the common, light case
        self._last_retried = True
        results = self._zxing.read(grey, self._downscaled_pass)
        codes = self._valid(results, "zxing:downscaled")
        if codes:
            return codes
        located += [r for r in results if not r.valid]
        for region in self._regions(located, grey.shape):
            codes = self._retry_region(grey, region)
            if codes:
                return codes
        codes = self._valid(self._zxing.read(_adaptive_frame(grey), self._thresholded_pass), "frame:adaptive")
        if codes or not self.thorough:
            return codes
        return self._retry_whole(grey)

    def _looks_like_code(self, grey: np.ndarray) -> bool:
        """Does a locally thresholded copy of every third pixel show zxing anything it would call a code (read or
        not, light on dark too)?"""
        height, width = grey.shape[:2]
        if width < _GATE_STEP * _GATE_MIN_SIDE or height < _GATE_STEP * _GATE_MIN_SIDE:
            return True  # too small to shrink: just try
        sample = np.ascontiguousarray(grey[::_GATE_STEP, ::_GATE_STEP])
        binary = cv2.adaptiveThreshold(sample, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, _GATE_BLOCK, 0)
        return bool(self._zxing.read(binary, self._gate_pass))

    def _valid(self, results: list[Any], route: str, offset: Point = (0.0, 0.0), scale: float = 1.0
               ) -> list[DecodedCode]:
        codes = _unique([self._zxing.to_code(r, offset=offset, scale=scale, decoder=f"{self.name}/{route}")
                         for r in results if r.valid and r.text])
        if codes:
            self._last_route = route
        return codes

    def _regions(self, located: list[Any], shape: tuple[int, ...]) -> list[tuple[int, int, int, int]]:
        """Crops (x0, y0, x1, y1) around codes zxing located; overlapping detections of one code become one crop."""
        height, width = shape[:2]
        regions: list[tuple[int, int, int, int]] = []
        for result in located:
            corners = np.array(self._zxing.corners_of(result), dtype=np.float32)
            low, high = corners.min(axis=0), corners.max(axis=0)
            margin = 0.3 * float(max(high - low)) + 8
            x0, y0 = int(max(low[0] - margin, 0)), int(max(low[1] - margin, 0))
            x1, y1 = int(min(high[0] + margin, width)), int(min(high[1] + margin, height))
            if x1 - x0 < 16 or y1 - y0 < 16:
                continue
            for i, (a0, b0, a1, b1) in enumerate(regions):
                if x0 < a1 and a0 < x1 and y0 < b1 and b0 < y1:
                    regions[i] = (min(a0, x0), min(b0, y0), max(a1, x1), max(b1, y1))
                    break
            else:
                regions.append((x0, y0, x1, y1))
        return regions[: self.max_regions]

    def _retry_region(self, grey: np.ndarray, region: tuple[int, int, int, int]) -> list[DecodedCode]:
        x0, y0, x1, y1 = region
        crop, scale = _fit(np.ascontiguousarray(grey[y0:y1, x0:x1]))
        attempts: list[tuple[str, np.ndarray]] = [("roi", crop)]
        attempts += [(f"roi:{name}", make(crop)) for name, make in _ROI_RETRIES.items()]
        for route, candidate in attempts:
            codes = self._valid(self._zxing.read(candidate), route, offset=(x0, y0), scale=scale)
            if codes:
                return codes
        if self.thorough and self._pyzbar is not None and self._pyzbar.available:
            sharpened = _unsharp(crop, 3.0, 1.5)
            codes = _unique([DecodedCode(text, "QRCode", tuple((x / scale + x0, y / scale + y0) for x, y in
                                                                _quad_from_points(points)), f"{self.name}/roi:pyzbar")
                             for text, points in self._pyzbar.read_grey(sharpened) if text])
            if codes:
                self._last_route = "roi:pyzbar"
                return codes
        return []

    def _retry_whole(self, grey: np.ndarray) -> list[DecodedCode]:
        for route, make in (("frame:sharpen", lambda g: _unsharp(g, 2.0, 1.5)), ("frame:clahe", _clahe),
                            ("frame:smooth-adaptive", _adaptive)):
            codes = self._valid(self._zxing.read(make(grey)), route)
            if codes:
                return codes
        if self._pyzbar is not None and self._pyzbar.available:
            codes = _unique(self._pyzbar.decode(grey))
            if codes:
                self._last_route = "frame:pyzbar"
                return codes
        return []


def _unique(codes: list[DecodedCode]) -> list[DecodedCode]:
    seen: set[str] = set()
    unique = []
    for code in codes:
        if code.text not in seen:
            seen.add(code.text)
            unique.append(code)
    return unique
