"""`frontdesk scan-image` and `frontdesk cameras`: tools for IT to check codes and cameras without the app."""
from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from frontdesk.scan.codes import ScanCodeRules, interpret, shown


def _emit(out: TextIO, record: dict[str, Any]) -> None:
    # ensure_ascii keeps the output valid on any Windows console code page; json.loads restores the text.
    out.write(json.dumps(record, ensure_ascii=True) + "\n")
    out.flush()


def scan_image_main(files: Sequence[str], as_json: bool, rules: ScanCodeRules,
                    out: TextIO | None = None) -> int:
    """Decode each image and say what its codes mean. Exit status 1 if any file could not be read, else 0.

    JSON mode prints one line per file: {"file", "codes": [{"text", "kind", "value", "message"}], "ms"} or
    {"file", "error"}; "ms" is the decode time of that image.
    """
    from frontdesk.scan.decoders import CombinedDecoder
    from frontdesk.scan.frames import read_image

    out = out or sys.stdout
    decoder = CombinedDecoder(thorough=True)
    if not decoder.available:
        message = f"No QR decoder can load: {decoder.unavailable_reason}"
        for path in files:
            if as_json:
                _emit(out, {"file": path, "error": message})
            else:
                out.write(f"{path}: {message}\n")
        return 1
    failures = 0
    for path in files:
        image = read_image(path)
        if image is None:
            failures += 1
            if not os.path.exists(path):
                error = "file not found"
            elif os.path.isdir(path):
                error = "is a folder, not an image"
            else:
                error = "not a readable image (PNG, JPEG, BMP, TIFF or WebP expected)"
            if as_json:
                _emit(out, {"file": path, "error": error})
            else:
                out.write(f"{path}: {error}\n")
            continue
        started = time.perf_counter()
        codes = decoder.decode(image)
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        meanings = [interpret(code.text, rules) for code in codes]
        if as_json:
            _emit(out, {"file": path, "ms": elapsed_ms,
                        "codes": [{"text": code.text, "kind": meaning.kind, "value": meaning.value,
                                   "message": meaning.message} for code, meaning in zip(codes, meanings)]})
        elif not codes:
            out.write(f"{path}: no code found ({elapsed_ms} ms)\n")
        else:
            for meaning in meanings:
                out.write(f"{path}: {meaning.kind}: {meaning.message} [{shown(meaning.text, 60)}] ({elapsed_ms} ms)\n")
    return 1 if failures else 0


def cameras_main(as_json: bool, max_index: int = 5, out: TextIO | None = None) -> int:
    """List the cameras that open and deliver a picture. Finding none is not an error (exit status 0)."""
    from frontdesk.scan.frames import list_cameras

    out = out or sys.stdout
    cameras = list_cameras(max_index=max_index)
    if as_json:
        _emit(out, {"cameras": [{"index": c.index, "width": c.width, "height": c.height, "backend": c.backend}
                                for c in cameras]})
        return 0
    if not cameras:
        out.write(f"No cameras found (checked indices 0-{max(max_index - 1, 0)}). "
                  "Scanning with a USB scanner or by typing still works.\n")
        return 0
    for camera in cameras:
        backend = f" via {camera.backend}" if camera.backend else ""
        out.write(f"Camera {camera.index}: {camera.width}x{camera.height}{backend}\n")
    return 0
