"""Neutral calibration: record a relaxed face, then subtract its per-control offsets.

The eyelid controls (lprr.engine.controls.EYELID_CONTROLS) are never offset: a neutral face has
open eyes, and a slightly-closed resting estimate subtracted from every frame would stop
blinks from reaching 1 or push open eyes below 0.

With ``rescale`` (the default) a control is mapped ``(w - o) / (1 - o)``, so a resting offset
of 0.3 still lets the full expression reach 1.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lprr.engine.controls import CONTROL_NAMES, EYELID_CONTROLS
from lprr.engine.errors import UserError


class NeutralCalibration:
    def __init__(self, names: Sequence[str] = CONTROL_NAMES,
                 exclude: Sequence[str] = EYELID_CONTROLS, rescale: bool = True,
                 max_offset: float = 0.9):
        self.names = tuple(names)
        self.keep = np.array([n not in set(exclude) for n in self.names])  # controls offset
        self.rescale = rescale
        self.max_offset = max_offset  # an offset near 1 would divide by ~0
        self.offsets = np.zeros(len(self.names), np.float32)
        self._sum: np.ndarray | None = None
        self._count = 0
        self._t0: float | None = None
        self._seconds: float | None = None
        self._frames: int | None = None
        self._done = False

    # -- collecting ---------------------------------------------------------------------
    @property
    def collecting(self) -> bool:
        return self._sum is not None

    @property
    def calibrated(self) -> bool:
        """True once a calibration finished (or was loaded)."""
        return self._done

    def start(self, seconds: float | None = 2.0, frames: int | None = None) -> None:
        """Collect for ``seconds`` of frame time and/or ``frames`` face frames (both: first)."""
        if not seconds and not frames:
            raise ValueError("calibration needs seconds or frames")
        self._sum = np.zeros(len(self.names), np.float64)
        self._count, self._t0 = 0, None
        self._seconds, self._frames = seconds, frames

    def add(self, weights: np.ndarray, t: float) -> bool:
        """Feed one face frame while collecting; returns True when calibration just finished."""
        if self._sum is None:
            return False
        if self._t0 is None:
            self._t0 = t
        self._sum += np.asarray(weights, np.float64)
        self._count += 1
        done = (self._frames is not None and self._count >= self._frames) or (
            self._seconds is not None and t - self._t0 >= self._seconds and self._count > 0)
        if done:
            self.finish()
        return done

    def finish(self) -> None:
        if self._sum is None:
            return
        if self._count:
            mean = self._sum / self._count
            self.offsets = np.where(self.keep, np.clip(mean, 0.0, self.max_offset),
                                    0.0).astype(np.float32)
            self._done = True
        self._sum = None

    def cancel(self) -> None:
        self._sum = None

    def reset(self) -> None:
        self.cancel()
        self.offsets[:] = 0
        self._done = False

    # -- applying -----------------------------------------------------------------------
    def apply(self, w: np.ndarray) -> np.ndarray:
        w = np.asarray(w, np.float32)
        if not self._done:
            return w
        out = w - self.offsets
        if self.rescale:
            out = out / (1.0 - self.offsets)
        return out.astype(np.float32)

    # -- persistence --------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {"names": list(self.names), "offsets": [float(v) for v in self.offsets],
                "rescale": self.rescale}

    def save(self, path: str | Path) -> Path:
        p = Path(path)
        p.write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")
        return p

    def load(self, path: str | Path) -> None:
        p = Path(path)
        try:
            d = json.loads(p.read_text(encoding="utf-8"))
            by_name = dict(zip(d["names"], d["offsets"]))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise UserError(f"cannot read calibration {p}: {e}") from None
        self.offsets = np.array([by_name.get(n, 0.0) if k else 0.0
                                 for n, k in zip(self.names, self.keep)], np.float32)
        self.rescale = bool(d.get("rescale", self.rescale))
        self._done = True
