"""What drawing costs the GUI thread, measured in the running window.

A *redraw* is one new frame taken and handed to the views plus the paint that puts it on
screen (the next QEvent.UpdateRequest of the window, which also paints whatever else changed,
such as the curves). Curve refreshes and every paint are kept too, and the presenter's
preparation time per frame (its own thread). Bounded: the last ``keep`` of each.
"""
from __future__ import annotations

import time

from lprr.engine.timing import StageTimes

_KINDS = ("redraw", "draw", "paint", "curves", "prepare")


class RedrawMeter:
    def __init__(self, keep: int = 20000):
        self.keep = keep
        self.reset()

    def reset(self) -> None:
        # redraw: take + show + the paint after it; draw: take + show only; paint: every
        # UpdateRequest; curves: curve refresh (setData), no paint; prepare: presenter thread
        self.times = StageTimes(window=self.keep)
        self.drawn = 0
        self.busy_ms = 0.0  # all of the above that ran on the GUI thread
        self.t0 = time.perf_counter()
        self._pending: float | None = None

    def drew(self, ms: float, prepare_ms: float | None = None) -> None:
        self.drawn += 1
        self.times.add("draw", ms / 1e3)
        self.busy_ms += ms
        if prepare_ms is not None:
            self.times.add("prepare", prepare_ms / 1e3)
        self._pending = ms if self._pending is None else self._pending + ms

    def curves(self, ms: float) -> None:
        self.times.add("curves", ms / 1e3)
        self.busy_ms += ms

    def painted(self, ms: float) -> None:
        self.times.add("paint", ms / 1e3)
        self.busy_ms += ms
        if self._pending is not None:
            self.times.add("redraw", (self._pending + ms) / 1e3)
            self._pending = None

    def summary(self) -> dict:
        wall = time.perf_counter() - self.t0
        return {"seconds": wall, "drawn": self.drawn,
                "drawn_fps": self.drawn / wall if wall > 0 else 0.0,
                "gui_busy": self.busy_ms / 1e3 / wall if wall > 0 else 0.0,
                **{f"{k}_ms": self.times.stats_ms(k) for k in _KINDS}}
