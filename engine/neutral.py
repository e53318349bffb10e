"""A performer's neutral face found in the stream itself, without assuming it comes first.

The calibration-free methods (the landmark heuristic, Face2Face) need the performer's own
neutral. Taking the first second of face frames fails when a clip starts smiling or
talking: every later reading is relative to that expression. ``RunningNeutral`` keeps a
history of the face frames seen so far (causal, so it works live) and picks the ones that
look most neutral by measures that need no neutral: lips together, mouth corners low
against the lips, mouth narrow, eyes open, brows at their usual height. Each measure is
judged against the performer's own history (a rest-side quantile), so no face is compared
with a population. The estimate is redone as more of the stream is seen; a neutral shown
later therefore replaces an expressive start.

Eyes: frames with the lids lower than the history's open-eye level are never chosen, so
the neutral has open eyes and blinks keep reading (a neutral with half-shut lids would
absorb them).

A file is all there before it plays: ``clip_neutral`` reads it through once and picks the
most neutral-looking frames of the whole clip, so a clip that starts smiling gets the same
neutral as one that starts at rest (``lprr run`` and ``lprr eval`` do this for files; the
methods' ``neutral_clip`` option). An explicit calibration clip (``--calibration``)
bypasses all this: the methods use it as before.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger(__name__)


@dataclass
class NeutralConfig:
    update_every: int = 10  # re-estimate after this many face frames (every frame before)
    max_frames: int = 600  # history kept; when full, every other frame is dropped
    share: float = 0.25  # share of the history taken as the most neutral frames
    min_select: int = 5
    max_select: int = 45
    eye_open_q: float = 0.9  # the history's open-eye level: this quantile of the lid ratio
    eye_closed: float = 0.65  # frames under this share of the open-eye level are not chosen
    rest_q: float = 0.1  # rest level of the one-sided measures (lip gap, corners, width)
    # the unit of each measure's cost (neutral-frame units, as engine/heuristic.py's scale)
    gap_unit: float = 0.05
    lift_unit: float = 0.05
    width_unit: float = 0.1
    brow_unit: float = 0.05
    eye_unit: float = 0.25  # a share of the open-eye level


def features(landmarks: np.ndarray) -> np.ndarray:
    """Neutral-free measures of one face, in its own frame: lip gap, corner lift against the
    upper lip, mouth width, eye aspect ratio (both eyes), brow height (all IOD units)."""
    from lprr.engine.heuristic import NeutralFrame, measures  # heuristic imports this module

    m = measures(NeutralFrame.from_landmarks(landmarks).local(landmarks))
    lift = 0.5 * (m["corner_up_Left"] + m["corner_up_Right"]) - m["upper_lip_y"]
    ear = 0.5 * (m["eye_open_Left"] + m["eye_open_Right"])
    brow = np.mean([m[f"brow_{p}_{s}"] for p in ("inner", "outer") for s in ("Left", "Right")])
    return np.array([m["lip_gap"], lift, m["mouth_w"], ear, brow])


class RunningNeutral:
    """The most neutral-looking face frames seen so far, re-estimated as frames come."""

    def __init__(self, config: NeutralConfig | None = None):
        self.cfg = config or NeutralConfig()
        self._faces: list[np.ndarray] = []
        self._feats: list[np.ndarray] = []
        self._ids: list[int] = []  # serial number of each history frame
        self.seen = 0  # face frames seen (the history may hold fewer)
        self.selected: np.ndarray = np.zeros(0, int)  # indices into the history

    def __len__(self) -> int:
        return len(self._faces)

    def _push(self, landmarks: np.ndarray) -> bool:
        """Keep one face frame; True when the history was thinned."""
        self._faces.append(np.asarray(landmarks, np.float32))
        self._feats.append(features(landmarks))
        self._ids.append(self.seen)
        self.seen += 1
        if len(self._faces) <= self.cfg.max_frames:
            return False
        # a uniform sample of the whole past; the indices must be redone
        self._faces, self._feats, self._ids = (self._faces[::2], self._feats[::2],
                                               self._ids[::2])
        return True

    def extend(self, faces: Iterable[np.ndarray]) -> None:
        """Take many face frames at once (a whole clip), then estimate once."""
        for lm in faces:
            self._push(lm)
        if self._faces:
            self.selected = self.select()

    def add(self, landmarks: np.ndarray) -> bool:
        """Take one face frame (478, 3); True when the estimate was redone."""
        thinned = self._push(landmarks)
        if (not thinned and self.seen > self.cfg.update_every
                and self.seen % self.cfg.update_every):
            return False
        self.selected = self.select()
        return True

    def costs(self) -> np.ndarray:
        """Per frame of the history: how far it is from looking neutral (0 = at rest)."""
        c, f = self.cfg, np.stack(self._feats)
        gap, lift, width, ear, brow = f.T
        rest = np.quantile(f, c.rest_q, axis=0)
        open_ = max(float(np.quantile(ear, c.eye_open_q)), 1e-3)
        cost = (np.maximum(gap - rest[0], 0) / c.gap_unit
                + np.maximum(lift - rest[1], 0) / c.lift_unit
                + np.maximum(width - rest[2], 0) / c.width_unit
                + np.abs(ear / open_ - 1) / c.eye_unit
                + np.abs(brow - np.median(brow)) / c.brow_unit)
        # closed or half-shut lids never make the neutral (blinks must keep reading)
        return np.where(ear < c.eye_closed * open_, np.inf, cost)

    def select(self) -> np.ndarray:
        c = self.cfg
        cost = self.costs()
        k = int(np.clip(round(c.share * len(cost)), c.min_select, c.max_select))
        order = np.argsort(cost, kind="stable")
        keep = order[:k][np.isfinite(cost[order[:k]])]
        return np.sort(keep if len(keep) else order[:1])

    @property
    def ids(self) -> set[int]:
        """Serial numbers (order of arrival) of the frames the neutral is estimated from."""
        return {self._ids[i] for i in self.selected}

    def moved(self, ids: set[int], keep: float = 0.5) -> bool:
        """True when less than ``keep`` of the current selection is among ``ids`` (an
        earlier selection): the estimate has moved enough to redo a costly setup."""
        return len(self.ids & ids) < keep * len(self.selected)

    @property
    def faces(self) -> list[np.ndarray]:
        """The frames the neutral is estimated from (at least one once a face was seen)."""
        return [self._faces[i] for i in self.selected]


NeutralClip = str | Path | Callable[[], Iterable[np.ndarray]]


def clip_faces(clip: NeutralClip, max_frames: int = 300, landmarker: str = "facemesh"
               ) -> list[np.ndarray]:
    """The face frames (478, 3) of a whole clip (a video, image or take folder, or a
    function giving its frames afresh), read once, at most ``max_frames`` of them evenly
    spread."""
    from lprr.engine.errors import UserError
    from lprr.engine.face.landmarks import clip_frames, track_landmarks

    # The clip is read again when it plays: its warnings (a bad frame) are said then, once.
    capture_log = logging.getLogger("lprr.engine.capture")
    level = capture_log.level
    capture_log.setLevel(logging.ERROR)
    src: Any = clip_frames(clip) if isinstance(clip, (str, Path)) else clip()
    n = len(src) if hasattr(src, "__len__") else 0
    stride = max(1, math.ceil(n / max_frames)) if n else 1
    try:
        faces = [p for p in track_landmarks((f for i, f in enumerate(src) if i % stride == 0),
                                            landmarker=landmarker)
                 if p is not None]
    finally:
        capture_log.setLevel(level)
        close = getattr(src, "close", None)
        if close is not None:
            close()
    if not faces:
        raise UserError(f"no face found in {getattr(src, 'name', clip)} to take a neutral from")
    return faces


def most_neutral(faces: list[np.ndarray], config: NeutralConfig | None = None) -> np.ndarray:
    """(K, 478, 3): the most neutral-looking of ``faces``."""
    rn = RunningNeutral(config)
    rn.extend(faces)
    log.info("neutral: the %d most neutral of %d face frames", len(rn.selected), len(faces))
    return np.stack(rn.faces)


def clip_neutral(clip: NeutralClip, config: NeutralConfig | None = None,
                 max_frames: int = 300, landmarker: str = "facemesh") -> np.ndarray:
    """(K, 478, 3): the most neutral-looking face frames of a whole clip (``clip_faces``),
    read by the landmarker the method runs on."""
    return most_neutral(clip_faces(clip, max_frames, landmarker), config)
