"""A deterministic corpus of synthetic 1280x720 webcam frames, with and without QR codes, for tests and benchmarks.

Each frame imitates what a counter webcam sees: a textured, unevenly lit desk, a printed card or a phone held up to the
camera, sensor noise and the camera's own JPEG (MJPEG) compression. One category stresses one difficulty; the
"empty" category holds hard negatives (text, stripes, checkerboards, random dots, a phone showing no code) because a
scanner that invents a code is worse than one that misses it.

The same (category, index, seed) always gives the same frame, so decode rates can be asserted per category.
"""
from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import qrcode
import qrcode.constants

from frontdesk.scan.codes import sign_member_card

FRAME_WIDTH = 1280
FRAME_HEIGHT = 720
CORPUS_CARD_KEY = b"front-desk-test-corpus-key"

CATEGORIES: tuple[str, ...] = (
    "nominal",
    "rotated",
    "blurred",
    "low_contrast",
    "small",
    "inverted",
    "glare",
    "perspective",
    "jpeg",
    "hard_mix",
    "empty",
)


@dataclass(frozen=True)
class CorpusFrame:
    category: str
    index: int
    image: np.ndarray  # BGR uint8, FRAME_HEIGHT x FRAME_WIDTH x 3
    expected: str | None  # the payload, or None for a frame without a code
    corners: np.ndarray | None  # 4x2 float32 outer corners of the symbol (without quiet zone), frame coordinates


def payload_for(rng: np.random.Generator) -> str:
    """The kinds of text a salon counter sees, in roughly realistic lengths."""
    choice = int(rng.integers(0, 5))
    number = int(rng.integers(1, 99_999_999))
    if choice == 0:
        return sign_member_card(f"M{number:08d}", CORPUS_CARD_KEY)
    if choice == 1:
        return f"https://app.eber.co/member/qr/{number:08X}{int(rng.integers(0, 65536)):04x}"
    if choice == 2:
        return f"+659{int(rng.integers(0, 10_000_000)):07d}"
    if choice == 3:
        return f"RDM-{number:08X}"
    return f"M{number:08d}"


def qr_modules(text: str, error_correction: int = qrcode.constants.ERROR_CORRECT_M) -> np.ndarray:
    """The symbol as a bool array (True = dark module), without quiet zone."""
    code = qrcode.QRCode(error_correction=error_correction, border=0)
    code.add_data(text)
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


