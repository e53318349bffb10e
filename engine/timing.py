"""Per-stage timings, kept all the time: an exponential average and a bounded history."""
from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field

import numpy as np


@dataclass
class StageTimes:
    window: int = 2000
    _hist: dict[str, deque] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self._hist.setdefault(stage, deque(maxlen=self.window)).append(seconds)

    def time(self, stage: str) -> _Timer:
        return _Timer(self, stage)

    def stages(self) -> list[str]:
        """The stages that ran, in first-seen order."""
        with self._lock:
            return [k for k, v in self._hist.items() if v]

    def table(self) -> list[tuple[str, float, float, float, int]]:
        """(stage, mean ms, p50 ms, p95 ms, count) per stage, in first-seen order."""
        with self._lock:
            items = [(k, np.asarray(v) * 1e3) for k, v in self._hist.items() if v]
        return [(k, float(v.mean()), float(np.percentile(v, 50)), float(np.percentile(v, 95)),
                 len(v)) for k, v in items]

    def stats_ms(self, stage: str) -> dict[str, float]:
        """{"n", "mean", "p50", "p95", "p99"} of one stage in milliseconds (NaN when it
        never ran)."""
        with self._lock:
            v = np.asarray(self._hist.get(stage, ()), np.float64) * 1e3
        if not len(v):
            nan = float("nan")
            return {"n": 0, "mean": nan, "p50": nan, "p95": nan, "p99": nan}
        p50, p95, p99 = (float(x) for x in np.percentile(v, [50, 95, 99]))
        return {"n": len(v), "mean": float(v.mean()), "p50": p50, "p95": p95, "p99": p99}

    def format_table(self) -> str:
        rows = [f"| {'stage':<14} | {'mean ms':>8} | {'p50 ms':>7} | {'p95 ms':>7} "
                f"| {'p99 ms':>7} | {'n':>6} |",
                f"|{'-' * 16}|{'-' * 10}|{'-' * 9}|{'-' * 9}|{'-' * 9}|{'-' * 8}|"]
        for k in self.stages():
            s = self.stats_ms(k)
            rows.append(f"| {k:<14} | {s['mean']:8.2f} | {s['p50']:7.2f} | {s['p95']:7.2f} "
                        f"| {s['p99']:7.2f} | {s['n']:6d} |")
        return "\n".join(rows)


class _Timer:
    __slots__ = ("stage", "t0", "times")

    def __init__(self, times: StageTimes, stage: str):
        self.times, self.stage = times, stage

    def __enter__(self) -> _Timer:
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.times.add(self.stage, time.perf_counter() - self.t0)
