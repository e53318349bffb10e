"""One Euro filter (Casiez, Roussel, Vogel, CHI 2012), vectorised over controls.

Each control has its own ``min_cutoff`` (Hz) and ``beta`` (s per weight unit):
``cutoff = min_cutoff + beta * |dx/dt|`` where dx/dt is the low-passed speed in weight units
per second. A slow signal gets a low cutoff (less jitter); a fast one a high cutoff (less lag).

The one implementation in lprr: the post-processing smooths rig weights with it, and APEM
(engine/face/apem.py) the face frame's parameters.

Time: a repeated timestamp holds the last output; a timestamp before the last one (a seek,
a looped file, another source) starts over from that sample, as the first sample does.
"""
from __future__ import annotations

import numpy as np


def _alpha(cutoff: np.ndarray | float, dt: float) -> np.ndarray:
    tau = 1.0 / (2.0 * np.pi * np.asarray(cutoff, np.float64))
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """Filters (C,) vectors; ``min_cutoff <= 0`` (or inf) for a control means no filtering."""

    def __init__(self, min_cutoff: np.ndarray | float, beta: np.ndarray | float,
                 d_cutoff: float = 1.0, size: int | None = None):
        mc = np.asarray(min_cutoff, np.float64)
        b = np.asarray(beta, np.float64)
        n = size or max(mc.size, b.size)
        self.min_cutoff = np.broadcast_to(mc, (n,)).copy()
        self.beta = np.broadcast_to(b, (n,)).copy()
        self.d_cutoff = float(d_cutoff)
        self.passthrough = ~np.isfinite(self.min_cutoff) | (self.min_cutoff <= 0)
        self.min_cutoff[self.passthrough] = 1.0  # any value; those outputs are overwritten
        self.reset()

    def set_params(self, min_cutoff: np.ndarray | float, beta: np.ndarray | float) -> None:
        """Change the parameters live; the state is kept, so the output does not jump.

        The new arrays are built first and swapped in by attribute assignment, so a call from
        another thread never leaves an array half-written (callers that need the three
        swaps to be seen together should hold their own lock around ``__call__``)."""
        n = self.min_cutoff.size
        mc = np.broadcast_to(np.asarray(min_cutoff, np.float64), (n,)).copy()
        b = np.broadcast_to(np.asarray(beta, np.float64), (n,)).copy()
        passthrough = ~np.isfinite(mc) | (mc <= 0)
        mc[passthrough] = 1.0
        self.min_cutoff, self.beta, self.passthrough = mc, b, passthrough

    def reset(self, x0: np.ndarray | None = None, t0: float | None = None) -> None:
        """Forget the history; optionally start from state ``x0`` at time ``t0`` (no jump)."""
        self._x = None if x0 is None else np.asarray(x0, np.float64).copy()
        self._dx = np.zeros_like(self.min_cutoff)
        self._t = t0 if x0 is not None else None

    @property
    def value(self) -> np.ndarray | None:
        """The last output (None before the first sample or after a reset)."""
        return None if self._x is None else self._x.copy()

    def __call__(self, x: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(x, np.float64)
        if self._x is None or self._t is None or t < self._t:
            # the first sample, or time went backwards: a new timeline starts here
            self._x, self._t = x.copy(), t
            self._dx = np.zeros_like(self.min_cutoff)
            return x.copy()
        dt = t - self._t
        if dt == 0:  # a repeated timestamp: hold the output
            return self._x.copy()
        dx = (x - self._x) / dt
        self._dx += _alpha(self.d_cutoff, dt) * (dx - self._dx)
        cutoff = self.min_cutoff + self.beta * np.abs(self._dx)
        out = self._x + _alpha(cutoff, dt) * (x - self._x)
        out[self.passthrough] = x[self.passthrough]
        self._x, self._t = out, t
        return out.copy()


# Presets in 0-1 weight units: (min_cutoff Hz, beta s) for the eye group (eyes + brows) and
# the mouth group. MediaPipe's beta=80 is for landmark coordinates in face-size units; weights
# move about 10/s in a blink and 2-4/s in speech, so useful betas here are 1-5.
#
# Tuning (`python -m lprr.engine.post.tuning`: 0.02 std Gaussian noise on the weights, d_cutoff 1 Hz; "jitter" is the
# std of frame-to-frame change, filtered / raw; at 60 fps, 30 fps in brackets):
#   eyes   light   (2.0, 5.0): jitter x0.17 (0.28), 80 ms blink peak 1.00, no lag
#          default (1.0, 5.0): jitter x0.13 (0.20), blink peak 1.00 (1.00), no 50% lag
#          heavy   (0.5, 3.0): jitter x0.08 (0.12), blink peak 1.00 (0.99), 17 ms lag
#   mouth  light   (1.5, 10.0): jitter x0.19 (0.29), speech amplitude 1.06 (1.01), 17 ms lag
#          default (0.7, 10.0): jitter x0.16 (0.23), speech amplitude 1.06 (1.01), 17 ms lag
#          heavy   (0.3, 2.0): jitter x0.06 (0.09), speech amplitude 0.86 (0.62), 33 ms lag
# The plain filter (1 Hz, beta 0) for comparison: blink peak 0.53, speech amplitude 0.26.
# Eyes get a high beta so blinks pass; the mouth tolerates a lower min_cutoff because visemes
# are slower than blinks but steady jitter on the lips is very visible. The mouth's beta was
# 4 until it was measured on the shipped models' own output (held-out grace_hopper take,
# `lprr eval`): beta 4 cut jawOpen's r from 0.93 (unsmoothed) to 0.84, beta 10 keeps 0.89
# while the mouth's frame-to-frame jitter falls from 4.2x the ground truth's to 1.8x.
SMOOTHING_PRESETS: dict[str, dict[str, tuple[float, float]]] = {
    "off": {"eyes": (0.0, 0.0), "mouth": (0.0, 0.0)},
    "light": {"eyes": (2.0, 5.0), "mouth": (1.5, 10.0)},
    "default": {"eyes": (1.0, 5.0), "mouth": (0.7, 10.0)},
    "heavy": {"eyes": (0.5, 3.0), "mouth": (0.3, 2.0)},
}
