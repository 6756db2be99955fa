"""Draws the Front Desk icon (a reception bell on a calm blue tile) into resources/icons/.

Run it again after changing the drawing: `.venv/bin/python packaging/draw_icon.py`. Drawn at 1024 px and scaled
down, because Pillow does not anti-alias shapes; the .ico carries every size Windows asks for.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

CANVAS = 1024
TILE = (47, 94, 140)  # muted blue: calm, readable on light and dark taskbars
TILE_EDGE = (36, 74, 112)
BELL = (255, 255, 255)
KNOB = (224, 180, 90)  # the loyalty gold of the app's tier bar
ICO_SIZES = [(16, 16), (20, 20), (24, 24), (32, 32), (40, 40), (48, 48), (64, 64), (128, 128), (256, 256)]
OUT = Path(__file__).resolve().parents[1] / "resources" / "icons"


def draw(size: int = CANVAS) -> Image.Image:
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    pen = ImageDraw.Draw(image)
    unit = size / 1024
    margin, radius = 40 * unit, 210 * unit
    pen.rounded_rectangle((margin, margin, size - margin, size - margin), radius=radius, fill=TILE_EDGE)
    pen.rounded_rectangle((margin, margin, size - margin, size - margin - 24 * unit), radius=radius, fill=TILE)
    # Bell dome: the top half of an ellipse resting on the base.
    dome_left, dome_right, dome_top, dome_bottom = 222 * unit, 802 * unit, 430 * unit, 730 * unit
    pen.pieslice((dome_left, dome_top, dome_right, dome_bottom + (dome_bottom - dome_top)), 180, 360, fill=BELL)
    # Base plate, a little wider than the dome.
    pen.rounded_rectangle((182 * unit, 722 * unit, 842 * unit, 790 * unit), radius=30 * unit, fill=BELL)
    # Stem and knob on top (the part you tap).
    pen.rounded_rectangle((490 * unit, 372 * unit, 534 * unit, 446 * unit), radius=12 * unit, fill=BELL)
    pen.ellipse((440 * unit, 300 * unit, 584 * unit, 396 * unit), fill=KNOB)
    # A soft highlight on the dome so it reads as metal at large sizes.
    pen.arc((290 * unit, 498 * unit, 734 * unit, 1010 * unit), 198, 232, fill=(214, 226, 240), width=int(26 * unit))
    return image


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    big = draw()
    big.resize((256, 256), Image.Resampling.LANCZOS).save(OUT / "frontdesk.png")
    big.resize((512, 512), Image.Resampling.LANCZOS).save(OUT / "frontdesk-512.png")
    big.resize((256, 256), Image.Resampling.LANCZOS).save(OUT / "frontdesk.ico", sizes=ICO_SIZES)
    print(f"wrote {OUT / 'frontdesk.png'}, {OUT / 'frontdesk-512.png'} and {OUT / 'frontdesk.ico'}")


if __name__ == "__main__":
    main()
