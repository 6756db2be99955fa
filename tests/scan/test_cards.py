"""Member QR cards: what is printed reads back as the same signed member card."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools.scan_corpus import jpeg_roundtrip
from frontdesk.scan.cards import (
    CARD_SIZE_PX,
    card_image,
    render_card_pdf,
    render_card_png,
)
from frontdesk.scan.codes import ScanCodeRules, interpret, sign_member_card
from frontdesk.scan.decoders import CombinedDecoder, PyzbarDecoder, ZxingDecoder
from frontdesk.scan.frames import read_image
from tests.conftest import requires_zbar

RESOURCES = Path(__file__).resolve().parents[2] / "resources" / "scan"


@pytest.mark.parametrize("name", ["Zoë Ng", "Tan Mei Ling 陈美玲", "", "A" * 200])
def test_card_png_round_trip(tmp_path: Path, card_key: bytes, name: str) -> None:
    token = sign_member_card("M1000042", card_key)
    path = render_card_png(name, "M1000042", token, tmp_path / "card.png")
    image = read_image(path)
    assert image is not None and image.shape[1::-1] == CARD_SIZE_PX
    codes = CombinedDecoder().decode(image)
    assert [c.text for c in codes] == [token]
    meaning = interpret(codes[0].text, ScanCodeRules(card_key=card_key))
    assert (meaning.kind, meaning.value) == ("member_card", "M1000042")


@requires_zbar
def test_card_survives_a_phone_photo(card_key: bytes) -> None:
    """Scaled down and JPEG-compressed like a photo someone sends on WhatsApp: still reads with zbar and zxing."""
    import cv2
    import numpy as np

    token = sign_member_card("M1000042", card_key)
    card = cv2.cvtColor(np.array(card_image("Zoë Ng", "M1000042", token)), cv2.COLOR_RGB2BGR)
    photo = jpeg_roundtrip(cv2.resize(card, (400, 252), interpolation=cv2.INTER_AREA), 40)
    for decoder in (ZxingDecoder(), PyzbarDecoder()):
        assert [c.text for c in decoder.decode(photo)] == [token], decoder.name


def test_card_pdf_is_one_card_sized_page(tmp_path: Path, card_key: bytes) -> None:
    path = render_card_pdf("Zoë Ng", "M1000042", sign_member_card("M1000042", card_key), tmp_path / "card.pdf")
    data = path.read_bytes()
    assert data.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) == 1
    box = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", data)
    assert box is not None
    width_mm, height_mm = (float(v) / 72 * 25.4 for v in box.groups())
    assert abs(width_mm - 85.6) < 0.5 and abs(height_mm - 53.98) < 0.5


def test_card_needs_a_token(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        render_card_png("Zoë", "M1", "", tmp_path / "x.png")


def test_unwritable_path_raises_oserror(tmp_path: Path, card_key: bytes) -> None:
    with pytest.raises(OSError):
        render_card_png("Zoë", "M1", sign_member_card("M1", card_key), tmp_path / "no" / "such" / "dir" / "x.png")


@requires_zbar
def test_bundled_sample_is_the_demo_members_card() -> None:
    """`frontdesk self-test` decodes this file with every library; keep it in step with the signing code."""
    image = read_image(RESOURCES / "sample-member.png")
    assert image is not None
    expected = sign_member_card("M1000000", "demo-card-key-change-me")
    for decoder in (ZxingDecoder(), PyzbarDecoder(), CombinedDecoder(thorough=True)):
        assert [c.text for c in decoder.decode(image)] == [expected], decoder.name
