"""Scanner test fixtures: corpus frames built once per session, and a guard against a PySide6 6.12.0 refcount bug.

PySide6 6.12.0 (checked 2026-11 against 6.11.2, which is clean) takes one reference from None on every void method call
(label.setText, processEvents, ...) and one from True on every Signal.emit(). On Python 3.11 None and True are not yet
immortal, so a process aborts with "none_dealloc"/"bool_dealloc" after ~5,000 such calls: a scanner test that pumps
events for two seconds gets there. The fix belongs in the dependency pin (PySide6-Essentials<6.12 or !=6.12.0) or a
newer Python; until then these tests give None/True/False the effectively infinite refcount that Python 3.12 gives
them, and say so in the test summary.
"""
from __future__ import annotations

import ctypes
import sys
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

from frontdesk.scan.testcorpus import CorpusFrame, iter_corpus


def _pyside_drops_references() -> bool:
    from PySide6.QtCore import QObject, Signal

    class Probe(QObject):
        ping = Signal()

    probe = Probe()
    before_none, before_true = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(16):
        probe.setObjectName("probe")  # a void method
        probe.ping.emit()
    lost = max(before_none - sys.getrefcount(None), before_true - sys.getrefcount(True))
    return lost >= 16


def _make_singletons_immortal() -> None:
    if sys.version_info >= (3, 12):
        return
    for singleton in (None, True, False):
        refcount = ctypes.c_ssize_t.from_address(id(singleton))
        refcount.value += 1 << 40


@pytest.fixture(scope="session", autouse=True)
def pyside_refcount_guard() -> Iterator[None]:
    if _pyside_drops_references():
        _make_singletons_immortal()
        warnings.warn("This PySide6 drops references to None/True (6.12.0 on Python 3.11); the scanner tests made them "
                      "immortal to run. The app needs PySide6-Essentials<6.12 (6.11.2 is clean).", stacklevel=1)
    yield


@pytest.fixture(scope="session")
def corpus_frames() -> list[CorpusFrame]:
    """6 frames per category (66 in all): enough to compare decoders per category, quick to build."""
    return list(iter_corpus(6, seed=11))


@pytest.fixture(scope="session")
def card_key() -> bytes:
    return b"test-card-key"
