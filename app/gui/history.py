"""A thread-safe ring buffer of (time, weights) rows: the last seconds the curves show."""
from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np


class WeightHistory:
    """Written by the pipeline's inference thread, read by the GUI thread."""

    def __init__(self, seconds: float = 10.0, max_rate: float = 120.0,
                 names: Sequence[str] = ()):
        self.seconds = float(seconds)
        self.capacity = max(2, int(seconds * max_rate))
        self._lock = threading.Lock()
        self.reset(names)

    def reset(self, names: Sequence[str]) -> None:
        with self._lock:
            self.names = tuple(names)
            self._t = np.zeros(self.capacity, np.float64)
            self._w = np.zeros((self.capacity, len(self.names)), np.float32)
            self._next = 0
            self.total = 0  # rows ever appended (grows without bound)

    def __len__(self) -> int:
        return min(self.total, self.capacity)

    def append(self, t: float, weights: np.ndarray) -> None:
        with self._lock:
            if len(weights) != self._w.shape[1]:
                return  # a frame from a session with other controls: not ours to keep
            self._t[self._next] = t
            self._w[self._next] = weights
            self._next = (self._next + 1) % self.capacity
            self.total += 1

    def snapshot(self, seconds: float | None = None, max_points: int | None = None
                 ) -> tuple[np.ndarray, np.ndarray]:
        """(times (N,), weights (N, C)) in time order, the last ``seconds`` (default: all).

        max_points: keep every k-th row (k as small as fits) and always the newest; rows are
        picked by their index since the start, so the same rows stay picked as the window
        scrolls and a decimated curve does not shimmer."""
        with self._lock:
            n = min(self.total, self.capacity)
            first = self.total - n  # index since the reset of the oldest row kept
            pos = np.arange(n)
            if seconds is not None and n:
                newest = self._t[(self._next - 1) % self.capacity]
                t_all = self._t[(self._next - n + pos) % self.capacity]
                pos = pos[t_all >= newest - seconds]
            if max_points and len(pos) > max_points:
                k = -(-len(pos) // max_points)
                keep = (first + pos) % k == 0
                keep[-1] = True
                pos = pos[keep]
            idx = (self._next - n + pos) % self.capacity
            return self._t[idx], self._w[idx]
