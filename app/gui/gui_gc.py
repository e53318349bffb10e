"""Cyclic garbage collected on the GUI thread only, between events.

Python's cycle collector runs in whichever thread allocates when a threshold is crossed. In
the window that is mostly the pipeline's and the presenter's threads, or the GUI thread in
the middle of a paint. A cycle that holds Qt wrappers (a closed window's, a replaced
session's) is then torn down there; the test suite died that way with a segfault inside
pyqtgraph's ``boundingRect`` while other threads were busy (pyqtgraph's own
``GarbageCollector`` exists for the same reason). So while a window is open, automatic
collection is off and a GUI-thread timer collects the generations whose thresholds were
crossed, at a point where no paint or signal is half done.
"""
from __future__ import annotations

import gc
import logging
import threading

from PySide6.QtCore import QObject, QTimer

log = logging.getLogger(__name__)
_lock = threading.Lock()
_holders = 0
_was_enabled = True
INTERVAL_MS = 500


def collect_due() -> int:
    """Collect each generation whose threshold the allocation counts crossed (what the
    automatic collector would have done); the number of unreachable objects found."""
    found = 0
    thresholds = gc.get_threshold()
    counts = gc.get_count()
    for gen in range(3):
        if counts[gen] <= thresholds[gen]:
            break
        found = gc.collect(gen)
    return found


class GuiThreadCollector(QObject):
    """Owned by a window (create it on the GUI thread); ``stop`` when the window closes. The
    last one stopped turns automatic collection back on as it was."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(parent)
        global _holders, _was_enabled
        with _lock:
            if _holders == 0:
                _was_enabled = gc.isenabled()
                gc.disable()
            _holders += 1
        self._active = True
        self.collections = 0
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()

    def _tick(self) -> None:
        collect_due()
        self.collections += 1

    def stop(self) -> None:
        global _holders
        if not self._active:
            return
        self._active = False
        self.timer.stop()
        with _lock:
            _holders -= 1
            last = _holders == 0
            if last and _was_enabled:
                gc.enable()
        if last:
            gc.collect()  # here, on the GUI thread, while the closed window's cycles are known
