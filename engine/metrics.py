"""Accuracy metrics of predicted rig weights against ground truth.

Per control: MAE, Pearson r and jitter (the mean absolute second difference, frame to
frame roughness) next to the ground truth's own jitter. Per region (eyes, brows, mouth)
and overall: the mean MAE, the mean of the defined r values and the jitter ratio of the
summed jitters. Blinks: events (runs of frames with weight >= 0.5) matched one to one,
their recall and precision.

Undefined numbers are NaN, never an exception: a constant curve has no Pearson r, a take
without blinks has no blink recall. ``to_jsonable`` turns NaN into JSON null.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lprr.engine.controls import REGIONS

KEY_CONTROLS = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft",
                "mouthSmileRight", "browInnerUp")
BLINK_CONTROLS = ("eyeBlinkLeft", "eyeBlinkRight")
EVENT_THRESHOLD = 0.5
EVENT_TOLERANCE = 2  # frames of slack on each side of an event when matching
EVENT_MIN_IOU = 0.2  # least overlap / union of two (widened) events that match
NAN = float("nan")


def mae(pred: np.ndarray, true: np.ndarray) -> float:
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    return float(np.abs(pred - true).mean()) if pred.size else NAN


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson r; NaN when either curve is constant (r is undefined there)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 2 or a.std() < 1e-9 or b.std() < 1e-9:
        return NAN
    return float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))


def jitter(x: np.ndarray) -> float:
    """Mean absolute second difference (frame-to-frame roughness); 0 for < 3 frames."""
    x = np.asarray(x, float)
    return float(np.abs(np.diff(x, 2)).mean()) if len(x) > 2 else 0.0


def _ratio(a: float, b: float) -> float:
    return a / b if b > 1e-9 else NAN


def events(x: np.ndarray, threshold: float = EVENT_THRESHOLD) -> list[tuple[int, int]]:
    """[start, end) frame ranges where ``x >= threshold``."""
    on = np.asarray(x, float) >= threshold
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _iou(a: tuple[int, int], b: tuple[int, int], tol: int) -> float:
    """Overlap / union of two frame spans, each widened by ``tol`` frames on both sides."""
    a0, a1, b0, b1 = a[0] - tol, a[1] + tol, b[0] - tol, b[1] + tol
    inter = min(a1, b1) - max(a0, b0)
    return inter / (max(a1, b1) - min(a0, b0)) if inter > 0 else 0.0


def match_events(pred: list[tuple[int, int]], true: list[tuple[int, int]],
                 tolerance: int = EVENT_TOLERANCE, min_iou: float = EVENT_MIN_IOU
                 ) -> list[tuple[int, int]]:
    """One-to-one matches (pred index, true index), best overlaps first. A match needs
    the widened spans to overlap by ``min_iou`` of their union, so one long predicted
    event (an eye read as closed all along) cannot count for many short blinks."""
    pairs = sorted(((_iou(p, t, tolerance), i, j) for i, p in enumerate(pred)
                    for j, t in enumerate(true)), reverse=True)
    used_p, used_t, out = set(), set(), []
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i not in used_p and j not in used_t:
            used_p.add(i)
            used_t.add(j)
            out.append((i, j))
    return out


def event_scores(pred: np.ndarray, true: np.ndarray, threshold: float = EVENT_THRESHOLD,
                 tolerance: int = EVENT_TOLERANCE) -> dict:
    """Recall (share of true events matched) and precision (share of predicted events
    matched), with one-to-one matching; NaN when there is nothing to count."""
    ev_t, ev_p = events(true, threshold), events(pred, threshold)
    hits = len(match_events(ev_p, ev_t, tolerance))
    return {"true_events": len(ev_t), "pred_events": len(ev_p), "matched": hits,
            "recall": hits / len(ev_t) if ev_t else NAN,
            "precision": hits / len(ev_p) if ev_p else NAN}


@dataclass
class ControlScore:
    name: str
    mae: float
    r: float
    jitter: float  # of the prediction
    jitter_true: float  # of the ground truth
    jitter_ratio: float  # jitter / jitter_true (NaN when the truth is perfectly smooth)


def control_score(name: str, pred: np.ndarray, true: np.ndarray) -> ControlScore:
    jp, jt = jitter(pred), jitter(true)
    return ControlScore(name, mae(pred, true), pearson(pred, true), jp, jt, _ratio(jp, jt))


def _mean_r(scores: Sequence[ControlScore]) -> float:
    rs = [s.r for s in scores if np.isfinite(s.r)]
    return float(np.mean(rs)) if rs else NAN


def _group(scores: Sequence[ControlScore]) -> dict:
    jp = float(np.mean([s.jitter for s in scores]))
    jt = float(np.mean([s.jitter_true for s in scores]))
    return {"mae": float(np.mean([s.mae for s in scores])), "r": _mean_r(scores),
            "r_defined": sum(np.isfinite(s.r) for s in scores), "controls": len(scores),
            "jitter": jp, "jitter_true": jt, "jitter_ratio": _ratio(jp, jt)}


def score(pred: np.ndarray, true: np.ndarray, names: Sequence[str]) -> dict:
    """Per-control, per-region and overall scores. ``pred``/``true``: (N, C) in ``names``
    order."""
    pred, true = np.asarray(pred, float), np.asarray(true, float)
    if pred.shape != true.shape or pred.shape[1:] != (len(names),):
        raise ValueError(f"pred {pred.shape} and true {true.shape} must both be "
                         f"(frames, {len(names)})")
    per = {n: control_score(n, pred[:, j], true[:, j]) for j, n in enumerate(names)}
    regions = {}
    for region, members in REGIONS.items():
        sel = [per[n] for n in members if n in per]
        if sel:
            regions[region] = _group(sel)
    overall = _group(list(per.values())) if per else {}
    blinks = {n: event_scores(pred[:, j], true[:, j]) for j, n in enumerate(names)
              if n in BLINK_CONTROLS}
    if blinks:
        tot = {k: sum(b[k] for b in blinks.values())
               for k in ("true_events", "pred_events", "matched")}
        tot["recall"] = tot["matched"] / tot["true_events"] if tot["true_events"] else NAN
        tot["precision"] = tot["matched"] / tot["pred_events"] if tot["pred_events"] else NAN
        blinks["both"] = tot
    return {
        "frames": len(pred),
        "overall": overall,
        "overall_mae": overall.get("mae", NAN),  # kept for older readers
        "regions": regions,
        "blinks": blinks,
        "controls": {n: vars(s) for n, s in per.items()},
        "key": {n: vars(per[n]) for n in KEY_CONTROLS if n in per},
    }


def to_jsonable(obj):
    """NaN/inf -> None (JSON null), numpy scalars -> Python numbers, recursively."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj
