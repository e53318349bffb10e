"""What drawing costs the GUI thread, measured in the running window.

A *redraw* is one new frame taken and handed to the views plus the paint that puts it on
screen (the next QEvent.UpdateRequest of the window, which also paints whatever else changed,
such as the curves). Curve refreshes and every paint are kept too, and the presenter's
preparation time per frame (its own thread). Bounded: the last ``keep`` of each.
"""
from __future__ import annotations

import time
from collections import deque

import numpy as np


def _stats(values) -> dict[str, float]:
    a = np.asarray(values, np.float64)
    if not len(a):
        return {"n": 0, "mean": float("nan"), "p95": float("nan")}
    return {"n": len(a), "mean": float(a.mean()), "p95": float(np.percentile(a, 95))}


class RedrawMeter:
    def __init__(self, keep: int = 20000):
        self.keep = keep
        self.reset()

    def reset(self) -> None:
        k = self.keep
        self.redraw_ms: deque[float] = deque(maxlen=k)  # take + show + the paint after it
        self.draw_ms: deque[float] = deque(maxlen=k)  # take + show only
        self.paint_ms: deque[float] = deque(maxlen=k)  # every UpdateRequest
        self.curves_ms: deque[float] = deque(maxlen=k)  # curve refresh (setData), no paint
        self.prepare_ms: deque[float] = deque(maxlen=k)  # presenter thread, per frame shown
        self.drawn = 0
        self.busy_ms = 0.0  # all of the above that ran on the GUI thread
        self.t0 = time.perf_counter()
        self._pending: float | None = None

    def drew(self, ms: float, prepare_ms: float | None = None) -> None:
        self.drawn += 1
        self.draw_ms.append(ms)
        self.busy_ms += ms
        if prepare_ms is not None:
            self.prepare_ms.append(prepare_ms)
        self._pending = ms if self._pending is None else self._pending + ms

    def curves(self, ms: float) -> None:
        self.curves_ms.append(ms)
        self.busy_ms += ms

    def painted(self, ms: float) -> None:
        self.paint_ms.append(ms)
        self.busy_ms += ms
        if self._pending is not None:
            self.redraw_ms.append(self._pending + ms)
            self._pending = None

    def summary(self) -> dict:
        wall = time.perf_counter() - self.t0
        return {"seconds": wall, "drawn": self.drawn,
                "drawn_fps": self.drawn / wall if wall > 0 else 0.0,
                "gui_busy": self.busy_ms / 1e3 / wall if wall > 0 else 0.0,
                "redraw_ms": _stats(self.redraw_ms), "draw_ms": _stats(self.draw_ms),
                "paint_ms": _stats(self.paint_ms), "curves_ms": _stats(self.curves_ms),
                "prepare_ms": _stats(self.prepare_ms)}
