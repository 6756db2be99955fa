"""Member QR cards: a credit-card-sized image with the member's signed QR, name and member number.

Rendered with `qrcode` and Pillow only, so it works in the CLI, the dialog and a frozen build alike. The QR uses error
correction level Q (25% damage): printed cards live in wallets and get scratched.
"""
from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import qrcode
import qrcode.constants
from PIL import Image, ImageDraw, ImageFont

CARD_DPI = 300
# ISO/IEC 7810 ID-1 (a bank card): 85.60 x 53.98 mm.
CARD_SIZE_PX = (round(85.60 / 25.4 * CARD_DPI), round(53.98 / 25.4 * CARD_DPI))

_FONT_CANDIDATES: dict[str, tuple[str, ...]] = {
    "win32": (r"C:\Windows\Fonts\segoeui.ttf", r"C:\Windows\Fonts\arial.ttf", r"C:\Windows\Fonts\msyh.ttc",
              r"C:\Windows\Fonts\msjh.ttc", r"C:\Windows\Fonts\malgun.ttf", r"C:\Windows\Fonts\simsun.ttc"),
    "darwin": ("/System/Library/Fonts/Helvetica.ttc", "/System/Library/Fonts/PingFang.ttc",
               "/System/Library/Fonts/Supplemental/Arial Unicode.ttf", "/Library/Fonts/Arial Unicode.ttf"),
    "linux": ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
              "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
              "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
}

FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@lru_cache(maxsize=64)
def _load_font(path: str | None, size: int) -> FontType:
    if path is None:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size=size)


def _font_paths() -> list[str | None]:
    platform = "linux" if sys.platform.startswith("linux") else sys.platform
    paths: list[str | None] = [p for p in _FONT_CANDIDATES.get(platform, ()) if os.path.exists(p)]
    paths.append(None)  # Pillow's bundled font: always there, Latin only
    return paths


def _glyph(font: FontType, ch: str) -> bytes:
    size = int(getattr(font, "size", 16)) * 2
    canvas = Image.new("L", (size, size))
    ImageDraw.Draw(canvas).text((0, 0), ch, font=font, fill=255)
    return canvas.tobytes()


@lru_cache(maxsize=4096)
def _has_glyph(path: str | None, ch: str) -> bool:
    """True if the font draws a real glyph for `ch`, not the box (or blank) it draws for characters it lacks."""
    font = _load_font(path, 24)
    try:
        return _glyph(font, ch) != _glyph(font, "\U0010fffd")
    except (OSError, ValueError):
        return False


def _runs(text: str, size: int) -> list[tuple[str, FontType]]:
    """Split text into runs, each drawn with the first installed font that has its characters, so a name like
    "Tan Mei Ling 陈美玲" gets Latin and Chinese glyphs even though no single font has both."""
    paths = _font_paths()
    runs: list[tuple[str, str | None]] = []
    for ch in text:
        if ch.isspace() and runs:
            path = runs[-1][1]
        else:
            path = next((p for p in paths if _has_glyph(p, ch)), paths[0])
        if runs and runs[-1][1] == path:
            runs[-1] = (runs[-1][0] + ch, path)
        else:
            runs.append((ch, path))
    return [(chunk, _load_font(path, size)) for chunk, path in runs]


def text_width(draw: ImageDraw.ImageDraw, text: str, size: int) -> float:
    return sum(draw.textlength(chunk, font=font) for chunk, font in _runs(text, size))


def draw_text(draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int,
              fill: tuple[int, int, int]) -> None:
    x, y = xy
    for chunk, font in _runs(text, size):
        draw.text((x, y), chunk, fill=fill, font=font)
        x += draw.textlength(chunk, font=font)


def _ellipsize(draw: ImageDraw.ImageDraw, text: str, size: int, max_width: int) -> str:
    if text_width(draw, text, size) <= max_width:
        return text
    while len(text) > 1 and text_width(draw, text + "…", size) > max_width:
        text = text[:-1]
    return text.rstrip() + "…"


