"""Per-frame post-processing of rig weights, in order:

1. decode (optional callable, e.g. ``Pca.decode``), clamp to [0, 1];
2. neutral calibration (collect, then subtract offsets; eyelids untouched), clamp;
3. optional blink link (both eyeBlink values become their mean);
4. One Euro smoothing with separate presets for the eye group (eyes + brows) and the mouth;
5. the per-control mapping (gain, offset, curve, min/max).

Face lost (``process(None, t)``): the last weights are held for ``hold_s``, then eased to
neutral (zeros before mapping; the calibration already made the user's rest pose zero) over
``ease_s`` with a smoothstep. When the face returns, the filter restarts from the eased value
and the output blends from it to the filtered weights over ``return_s`` (the mouth's filter
passes fast motion, so without the blend a re-found face would pop in one frame).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lprr.engine.controls import CONTROL_NAMES, EYELID_CONTROLS, REGIONS
from lprr.engine.post.calibration import NeutralCalibration
from lprr.engine.post.mapping import WeightMapping
from lprr.engine.post.one_euro import SMOOTHING_PRESETS, OneEuroFilter

log = logging.getLogger(__name__)

FACE_STATES = ("waiting", "tracking", "holding", "easing", "neutral")


@dataclass
class PostConfig:
    names: Sequence[str] = field(default_factory=lambda: CONTROL_NAMES)
    smoothing: str = "default"  # SMOOTHING_PRESETS key for both groups
    eyes_smoothing: str | None = None  # override for eyes + brows
    mouth_smoothing: str | None = None  # override for the mouth
    d_cutoff: float = 1.0  # Hz, the speed estimate's low-pass (Casiez et al. default)
    mapping: str | Path | WeightMapping | None = None  # TOML file or object; None = identity
    blink_link: bool = False
    hold_s: float = 0.25
    ease_s: float = 0.5
    return_s: float = 0.2  # blend-in when a lost face is found again
    calibrate_s: float = 0.0  # > 0: calibrate on the first face frames for this long
    calibrate_frames: int | None = None  # or for this many face frames
    calibration_file: str | Path | None = None  # offsets saved by NeutralCalibration.save
    calibration_rescale: bool = True
    calibration_exclude: Sequence[str] = field(default_factory=lambda: EYELID_CONTROLS)


def _is_eye_group(name: str) -> bool:
    if name in REGIONS["eyes"] or name in REGIONS["brows"]:
        return True
    return name.startswith(("eye", "brow"))


def _smoothstep(s: float) -> float:
    s = min(max(s, 0.0), 1.0)
    return s * s * (3.0 - 2.0 * s)


class PostProcessor:
    def __init__(self, config: PostConfig | None = None,
                 decode: Callable[[np.ndarray], np.ndarray] | None = None,
                 names: Sequence[str] | None = None):
        """``names`` (e.g. the manifest's controls) overrides ``config.names``."""
        self.config = c = config or PostConfig()
        self.names = tuple(names if names is not None else c.names)
        self.decode = decode
        for p in (c.smoothing, c.eyes_smoothing, c.mouth_smoothing):
            if p is not None and p not in SMOOTHING_PRESETS:
                raise ValueError(f"unknown smoothing preset {p!r}; use one of "
                                 f"{', '.join(SMOOTHING_PRESETS)}")
        eyes = SMOOTHING_PRESETS[c.eyes_smoothing or c.smoothing]["eyes"]
        mouth = SMOOTHING_PRESETS[c.mouth_smoothing or c.smoothing]["mouth"]
        eye_mask = np.array([_is_eye_group(n) for n in self.names])
        self._eye_mask = eye_mask
        self.smoothing = {"eyes": tuple(eyes), "mouth": tuple(mouth)}  # (min_cutoff, beta)
        self.filter = OneEuroFilter(np.where(eye_mask, eyes[0], mouth[0]),
                                    np.where(eye_mask, eyes[1], mouth[1]), c.d_cutoff)
        if isinstance(c.mapping, WeightMapping):
            self.mapping = c.mapping
        elif c.mapping is not None:
            self.mapping = WeightMapping.load(c.mapping, self.names)
        else:
            self.mapping = WeightMapping(self.names)
        self.calibration = NeutralCalibration(self.names, c.calibration_exclude,
                                              rescale=c.calibration_rescale)
        if c.calibration_file:
            self.calibration.load(c.calibration_file)
        if c.calibrate_s > 0 or c.calibrate_frames:
            self.calibration.start(c.calibrate_s or None, c.calibrate_frames)
        blinks = [i for i, n in enumerate(self.names) if n in ("eyeBlinkLeft", "eyeBlinkRight")]
        self._blinks = blinks if len(blinks) == 2 else None
        self.state = "waiting"
        self._current: np.ndarray | None = None  # last value before mapping
        self._t: float | None = None
        self._lost_since: float | None = None
        self._back: tuple[float, np.ndarray] | None = None  # (time, pose) a lost face returned
        self._lost_from: np.ndarray | None = None

    def start_calibration(self, seconds: float | None = 2.0, frames: int | None = None) -> None:
        """Collect a neutral face from the next face frames (hold still, relaxed, eyes open)."""
        self.calibration.start(seconds, frames)

    def set_smoothing(self, eyes: str | tuple[float, float] | None = None,
                      mouth: str | tuple[float, float] | None = None) -> None:
        """Change the One Euro parameters of the eye group and/or the mouth group live: a
        SMOOTHING_PRESETS name or (min_cutoff Hz, beta); None keeps a group as it is. The
        filter state is kept (no jump). Thread-safe in the sense of OneEuroFilter.set_params;
        the GUI also holds its own lock around ``process``."""
        new = dict(self.smoothing)
        for group, v in (("eyes", eyes), ("mouth", mouth)):
            if v is None:
                continue
            if isinstance(v, str):
                if v not in SMOOTHING_PRESETS:
                    raise ValueError(f"unknown smoothing preset {v!r}; use one of "
                                     f"{', '.join(SMOOTHING_PRESETS)}")
                v = SMOOTHING_PRESETS[v][group]
            new[group] = (float(v[0]), float(v[1]))
        e, m = new["eyes"], new["mouth"]
        self.filter.set_params(np.where(self._eye_mask, e[0], m[0]),
                               np.where(self._eye_mask, e[1], m[1]))
        self.smoothing = new

    @property
    def calibrating(self) -> bool:
        return self.calibration.collecting

    def reset(self) -> None:
        self.filter.reset()
        self.state = "waiting"
        self._current = self._t = self._lost_since = self._lost_from = self._back = None

    def process(self, x: np.ndarray | None, t: float) -> np.ndarray:
        """One frame: weights (or coefficients, with ``decode``) or None for "no face"."""
        if x is None:
            return self.mapping.apply(self._lost(t))
        w = self.decode(x) if self.decode is not None else x
        w = np.clip(np.nan_to_num(np.asarray(w, np.float32).reshape(-1)), 0.0, 1.0)
        if len(w) != len(self.names):
            raise ValueError(f"expected {len(self.names)} weights, got {len(w)}")
        if self.calibration.collecting and self.calibration.add(w, t):
            log.info("neutral calibration done: largest offset %.3f",
                     float(self.calibration.offsets.max(initial=0.0)))
        w = np.clip(self.calibration.apply(w), 0.0, 1.0)
        if self.config.blink_link and self._blinks:
            w[self._blinks] = w[self._blinks].mean()
        if self._lost_since is not None and self._current is not None:
            self.filter.reset(self._current, self._t)  # resume from the eased pose: no jump
            self._back = (t, self._current.copy())
        self._lost_since = self._lost_from = None
        y = self.filter(w, t).astype(np.float32)
        if self._back is not None:
            t_back, pose = self._back
            s = (t - t_back) / self.config.return_s if self.config.return_s > 0 else 1.0
            if s >= 1.0:
                self._back = None
            else:
                y = pose + _smoothstep(s) * (y - pose)
        self._current, self._t, self.state = y, t, "tracking"
        return self.mapping.apply(y)

    def _lost(self, t: float) -> np.ndarray:
        c = self.config
        if self._current is None:
            self.state = "waiting" if self.state == "waiting" else "neutral"
            return np.zeros(len(self.names), np.float32)
        if self._lost_since is None or self._lost_from is None:  # set and cleared together
            self._lost_since, self._lost_from = t, self._current.copy()
        gone = t - self._lost_since
        if gone <= c.hold_s:
            v, self.state = self._lost_from, "holding"
        elif c.ease_s > 0 and gone < c.hold_s + c.ease_s:
            v = self._lost_from * (1.0 - _smoothstep((gone - c.hold_s) / c.ease_s))
            self.state = "easing"
        else:
            v, self.state = np.zeros_like(self._lost_from), "neutral"
        self._current, self._t = v.astype(np.float32), t
        return self._current.copy()
