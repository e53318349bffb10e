"""Mouth retrieval for the live character preview (Face2Face's mouth retrieval, in rig space).

The character's render set (renders labelled with the rig weights behind them: the WEM
training data) is indexed once by the mouth controls' weights, with each render's lip
patch (APEM's ``lip`` crop, 128x128 BGR). Per frame, the render nearest in mouth-weight
space gives the patch: a plausible mouth interior (teeth, tongue) that the weights alone
do not draw.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from lprr.engine.controls import CONTROL_NAMES, REGIONS
from lprr.engine.errors import UserError
from lprr.engine.face.apem import extract_patches

log = logging.getLogger(__name__)
MOUTH = np.array([CONTROL_NAMES.index(n) for n in REGIONS["mouth"]])


def _spread(w: np.ndarray, k: int) -> np.ndarray:
    """Indices of ``k`` rows of ``w`` spread over its space (farthest-point sampling)."""
    n = len(w)
    if n <= k:
        return np.arange(n)
    chosen = [int(np.argmin((w * w).sum(1)))]  # start from the most neutral mouth
    d = ((w - w[chosen[0]]) ** 2).sum(1)
    for _ in range(k - 1):
        j = int(np.argmax(d))
        chosen.append(j)
        d = np.minimum(d, ((w - w[j]) ** 2).sum(1))
    return np.sort(np.array(chosen))


class MouthRetrieval:
    """Nearest render in mouth-weight space -> its lip patch (uint8 BGR 128x128)."""

    def __init__(self, weights: np.ndarray, patches: np.ndarray):
        w = np.asarray(weights, np.float32)
        if w.ndim != 2 or w.shape[1] != len(CONTROL_NAMES) or len(w) != len(patches):
            raise ValueError("expected (N, C) weights in CONTROL_NAMES order and N patches")
        self.keys = np.ascontiguousarray(w[:, MOUTH])
        self._norms = (self.keys * self.keys).sum(1)
        self.patches = np.ascontiguousarray(patches, dtype=np.uint8)

    def __len__(self) -> int:
        return len(self.keys)

    def query(self, weights: np.ndarray) -> np.ndarray:
        q = np.asarray(weights, np.float32)[MOUTH]
        j = int(np.argmin(self._norms - 2.0 * (self.keys @ q)))
        return self.patches[j]

    @classmethod
    def from_take(cls, path: str | Path, max_items: int = 800) -> MouthRetrieval:
        """Index a character take (frames + weights.csv; landmarks.npy, else MediaPipe)."""
        from lprr.engine.take import Take, TakeError

        try:
            take = Take(path)
            weights = take.weights_for(CONTROL_NAMES)
        except TakeError as e:
            raise UserError(f"mouth renders: {e}") from None
        keep = set(_spread(weights[:, MOUTH], max_items).tolist())
        lms = take.landmarks
        landmarker = None
        if lms is None:
            from lprr.engine.face.landmarks import FaceLandmarker

            landmarker = FaceLandmarker(static=True)
        ws, ps = [], []
        try:
            for i, frame in enumerate(take.frames()):
                if i >= len(weights):
                    break
                if i not in keep:
                    continue
                if lms is not None:
                    lm = lms[i]
                else:
                    assert landmarker is not None  # made above for a take without landmarks
                    lm = landmarker.detect(frame)
                if lm is None:
                    continue
                ws.append(weights[i])
                ps.append(extract_patches(frame, lm)["lip"])
        finally:
            if landmarker is not None:
                landmarker.close()
        if not ws:
            raise UserError(f"mouth renders: no usable frames in {path}")
        log.info("mouth retrieval: %d renders from %s", len(ws), path)
        return cls(np.stack(ws), np.stack(ps))

    @classmethod
    def from_demo(cls, n: int = 240, seed: int = 0, size: int = 256) -> MouthRetrieval:
        """Render a small set of the demo character (natural mouth motion plus each mouth
        control alone at a few levels); about a tenth of a second per 10 renders."""
        from lprr.engine.world.character import DemoCharacter
        from lprr.engine.world.sequences import natural_sequence

        char = DemoCharacter(size=size)
        solo = np.zeros((3 * len(MOUTH), len(CONTROL_NAMES)), np.float32)
        for i, k in enumerate(MOUTH):
            solo[3 * i: 3 * i + 3, k] = (0.33, 0.66, 1.0)
        n_nat = max(n - 1 - len(solo), 0)
        nat = natural_sequence(max(n_nat, 1) * 4, seed=seed)
        nat = nat[_spread(nat[:, MOUTH], n_nat)] if n_nat else nat[:0]
        weights = np.concatenate([np.zeros((1, len(CONTROL_NAMES)), np.float32), solo, nat])
        weights = weights[:max(n, 1)]
        patches = []
        for w in weights:
            img, lm = char.render(w)
            patches.append(extract_patches(img, lm)["lip"])
        return cls(weights, np.stack(patches))
