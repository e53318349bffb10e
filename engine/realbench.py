"""Scores on real footage, from labels made by looking (engine/labels.py) and from geometric
measures that no method under test produces.

Per method and clip:

- **detection AUC** per expression: the chance that a frame showing it (a labelled closed
  eye, open mouth, smile, raised or lowered brows) gets a higher weight on its control than
  a frame that does not; 0.5 is chance (a constant method), 1 perfect. It needs no
  threshold and no scale, so MediaPipe's scores, lprr's and a heuristic's compare fairly.
- **blink events** per eye: runs of ``eyeBlink >= 0.5`` matched one to one against the
  labelled closed spans (lprr.engine.metrics.match_events): recall and precision.
- **leak**: the mean weight on labelled neutral frames (mean over controls, and the worst
  control); a dead-on-rest method scores 0. Eyelid controls count too.
- **geometry r**: Pearson r between a control and a landmark measure (lip gap 13-14 and
  mouth width 61-291 over the inter-ocular distance, lid gaps 159-145 and 386-374 over the
  eye width), from the legacy FaceMesh landmarks. Independent of the tasks model and of the
  learned path; the heuristic reads the same landmarks, so its r here is flattered.
- **jitter** on labelled still stretches: mean absolute second difference of every
  control, frame to frame (weight units); a constant output scores 0, so read it beside
  the detection scores.

Frames that count are labelled as showing a face and not marked uncertain.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lprr.engine.face.topology import (
    EYE_INNER_L,
    EYE_INNER_R,
    EYE_OUTER_L,
    EYE_OUTER_R,
    LID_LO_L,
    LID_LO_R,
    LID_UP_L,
    LID_UP_R,
    LIP_INNER_LO,
    LIP_INNER_UP,
    MOUTH_CORNER_L,
    MOUTH_CORNER_R,
)
from lprr.engine.labels import ClipLabels
from lprr.engine.metrics import EVENT_THRESHOLD, events, jitter, match_events, pearson

NAN = float("nan")

# expression label -> the controls whose mean is its detector
DETECTORS: dict[str, tuple[str, ...]] = {
    "eye_closed_left": ("eyeBlinkLeft",),
    "eye_closed_right": ("eyeBlinkRight",),
    "mouth_open": ("jawOpen",),
    "smile": ("mouthSmileLeft", "mouthSmileRight"),
    "brows_raised": ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"),
    "brows_lowered": ("browDownLeft", "browDownRight"),
}
BLINKS = {"left": ("eye_closed_left", "eyeBlinkLeft"),
          "right": ("eye_closed_right", "eyeBlinkRight")}
# control(s), geometric measure, expected sign of r
GEOMETRY_PAIRS: tuple[tuple[str, tuple[str, ...], str, int], ...] = (
    ("jaw~lip gap", ("jawOpen",), "lip_gap", 1),
    ("blink L~lid gap", ("eyeBlinkLeft",), "lid_gap_left", -1),
    ("blink R~lid gap", ("eyeBlinkRight",), "lid_gap_right", -1),
    ("smile~mouth width", ("mouthSmileLeft", "mouthSmileRight"), "mouth_width", 1),
)


def geometry(landmarks: Sequence[np.ndarray | None]) -> dict[str, np.ndarray]:
    """Per frame (NaN without a face): lip gap and mouth width over the inter-ocular
    distance, each lid gap over its eye's width. Landmarks (478, 3) in pixels."""
    n = len(landmarks)
    out = {k: np.full(n, NAN) for k in ("lip_gap", "mouth_width", "lid_gap_left",
                                        "lid_gap_right")}
    for i, lm in enumerate(landmarks):
        if lm is None:
            continue
        p = np.asarray(lm, np.float64)[:, :2]

        def d(a: int, b: int, p: np.ndarray = p) -> float:
            return float(np.linalg.norm(p[a] - p[b]))

        eye_l, eye_r = d(EYE_OUTER_L, EYE_INNER_L), d(EYE_OUTER_R, EYE_INNER_R)
        iod = float(np.linalg.norm(p[[EYE_OUTER_L, EYE_INNER_L]].mean(0)
                                   - p[[EYE_OUTER_R, EYE_INNER_R]].mean(0)))
        out["lip_gap"][i] = d(LIP_INNER_UP, LIP_INNER_LO) / iod
        out["mouth_width"][i] = d(MOUTH_CORNER_L, MOUTH_CORNER_R) / iod
        out["lid_gap_left"][i] = d(LID_UP_L, LID_LO_L) / eye_l
        out["lid_gap_right"][i] = d(LID_UP_R, LID_LO_R) / eye_r
    return out


def auc(scores: np.ndarray, pos: np.ndarray, neg: np.ndarray) -> float:
    """P(score of a positive > score of a negative) + half the ties; NaN without both."""
    a, b = np.asarray(scores, float)[pos], np.asarray(scores, float)[neg]
    if not len(a) or not len(b):
        return NAN
    gt = (a[:, None] > b[None, :]).mean()
    eq = (a[:, None] == b[None, :]).mean()
    return float(gt + 0.5 * eq)


def _detector(pred: np.ndarray, names: Sequence[str], controls: Sequence[str]) -> np.ndarray:
    idx = [list(names).index(c) for c in controls if c in names]
    if not idx:
        return np.full(len(pred), NAN)
    return pred[:, idx].mean(1)


