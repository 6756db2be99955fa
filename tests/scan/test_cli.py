"""`scan-image` and `cameras` as IT runs them: one JSON line per image, clear errors, no tracebacks."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import cv2

from devtools.scan_corpus import make_frame
from frontdesk.scan.cli import cameras_main, scan_image_main
from frontdesk.scan.codes import ScanCodeRules, sign_member_card


def _lines(out: io.StringIO) -> list[dict]:  # type: ignore[type-arg]
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_scan_image_json(tmp_path: Path, card_key: bytes) -> None:
    token = sign_member_card("M1000042", card_key)
    card = tmp_path / "card.png"
    cv2.imwrite(str(card), make_frame("nominal", 1, payload=token).image)
    forged = tmp_path / "forged.jpg"
    cv2.imwrite(str(forged), make_frame("nominal", 2, payload=token[:-1] + "Q").image)
    empty = tmp_path / "empty.png"
    cv2.imwrite(str(empty), make_frame("empty", 0).image)
    not_image = tmp_path / "notes.txt"
    not_image.write_text("hello")
    files = [str(card), str(forged), str(empty), str(not_image), str(tmp_path / "missing.png"), str(tmp_path)]
    out = io.StringIO()
    status = scan_image_main(files, as_json=True, rules=ScanCodeRules(card_key=card_key), out=out)
    lines = _lines(out)
    assert status == 1  # some files could not be read
    assert [line["file"] for line in lines] == files
    assert lines[0]["codes"] == [{"text": token, "kind": "member_card", "value": "M1000042",
                                  "message": "Member card M1000042"}]
    assert isinstance(lines[0]["ms"], float)
    assert lines[1]["codes"][0]["kind"] == "forged"
    assert lines[2]["codes"] == []
    assert lines[3]["error"].startswith("not a readable image")
    assert lines[4]["error"] == "file not found"
    assert lines[5]["error"] == "is a folder, not an image"


def test_scan_image_all_readable_exits_zero_and_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "voucher.png"
    cv2.imwrite(str(path), make_frame("rotated", 0, payload="RDM-8F3K2P").image)
    out = io.StringIO()
    assert scan_image_main([str(path)], as_json=False, rules=ScanCodeRules(), out=out) == 0
    assert "voucher: Voucher 8F3K2P" in out.getvalue()


def test_scan_image_prints_real_json_lines_in_a_subprocess(tmp_path: Path) -> None:
    """What IT sees: stdout is nothing but JSON lines, even with non-ASCII file names."""
    path = tmp_path / "café.png"
    cv2.imencode(".png", make_frame("nominal", 3, payload="M1000042").image)[1].tofile(str(path))
    code = ("import sys; from frontdesk.scan.cli import scan_image_main; "
            "from frontdesk.scan.codes import ScanCodeRules; "
            "sys.exit(scan_image_main(sys.argv[1:], True, ScanCodeRules()))")
    result = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60,
                            encoding="utf-8")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["file"] == str(path)
    assert record["codes"] == [{"text": "M1000042", "kind": "member_no", "value": "M1000042",
                                "message": "Member ID M1000042"}]
    assert result.stderr == ""


def test_cameras_none_is_a_clean_message() -> None:
    out = io.StringIO()
    assert cameras_main(as_json=False, max_index=2, out=out) == 0
    text = out.getvalue()
    assert text.startswith("No cameras found") or text.startswith("Camera 0")
    json_out = io.StringIO()
    assert cameras_main(as_json=True, max_index=2, out=json_out) == 0
    assert isinstance(json.loads(json_out.getvalue())["cameras"], list)