def wrap_text(draw: ImageDraw.ImageDraw, text: str, max_width: int, sizes: Iterable[int],
              max_lines: int = 2) -> tuple[list[str], int]:
    """Lines and font size for `text`: the largest size at which it fits in `max_lines` lines of `max_width`,
    breaking at spaces; at the smallest size the last line is cut with an ellipsis."""
    size = 0
    lines: list[str] = []
    for size in sizes:
        lines = []
        current = ""
        for word in text.split():
            candidate = f"{current} {word}".strip()
            if current and text_width(draw, candidate, size) > max_width:
                lines.append(current)
                current = word
            else:
                current = candidate
        lines.append(current)
        if len(lines) <= max_lines and all(text_width(draw, line, size) <= max_width for line in lines):
            return lines, size
    kept = lines[:max_lines]
    kept[-1] = _ellipsize(draw, " ".join([kept[-1], *lines[max_lines:]]), size, max_width)
    return [_ellipsize(draw, line, size, max_width) for line in kept], size


def qr_image(text: str, box_size: int = 10, border: int = 4) -> Image.Image:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_Q, box_size=box_size, border=border)
    code.add_data(text)
    code.make(fit=True)
    image: Image.Image = code.make_image(fill_color="black", back_color="white").get_image()
    return image.convert("L")


def card_image(name: str, member_no: str, token: str, title: str = "Member card") -> Image.Image:
    """The card as an RGB image at CARD_DPI."""
    if not token:
        raise ValueError("A member card needs a QR token")
    width, height = CARD_SIZE_PX
    card = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(card)
    padding = 36
    qr_side = height - 2 * padding
    # Nearest-neighbour keeps module edges sharp when scaling the QR to the card.
    code = qr_image(token, box_size=1, border=4).resize((qr_side, qr_side), Image.Resampling.NEAREST)
    card.paste(code, (padding, padding))
    draw.rounded_rectangle((4, 4, width - 5, height - 5), radius=36, outline=(200, 200, 200), width=3)

    grey, ink = (110, 110, 110), (20, 20, 20)
    left = padding + qr_side + 20
    text_width_px = width - left - padding
    draw_text(draw, (left, padding + 24), _ellipsize(draw, title, 32, text_width_px), 32, grey)
    lines, size = wrap_text(draw, " ".join((name or "").split()) or "Member", text_width_px, range(60, 25, -4))
    line_height = int(size * 1.25)
    top = height // 2 - 40 - line_height * len(lines) // 2
    for number, line in enumerate(lines):
        draw_text(draw, (left, top + number * line_height), line, size, ink)
    draw_text(draw, (left, height // 2 + 50), "Member ID", 30, grey)
    number_lines, number_size = wrap_text(draw, member_no, text_width_px, range(56, 23, -4), max_lines=1)
    draw_text(draw, (left, height // 2 + 90), number_lines[0], number_size, ink)
    return card


def card_png_bytes(name: str, member_no: str, token: str) -> bytes:
    buffer = io.BytesIO()
    card_image(name, member_no, token).save(buffer, format="PNG", dpi=(CARD_DPI, CARD_DPI))
    return buffer.getvalue()


def render_card_png(name: str, member_no: str, token: str, path: str | os.PathLike[str]) -> Path:
    """Write the card as a PNG (300 dpi metadata, so it prints at card size). Raises OSError if it can't be saved."""
    target = Path(path)
    card_image(name, member_no, token).save(target, format="PNG", dpi=(CARD_DPI, CARD_DPI))
    return target


def render_card_pdf(name: str, member_no: str, token: str, path: str | os.PathLike[str]) -> Path:
    """Write the card as a one-page PDF exactly card-sized (85.6 x 54 mm). Raises OSError if it can't be saved."""
    target = Path(path)
    card_image(name, member_no, token).save(target, format="PDF", resolution=float(CARD_DPI),
                                            title=f"Member card {member_no}")
    return target
