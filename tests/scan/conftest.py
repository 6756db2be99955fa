"""Scanner test fixtures: corpus frames built once per session, and a guard against a PySide6 6.12.0 refcount bug.

PySide6 6.12.0 (checked 2026-11 against 6.11.2, which is clean) takes one reference from None on every void method call
(label.setText, processEvents, ...) and one from True on every Signal.emit(). On Python 3.11 None and True are not yet
immortal, so a process aborts with "none_dealloc"/"bool_dealloc" after ~5,000 such calls: a scanner test that pumps
events for two seconds gets there. The fix belongs in the dependency pin (PySide6-Essentials<6.12 or !=6.12.0) or a
newer Python; until then these tests apply frontdesk.ui.scanner_view.guard_pyside_refcount_bug() (None/True/False get
the effectively infinite refcount Python 3.12 gives them) and say so in the test summary.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from frontdesk.scan.testcorpus import CorpusFrame, iter_corpus


@pytest.fixture(scope="session", autouse=True)
def pyside_refcount_guard() -> Iterator[None]:
    from frontdesk.ui.scanner_view import guard_pyside_refcount_bug

    if guard_pyside_refcount_bug():
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