def _noise_field(rng: np.random.Generator, cells: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    small = rng.random((cells[1], cells[0]), dtype=np.float32)
    return cv2.resize(small, size, interpolation=cv2.INTER_CUBIC)


def _background(rng: np.random.Generator) -> np.ndarray:
    """A cluttered counter: smooth shading, objects, printed text, an uneven light."""
    width, height = FRAME_WIDTH, FRAME_HEIGHT
    base = 70 + 90 * _noise_field(rng, (8, 5), (width, height)) + 25 * _noise_field(rng, (64, 36), (width, height))
    frame = np.clip(base, 0, 255).astype(np.uint8)
    frame = cv2.merge([frame, (frame * 0.95).astype(np.uint8), (frame * 0.9).astype(np.uint8)])
    for _ in range(int(rng.integers(3, 8))):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(40, 300)), int(rng.integers(40, 200))
        colour = tuple(int(c) for c in rng.integers(20, 235, 3))
        if rng.random() < 0.5:
            cv2.rectangle(frame, (x, y), (x + w, y + h), colour, -1)
        else:
            cv2.ellipse(frame, (x, y), (w // 2, h // 2), float(rng.uniform(0, 180)), 0, 360, colour, -1)
    for _ in range(int(rng.integers(2, 6))):
        words = "".join(chr(int(c)) for c in rng.integers(65, 91, int(rng.integers(5, 16))))
        origin = (int(rng.integers(0, width - 200)), int(rng.integers(30, height)))
        cv2.putText(frame, words, origin, cv2.FONT_HERSHEY_SIMPLEX, float(rng.uniform(0.6, 1.6)),
                    tuple(int(c) for c in rng.integers(0, 90, 3)), int(rng.integers(1, 3)), cv2.LINE_AA)
    return np.asarray(frame, dtype=np.uint8)


def _quad(rng: np.random.Generator, centre: tuple[float, float], size: float, angle_deg: float,
          tilt: float) -> np.ndarray:
    """Corners of a square of `size` px, rotated in-plane and tilted out of plane (0 = frontal, 0.5 = strong)."""
    half = size / 2
    square = np.array([[-half, -half, 0], [half, -half, 0], [half, half, 0], [-half, half, 0]], dtype=np.float64)
    yaw = rng.uniform(-1, 1) * tilt * 1.2
    pitch = rng.uniform(-1, 1) * tilt * 1.2
    roll = math.radians(angle_deg)
    rx = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    ry = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    rz = np.array([[math.cos(roll), -math.sin(roll), 0], [math.sin(roll), math.cos(roll), 0], [0, 0, 1]])
    points = square @ (rz @ ry @ rx).T
    focal = 900.0
    depth = focal + points[:, 2]
    projected = points[:, :2] * (focal / depth)[:, None]
    return np.asarray(projected + np.array(centre), dtype=np.float32)


def _paste_quad(frame: np.ndarray, texture: np.ndarray, quad: np.ndarray) -> None:
    """Warp a BGR texture onto `quad` (4 corners, clockwise from top-left) in place."""
    h, w = texture.shape[:2]
    source = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(source, quad)
    x0, y0 = np.floor(quad.min(axis=0)).astype(int)
    x1, y1 = np.ceil(quad.max(axis=0)).astype(int)
    x0, y0 = max(x0, 0), max(y0, 0)
    x1, y1 = min(x1, frame.shape[1]), min(y1, frame.shape[0])
    if x1 <= x0 or y1 <= y0:
        return
    shift = np.array([[1, 0, -x0], [0, 1, -y0], [0, 0, 1]], dtype=np.float64)
    local = shift @ matrix
    warped = cv2.warpPerspective(texture, local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), local, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    region = frame[y0:y1, x0:x1].astype(np.float32)
    frame[y0:y1, x0:x1] = (region * (1 - alpha) + warped.astype(np.float32) * alpha).astype(np.uint8)


@dataclass(frozen=True)
class _Look:
    size: float = 220.0  # symbol side in px, without quiet zone
    angle: float = 0.0
    tilt: float = 0.05
    dark: int = 30
    light: int = 225
    holder: str = "card"  # "card" (printed) or "phone"
    screen_grid: bool = False
    glare: float = 0.0  # peak brightness added by a specular highlight
    blur: float = 0.6  # Gaussian sigma of the whole frame (focus)
    motion: int = 0  # motion blur length in px
    noise: float = 2.5  # sensor noise sigma
    jpeg: int = 85  # the camera's MJPEG quality


def _look_for(category: str, rng: np.random.Generator) -> _Look:
    u = rng.uniform
    angle = float(u(-12, 12))
    if category == "nominal":
        return _Look(size=float(u(170, 260)), angle=angle, holder="card" if rng.random() < 0.5 else "phone")
    if category == "rotated":
        return _Look(size=float(u(150, 240)), angle=float(u(20, 340)), tilt=0.1)
    if category == "blurred":
        if rng.random() < 0.5:
            return _Look(size=float(u(130, 200)), angle=angle, blur=float(u(2.2, 3.8)))
        return _Look(size=float(u(150, 220)), angle=angle, blur=1.0, motion=int(u(9, 17)))
    if category == "low_contrast":
        middle = float(u(90, 170))
        spread = float(u(6, 14))
        return _Look(size=float(u(140, 230)), angle=angle, dark=int(middle - spread), light=int(middle + spread),
                     noise=3.0)
    if category == "small":
        # Modules of 1.3-2.6 px for a version 2-3 symbol: a card held far from the camera.
        return _Look(size=float(u(38, 64)), angle=angle, blur=0.5)
    if category == "inverted":
        # A phone in dark mode shows light modules on a dark screen.
        return _Look(size=float(u(150, 240)), angle=angle, dark=int(u(190, 240)), light=int(u(10, 45)), holder="phone")
    if category == "glare":
        return _Look(size=float(u(160, 240)), angle=angle, holder="phone", screen_grid=True,
                     glare=float(u(180, 255)), blur=1.0)
    if category == "perspective":
        return _Look(size=float(u(170, 250)), angle=angle, tilt=float(u(0.35, 0.6)))
    if category == "jpeg":
        return _Look(size=float(u(80, 140)), angle=angle, jpeg=int(u(5, 12)), noise=4.0)
    if category == "hard_mix":
        # Several everyday problems at once: a phone a little far away, dimmed, slightly out of focus, tilted.
        return _Look(size=float(u(85, 120)), angle=float(u(0, 360)), tilt=float(u(0.15, 0.35)),
                     dark=int(u(60, 80)), light=int(u(120, 150)), holder="phone", blur=float(u(1.2, 1.9)),
                     noise=5.0, jpeg=int(u(35, 55)))
    raise ValueError(f"unknown corpus category {category!r}")


def _symbol_texture(modules: np.ndarray, look: _Look, rng: np.random.Generator) -> tuple[np.ndarray, int, int]:
    """The code on its card or screen, as a texture; returns (texture, symbol offset, symbol side) in texture px."""
    module_px = max(4, int(math.ceil(2 * look.size / modules.shape[0])))
    quiet = 4 * module_px
    symbol = np.kron(modules, np.ones((module_px, module_px), dtype=bool))
    side = symbol.shape[0]
    margin = quiet + (int(rng.integers(2, 6)) * module_px if look.holder == "card" else module_px * 2)
    total = side + 2 * margin
    grey = np.full((total, total), look.light, np.uint8)
    grey[margin:margin + side, margin:margin + side][symbol] = look.dark
    if look.screen_grid:
        # An LCD seen close up: darker lines between pixel rows and columns.
        pitch = max(3, module_px // 3)
        grey[::pitch, :] = (grey[::pitch, :] * 0.75).astype(np.uint8)
        grey[:, ::pitch] = (grey[:, ::pitch] * 0.75).astype(np.uint8)
    if look.holder == "card":
        tint = rng.integers(-12, 6, 3)
        texture = np.clip(cv2.merge([grey, grey, grey]).astype(np.int16) + tint, 0, 255).astype(np.uint8)
    else:
        texture = cv2.merge([grey, grey, (grey * 0.97).astype(np.uint8)])
    return texture, margin, side


def _phone_body(frame: np.ndarray, quad: np.ndarray, rng: np.random.Generator) -> None:
    centre = quad.mean(axis=0)
    body = (quad - centre) * np.array([1.35, 1.9], np.float32) + centre + np.array([0, 0.15], np.float32) * (
        quad[3] - quad[0])
    colour = tuple(int(c) for c in rng.integers(5, 40, 3))
    cv2.fillConvexPoly(frame, body.astype(np.int32), colour, cv2.LINE_AA)


def _glare(frame: np.ndarray, centre: np.ndarray, radius: float, peak: float, rng: np.random.Generator) -> None:
    """A specular highlight: a bright, slightly elongated blob that saturates the sensor at its core."""
    h, w = frame.shape[:2]
    cx = float(centre[0] + rng.uniform(-0.3, 0.3) * radius)
    cy = float(centre[1] + rng.uniform(-0.3, 0.3) * radius)
    ys, xs = np.ogrid[:h, :w]
    stretch = rng.uniform(1.5, 3.0)
    theta = rng.uniform(0, math.pi)
    dx, dy = xs - cx, ys - cy
    along = dx * math.cos(theta) + dy * math.sin(theta)
    across = -dx * math.sin(theta) + dy * math.cos(theta)
    spot = np.exp(-((along / (radius * stretch)) ** 2 + (across / radius) ** 2)).astype(np.float32)
    frame[:] = np.clip(frame.astype(np.float32) + peak * spot[..., None], 0, 255).astype(np.uint8)


def _camera(frame: np.ndarray, look: _Look, rng: np.random.Generator) -> np.ndarray:
    if look.motion:
        line = np.zeros((look.motion, look.motion), np.float32)
        line[look.motion // 2, :] = 1.0 / look.motion
        centre = (look.motion / 2 - 0.5, look.motion / 2 - 0.5)
        rotation = cv2.getRotationMatrix2D(centre, float(rng.uniform(0, 180)), 1)
        kernel = np.asarray(cv2.warpAffine(line, rotation, (look.motion, look.motion)), dtype=np.float32)
        kernel /= max(float(kernel.sum()), 1e-6)
        frame = cv2.filter2D(frame, -1, kernel)
    if look.blur > 0:
        frame = cv2.GaussianBlur(frame, (0, 0), look.blur)
    if look.noise > 0:
        # Demosaicing spreads sensor noise over neighbouring pixels, so half-resolution noise scaled up looks right
        # (and costs a quarter as much to generate).
        h, w = frame.shape[:2]
        coarse = rng.standard_normal((h // 2, w // 2, 3), dtype=np.float32) * (look.noise * 1.6)
        noise = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
        frame = cv2.add(frame, noise, dtype=cv2.CV_8U)
    return jpeg_roundtrip(frame, look.jpeg)


def jpeg_roundtrip(image: np.ndarray, quality: int) -> np.ndarray:
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    decoded = cv2.imdecode(encoded, cv2.IMREAD_COLOR)
    if decoded is None:
        raise RuntimeError("JPEG decoding failed")
    return np.asarray(decoded, dtype=np.uint8)


def _empty_frame(rng: np.random.Generator, index: int) -> np.ndarray:
    """Hard negatives: things with edges and squares that are not QR codes."""
    frame = _background(rng)
    kind = index % 5
    x, y = int(rng.integers(100, 800)), int(rng.integers(60, 360))
    if kind == 0:
        for row in range(8):
            text = "".join(chr(int(c)) for c in rng.integers(65, 91, 22))
            cv2.putText(frame, text, (x - 80, y + row * 34), cv2.FONT_HERSHEY_DUPLEX, 1.0, (20, 20, 20), 2, cv2.LINE_AA)
    elif kind == 1:
        cell = int(rng.integers(12, 30))
        board = (np.indices((10, 10)).sum(axis=0) % 2).astype(np.uint8) * 220 + 20
        board = cv2.resize(board, (10 * cell, 10 * cell), interpolation=cv2.INTER_NEAREST)
        _paste_quad(frame, cv2.merge([board] * 3), _quad(rng, (x + 150, y + 150), 10 * cell, float(rng.uniform(0, 90)),
                                                          0.2))
    elif kind == 2:
        bars = np.repeat(rng.integers(0, 2, 60).astype(np.uint8) * 220 + 20, 4)
        stripes = np.tile(bars, (160, 1))
        _paste_quad(frame, cv2.merge([stripes] * 3), _quad(rng, (x + 150, y + 100), 240, float(rng.uniform(-10, 10)),
                                                            0.1))
    elif kind == 3:
        cells = (rng.random((29, 29)) < 0.5).astype(np.uint8) * 200 + 30
        dots = cv2.resize(cells, (29 * 7, 29 * 7), interpolation=cv2.INTER_NEAREST)
        _paste_quad(frame, cv2.merge([dots] * 3), _quad(rng, (x + 120, y + 120), 200, float(rng.uniform(-20, 20)), 0.1))
    else:
        screen = np.full((300, 300, 3), 235, np.uint8)
        cv2.putText(screen, "Welcome!", (20, 150), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (60, 60, 60), 3, cv2.LINE_AA)
        quad = _quad(rng, (x + 150, y + 150), 200, float(rng.uniform(-10, 10)), 0.1)
        _phone_body(frame, quad, rng)
        _paste_quad(frame, screen, quad)
    return _camera(frame, _Look(), rng)


def make_frame(category: str, index: int, seed: int = 2024, payload: str | None = None) -> CorpusFrame:
    """One frame of a category. `payload` overrides the generated text (e.g. a real member card token)."""
    if category not in CATEGORIES:
        raise ValueError(f"unknown corpus category {category!r}; choose from {', '.join(CATEGORIES)}")
    rng = np.random.default_rng([seed, CATEGORIES.index(category), index])
    if category == "empty":
        return CorpusFrame(category, index, _empty_frame(rng, index), None, None)
    text = payload if payload is not None else payload_for(rng)
    look = _look_for(category, rng)
    modules = qr_modules(text)
    texture, margin, side = _symbol_texture(modules, look, rng)
    total = texture.shape[0]
    texture_size = look.size * total / side
    centre = (float(rng.uniform(0.3, 0.7) * FRAME_WIDTH), float(rng.uniform(0.3, 0.7) * FRAME_HEIGHT))
    frame = _background(rng)
    quad = _quad(rng, centre, texture_size, look.angle, look.tilt)
    if look.holder == "phone":
        _phone_body(frame, quad, rng)
    _paste_quad(frame, texture, quad)
    source = np.array([[0, 0], [total, 0], [total, total], [0, total]], dtype=np.float32)
    to_frame = cv2.getPerspectiveTransform(source, quad)
    symbol_corners = np.array([[[margin, margin], [margin + side, margin], [margin + side, margin + side],
                                [margin, margin + side]]], dtype=np.float32)
    corners = cv2.perspectiveTransform(symbol_corners, to_frame)[0]
    if look.glare > 0:
        _glare(frame, corners.mean(axis=0), look.size * float(rng.uniform(0.2, 0.32)), look.glare, rng)
    image = _camera(frame, look, rng)
    return CorpusFrame(category, index, image, text, corners)


def iter_corpus(per_category: int, seed: int = 2024,
                categories: Sequence[str] = CATEGORIES) -> Iterator[CorpusFrame]:
    for category in categories:
        for index in range(per_category):
            yield make_frame(category, index, seed)
