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

    def snapshot(self, seconds: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(times (N,), weights (N, C)) in time order, the last ``seconds`` (default: all)."""
        with self._lock:
            n = min(self.total, self.capacity)
            idx = (np.arange(self._next - n, self._next)) % self.capacity
            t, w = self._t[idx].copy(), self._w[idx].copy()
        if seconds is not None and n:
            keep = t >= t[-1] - seconds
            t, w = t[keep], w[keep]
        return t, w
