"""The Qt binding we ship must not leak references to Python's singletons.

PySide6-Essentials 6.12.0 takes a reference from None on every void call and from True on every emit(); on Python
3.11 the counter app then aborts ("none_dealloc") after a few thousand calls. pyproject.toml caps the version; this
test fails loudly if a future install brings such a build back.
"""
from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QLabel


class _Probe(QObject):
    ping = Signal(int)


def test_qt_calls_and_signals_keep_none_and_true_alive(qapp):
    label, probe = QLabel(), _Probe()
    before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(200):
        label.setText("x")
        probe.ping.emit(1)
    after = sys.getrefcount(None), sys.getrefcount(True)
    assert after[0] >= before[0] - 5 and after[1] >= before[1] - 5, "this PySide6 leaks references (use <6.12)"
