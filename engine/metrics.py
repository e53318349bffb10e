"""Accuracy metrics of predicted rig weights against ground truth."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from engine.controls import REGIONS

KEY_CONTROLS = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft",
                "mouthSmileRight")


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.std() < 1e-9 or b.std() < 1e-9:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def jitter(x: np.ndarray) -> float:
    """Mean absolute second difference (frame-to-frame roughness)."""
    x = np.asarray(x, float)
    return float(np.abs(np.diff(x, 2)).mean()) if len(x) > 2 else 0.0


@dataclass
class ControlScore:
    name: str
    mae: float
    r: float
    jitter_ratio: float  # predicted jitter / ground-truth jitter


def score(pred: np.ndarray, true: np.ndarray, names: Sequence[str]) -> dict:
    """Per-control, per-region and overall scores. ``pred``/``true``: (N, C)."""
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    per = {}
    for j, n in enumerate(names):
        jt = jitter(true[:, j])
        per[n] = ControlScore(n, float(np.abs(pred[:, j] - true[:, j]).mean()),
                              pearson(pred[:, j], true[:, j]),
                              jitter(pred[:, j]) / jt if jt > 1e-9 else float("nan"))
    regions = {}
    for region, members in REGIONS.items():
        sel = [per[n] for n in members if n in per]
        if sel:
            regions[region] = {"mae": float(np.mean([s.mae for s in sel])),
                               "r": float(np.nanmean([s.r for s in sel]))
                               if any(np.isfinite(s.r) for s in sel) else float("nan")}
    return {
        "frames": len(pred),
        "overall_mae": float(np.abs(pred - true).mean()),
        "regions": regions,
        "controls": {n: vars(s) for n, s in per.items()},
        "key": {n: vars(per[n]) for n in KEY_CONTROLS if n in per},
    }