def geometry_r(pred: np.ndarray, names: Sequence[str], geom: dict[str, np.ndarray],
               frames: np.ndarray | None = None) -> dict[str, float]:
    """Pearson r of each GEOMETRY_PAIRS control against its landmark measure (signed so
    that agreeing is positive), over ``frames`` (a mask; all by default). Needs no labels."""
    pred = np.asarray(pred, float)
    sel0 = np.ones(len(pred), bool) if frames is None else np.asarray(frames, bool)
    rs = {}
    for label, controls, measure, sign in GEOMETRY_PAIRS:
        g = np.asarray(geom[measure], float)
        sel = sel0 & np.isfinite(g)
        rs[label] = sign * pearson(_detector(pred, names, controls)[sel], g[sel])
    return rs


def _f1(recall: float, precision: float) -> float:
    if not np.isfinite(recall) or not np.isfinite(precision) or recall + precision == 0:
        return 0.0 if np.isfinite(recall) and np.isfinite(precision) else NAN
    return 2 * recall * precision / (recall + precision)


def score_labelled(pred: np.ndarray, names: Sequence[str], labels: ClipLabels,
                   geom: dict[str, np.ndarray] | None = None,
                   faces: np.ndarray | None = None) -> dict:
    """Every measure above for one method's (N, C) output on one labelled clip."""
    pred = np.asarray(pred, float)
    if len(pred) != labels.frames:
        raise ValueError(f"{len(pred)} predicted frames for a {labels.frames}-frame clip")
    scored = labels.scored
    out: dict = {"frames": int(scored.sum())}
    aucs = {}
    for lab, controls in DETECTORS.items():
        pos = labels.mask(lab) & scored
        aucs[lab] = auc(_detector(pred, names, controls), pos, scored & ~labels.mask(lab))
    out["auc"] = aucs
    finite = [v for v in aucs.values() if np.isfinite(v)]
    out["mean_auc"] = float(np.mean(finite)) if finite else NAN
    blinks = {}
    for side, (lab, control) in BLINKS.items():
        if control not in names:
            continue
        x = np.where(scored, pred[:, list(names).index(control)], 0.0)
        ev_p = events(x, EVENT_THRESHOLD)
        ev_t = events(labels.mask(lab) & scored, 0.5)
        hits = len(match_events(ev_p, ev_t))
        rec = hits / len(ev_t) if ev_t else NAN
        prec = hits / len(ev_p) if ev_p else (NAN if not ev_t else 0.0)
        blinks[side] = {"true_events": len(ev_t), "pred_events": len(ev_p), "matched": hits,
                        "recall": rec, "precision": prec}
    if blinks:
        t = sum(b["true_events"] for b in blinks.values())
        p = sum(b["pred_events"] for b in blinks.values())
        m = sum(b["matched"] for b in blinks.values())
        rec = m / t if t else NAN
        prec = m / p if p else (NAN if not t else 0.0)
        blinks["both"] = {"true_events": t, "pred_events": p, "matched": m, "recall": rec,
                          "precision": prec, "f1": _f1(rec, prec)}
    out["blinks"] = blinks
    neutral = labels.mask("neutral") & scored
    if neutral.any():
        per = pred[neutral].mean(0)
        worst = int(np.argmax(per))
        out["leak"] = {"mean": float(per.mean()), "max": float(per[worst]),
                       "max_control": names[worst]}
    else:
        out["leak"] = {"mean": NAN, "max": NAN, "max_control": None}
    still = labels.mask("still") & scored
    runs = [(a, b) for a, b in events(still, 0.5) if b - a >= 3]
    out["still_jitter"] = (float(np.mean([np.mean([jitter(pred[a:b, j])
                                                   for j in range(pred.shape[1])])
                                          for a, b in runs])) if runs else NAN)
    if geom is not None:
        out["geometry_r"] = geometry_r(pred, names, geom, scored)
    if faces is not None:
        face = labels.mask("face")
        out["faces_found"] = float(np.asarray(faces)[face].mean()) if face.any() else NAN
        out["false_faces"] = int(np.asarray(faces)[~face].sum())
    return out


def labels_from_truth(truth: np.ndarray, names: Sequence[str], fps: float,
                      clip: str = "take") -> ClipLabels:
    """Labels a look at a synthetic take would give, from its ground truth: the same
    expression classes as real footage, at thresholds fixed before any method ran (closed
    at blink >= 0.5, an expression at >= 0.3, neutral when every control is < 0.05)."""
    truth = np.asarray(truth, float)
    col = {n: truth[:, j] for j, n in enumerate(names)}

    def spans(mask: np.ndarray) -> list[tuple[int, int]]:
        return events(mask.astype(float), 0.5)

    def strong(*cs: str) -> np.ndarray:
        return np.max([col[c] for c in cs], 0) >= 0.3
    neutral = truth.max(1) < 0.05
    s = {"face": [(0, len(truth))],
         "eye_closed_left": spans(col["eyeBlinkLeft"] >= 0.5),
         "eye_closed_right": spans(col["eyeBlinkRight"] >= 0.5),
         "mouth_open": spans(strong("jawOpen")),
         "smile": spans(strong("mouthSmileLeft", "mouthSmileRight")),
         "brows_raised": spans(strong("browInnerUp", "browOuterUpLeft", "browOuterUpRight")),
         "brows_lowered": spans(strong("browDownLeft", "browDownRight")),
         "neutral": spans(neutral), "still": spans(neutral)}
    # frames half-way into an expression are the ambiguous ones a labeller would skip
    blink_mid = ((col["eyeBlinkLeft"] > 0.2) & (col["eyeBlinkLeft"] < 0.5)) | (
        (col["eyeBlinkRight"] > 0.2) & (col["eyeBlinkRight"] < 0.5))
    s["uncertain"] = spans(blink_mid)
    return ClipLabels(clip, len(truth), fps, {k: list(v) for k, v in s.items()})
