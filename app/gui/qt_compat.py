"""Qt environment fixes, applied when ``lprr.app.gui`` is imported.

1. opencv-python (non-headless builds, which mediapipe's opencv-contrib-python is) sets
   QT_QPA_PLATFORM_PLUGIN_PATH to its own Qt 5 plugins when cv2 is imported; PySide6
   (Qt 6) then fails to load its xcb plugin and aborts. ``clean_qt_env`` removes it.

2. PySide6 6.12.0 drops references it does not own: every call of a method that returns
   nothing (``QWidget.update``, ``QPainter.drawImage``, ``QLabel.setText``, ...) drops one
   reference to ``None``, and every ``Signal.emit`` one to ``True``. Measured here:
   ~100 references to None per GUI frame (pyqtgraph alone ~30 per curve update), so on
   Python 3.11 None's count reached zero about 12 s into a session and the interpreter
   aborted ("Fatal Python error: none_dealloc" / "bool_dealloc"). PySide6 6.11.3 does not
   do this, and Python 3.12+ makes these singletons immortal, so the lost references do no
   harm there. ``install`` detects the bug at run time and, only where it is present, does
   what 3.12 does: gives None, True and False a reference count no program can exhaust
   (2**40: at 10,000 lost references a second, 3 years).
"""
from __future__ import annotations

import ctypes
import logging
import os
import sys

log = logging.getLogger(__name__)
_PROBES = 64
_BOOST = 1 << 40
_installed = False


def clean_qt_env() -> list[str]:
    """Drop Qt plugin paths that cv2 put in the environment; returns the names removed."""
    import cv2

    cv2_dir = os.path.dirname(os.path.abspath(cv2.__file__))
    removed = []
    for var in ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_PLUGIN_PATH"):
        v = os.environ.get(var)
        if v and os.path.abspath(v).startswith(cv2_dir):
            del os.environ[var]
            removed.append(var)
    return removed


def lost_references() -> dict[str, int]:
    """References to None and True that ``_PROBES`` void calls / emits dropped."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        sig = Signal()

    probe = _Probe()
    sig = probe.sig
    n0, t0 = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(_PROBES):
        probe.setObjectName("probe")  # returns void
    n1 = sys.getrefcount(None)
    for _ in range(_PROBES):
        sig.emit()
    t1 = sys.getrefcount(True)
    return {"None": max(0, n0 - n1), "True": max(0, t0 - t1)}


def _can_patch_refcounts() -> bool:
    # ob_refcnt is the first field of every object in release builds of CPython < 3.12
    # (debug builds with Py_TRACE_REFS put two pointers before it).
    return (sys.implementation.name == "cpython" and sys.version_info < (3, 12)
            and not hasattr(sys, "gettotalrefcount"))


def install() -> bool:
    """Make None/True/False effectively immortal if this PySide6 drops references to them.

    True when it did. Call before the GUI runs (``lprr.app.gui`` does, on import)."""
    global _installed
    if _installed or not _can_patch_refcounts():
        return False
    lost = lost_references()
    if max(lost.values()) < _PROBES // 2:  # a few may be other code's; the bug is 1 per call
        return False
    for obj in (None, True, False):
        # Under the GIL: no other Python thread touches the count while it is rewritten.
        ctypes.c_ssize_t.from_address(id(obj)).value += _BOOST
    _installed = True
    import PySide6

    log.info("PySide6 %s drops references to None/True (%s per %d calls); made them "
             "immortal as Python 3.12 does", getattr(PySide6, "__version__", "?"), lost,
             _PROBES)
    return True
