"""Thin glue between take generation and the demo character (``lprr.engine.world.character``).

``--jitter J`` on the command line is the camera shift's standard deviation as a fraction
of the frame (0.02 = 2 %); the character's ``CameraPose.jitter(rng, amount)`` scales all of
its pose noise together (amount 1 = about 5 degrees of yaw and 2 % of shift), so
amount = J / 0.02. Poses are drawn at knots about a second apart and eased between them, so
the camera drifts smoothly instead of shaking frame to frame.
"""
from __future__ import annotations

from dataclasses import fields

import numpy as np

_SHIFT_PER_AMOUNT = 0.02  # CameraPose.jitter: tx/ty sigma at amount = 1


def make_character(size: int = 256):
    from lprr.engine.world.character import DemoCharacter

    return DemoCharacter(size=size)


class CameraJitter:
    """A smooth, seeded camera trajectory for a character take."""

    def __init__(self, n_frames: int, fps: float = 30.0, seed: int = 0, amount: float = 0.02,
                 period_s: float = 1.2):
        from lprr.engine.world.character import CameraPose

        self._cls = CameraPose
        self.n = max(1, int(n_frames))
        self.amount = float(amount)
        self.step = max(2, round(period_s * fps))
        rng = np.random.default_rng(seed)
        k = self.n // self.step + 2
        scale = self.amount / _SHIFT_PER_AMOUNT
        self._names = [f.name for f in fields(CameraPose)]
        if scale <= 0:
            self._knots = None
        else:
            poses = [CameraPose.jitter(rng, scale) for _ in range(k)]
            self._knots = np.array([[getattr(p, n) for n in self._names] for p in poses])

    def pose(self, i: int):
        if self._knots is None:
            return None
        t = min(max(i, 0), self.n - 1) / self.step
        j = int(t)
        f = t - j
        f = f * f * (3 - 2 * f)
        v = self._knots[j] * (1 - f) + self._knots[j + 1] * f
        return self._cls(**{n: float(x) for n, x in zip(self._names, v)})
