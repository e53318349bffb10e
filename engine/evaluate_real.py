"""``lprr eval --labels``: every method over labelled real clips, through the live engine
code (as engine/evaluate.py does for synthetic takes), scored by engine/realbench.py.

Each method gets the same chance at a neutral, in one of two conditions:

- ``none``: the clip as it is. Methods that calibrate themselves (heuristic, f2f) take
  whatever faces they see first, as they would live.
- ``neutral``: the clip's labelled neutral frames are played first, once; the
  post-processing calibrates on them (``lprr run --calibrate``) and methods that take a
  calibration clip get the same frames as that clip. Scored frames are the clip's own.
- ``expressive``: the clip is played rotated to start at its first labelled expression
  (smile, open mouth, raised or lowered brows) and wraps round to its start, so a method
  that calibrates itself meets an expression first; the outputs are rotated back and
  scored against the clip's own labels. Clips with no labelled expression are skipped.
"""
from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from lprr.engine.evaluate import MethodSpec, Prediction, fmt, predict, save_curves
from lprr.engine.labels import ClipLabels
from lprr.engine.metrics import to_jsonable
from lprr.engine.realbench import DETECTORS, GEOMETRY_PAIRS, geometry, score_labelled

log = logging.getLogger(__name__)
CONDITIONS = ("none", "neutral", "expressive")
# labels that start the expressive condition (a closed eye alone is not an expression)
EXPRESSIONS = ("smile", "mouth_open", "brows_raised", "brows_lowered")
REFERENCE = "all zeros"


@dataclass
class ClipResult:
    labels: ClipLabels
    condition: str
    predictions: dict[str, Prediction] = field(default_factory=dict)
    scores: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return Path(self.labels.clip).stem


def clip_geometry(labels: ClipLabels, clip_dirs: Sequence[Path] = ()) -> dict[str, np.ndarray]:
    """The independent landmark measures of a clip (legacy FaceMesh, tracking mode)."""
    from lprr.engine.face.landmarks import track_landmarks

    return geometry(track_landmarks(labels.open(clip_dirs)))


def neutral_frames(labels: ClipLabels, clip_dirs: Sequence[Path] = ()) -> list[np.ndarray]:
    mask = labels.mask("neutral") & labels.scored
    return [f for i, f in enumerate(labels.open(clip_dirs)) if i < len(mask) and mask[i]]


def _with_clip_neutral(spec: MethodSpec, clip: Callable[[], Any]) -> MethodSpec:
    """As ``lprr run`` on a file: a landmark method without a calibration clip takes the
    most neutral frames of the whole clip (the same ones whichever frame the clip starts
    at)."""
    from lprr.engine.methods import method_options

    if "calibration" in spec.extra or "neutral_clip" not in method_options(spec.method):
        return spec
    return replace(spec, extra={**spec.extra, "neutral_clip": clip})


def expressive_start(labels: ClipLabels) -> int | None:
    """The first scored frame showing a labelled expression (None if there is none)."""
    m = np.zeros(labels.frames, bool)
    for lab in EXPRESSIONS:
        m |= labels.mask(lab)
    idx = np.flatnonzero(m & labels.scored)
    return int(idx[0]) if len(idx) else None


def _rotated(labels: ClipLabels, clip_dirs: Sequence[Path], start: int):
    """The clip as a capture source that starts at frame ``start`` and wraps round."""
    from lprr.engine.capture import GeneratorSource

    src = labels.open(clip_dirs)
    frames = []
    while (f := src.read()) is not None:
        frames.append(f)
    src.close()
    order = frames[start:] + frames[:start]
    return GeneratorSource(order, src.fps or labels.fps, name=Path(labels.clip).name,
                           length=len(order))


def _unrotate(p: Prediction, start: int) -> Prediction:
    """Outputs of a clip played from ``start`` back in the clip's own frame order."""
    return replace(p, weights=np.roll(p.weights, start, axis=0),
                   faces=np.roll(p.faces, start, axis=0))


def evaluate_clip(labels: ClipLabels, specs: Sequence[MethodSpec], condition: str = "none",
                  backend: str = "ort-cpu", smoothing: str = "default",
                  clip_dirs: Sequence[Path] = (), geom: dict | None = None,
                  keep_going: bool = True,
                  progress: Callable[[str], None] | None = None) -> ClipResult:
    if condition not in CONDITIONS:
        raise ValueError(f"condition must be one of {CONDITIONS}")
    res = ClipResult(labels, condition)
    neutral = neutral_frames(labels, clip_dirs) if condition == "neutral" else []
    if condition == "neutral" and not neutral:
        log.warning("%s: no labelled neutral frames; the neutral condition is skipped",
                    labels.clip)
        return res
    start = expressive_start(labels) if condition == "expressive" else None
    if condition == "expressive" and start is None:
        log.warning("%s: no labelled expression; the expressive condition is skipped",
                    labels.clip)
        return res
    geom = geom if geom is not None else clip_geometry(labels, clip_dirs)
    for spec in specs:
        if condition != "neutral":
            spec = _with_clip_neutral(spec, lambda: labels.open(clip_dirs))
        try:
            if start is None:
                p = predict(labels.open(clip_dirs), spec, backend, smoothing, neutral)
            else:
                p = _unrotate(predict(_rotated(labels, clip_dirs, start), spec, backend,
                                      smoothing), start)
        except Exception as e:
            if not keep_going:
                raise
            log.warning("%s on %s failed: %s", spec.name, labels.clip, e)
            res.errors[spec.name] = f"{type(e).__name__}: {e}"
            continue
        if len(p.weights) != labels.frames:
            log.warning("%s: %d frames read, the labels say %d; scoring the first %d",
                        labels.clip, len(p.weights), labels.frames,
                        min(len(p.weights), labels.frames))
        w = _fit(p.weights, labels.frames)
        f = _fit(p.faces[:, None].astype(float), labels.frames)[:, 0] > 0.5
        res.predictions[spec.name] = p
        res.scores[spec.name] = score_labelled(w, p.names, labels, geom, f)
        if progress:
            progress(f"{labels.clip} [{condition}] {spec.name}: mean AUC "
                     f"{fmt(res.scores[spec.name]['mean_auc'])} ({p.fps:.0f} frames/s)")
    names = next(iter(res.predictions.values())).names if res.predictions else None
    if names:
        zeros = np.zeros((labels.frames, len(names)))
        res.scores[REFERENCE] = score_labelled(zeros, names, labels, geom)
    return res


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` cut or padded (with its last row) to ``n`` rows."""
    if len(x) >= n:
        return x[:n]
    return np.concatenate([x, np.repeat(x[-1:], n - len(x), 0)])


# --- reports ------------------------------------------------------------------------------
def _cell_blinks(s: dict) -> str:
    b = s.get("blinks", {}).get("both")
    if not b or not b["true_events"]:
        return "–"
    return f"{b['matched']}/{b['true_events']} ({b['pred_events']} read)"


def clip_table(res: ClipResult) -> str:
    """Methods x measures on one clip, one condition."""
    head = (["method", "mean AUC"] + [f"AUC {k}" for k in DETECTORS] + ["blinks found"]
            + ["leak mean", "leak max"] + [g[0] for g in GEOMETRY_PAIRS]
            + ["still jitter", "faces"])
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s in res.scores.items():
        leak = s["leak"]
        worst = f"{fmt(leak['max'], 2)} {leak['max_control'] or ''}".strip()
        cells = ([name, fmt(s["mean_auc"])] + [fmt(s["auc"][k], 2) for k in DETECTORS]
                 + [_cell_blinks(s), fmt(leak["mean"], 3), worst]
                 + [fmt(s.get("geometry_r", {}).get(g[0]), 2) for g in GEOMETRY_PAIRS]
                 + [fmt(s["still_jitter"], 4),
                    "–" if s.get("faces_found") is None else f"{s['faces_found']:.0%}"])
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def summary(results: Sequence[ClipResult]) -> dict[str, dict[str, dict]]:
    """condition -> method -> means over clips (AUC, blink recall/precision, leak)."""
    out: dict[str, dict[str, dict]] = {}
    for cond in CONDITIONS:
        rs = [r for r in results if r.condition == cond and r.scores]
        methods = list(dict.fromkeys(m for r in rs for m in r.scores))
        table = {}
        for m in methods:
            ss = [r.scores[m] for r in rs if m in r.scores]

            def mean(vals):
                v = [x for x in vals if x is not None and np.isfinite(x)]
                return float(np.mean(v)) if v else math.nan

            blinks = [s["blinks"].get("both", {}) for s in ss]
            t = sum(b.get("true_events", 0) for b in blinks)
            matched = sum(b.get("matched", 0) for b in blinks)
            pred = sum(b.get("pred_events", 0) for b in blinks)
            table[m] = {"clips": len(ss), "mean_auc": mean(s["mean_auc"] for s in ss),
                        **{f"auc_{k}": mean(s["auc"][k] for s in ss) for k in DETECTORS},
                        "blink_recall": matched / t if t else math.nan,
                        "blink_precision": matched / pred if pred else (
                            0.0 if t else math.nan),
                        "leak": mean(s["leak"]["mean"] for s in ss),
                        "still_jitter": mean(s["still_jitter"] for s in ss)}
        if table:
            out[cond] = table
    return out


def summary_table(summ: dict[str, dict]) -> str:
    head = ["method", "clips", "mean AUC"] + [f"AUC {k}" for k in DETECTORS] + [
        "blink recall", "blink precision", "leak", "still jitter"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    ranked = sorted(summ.items(), key=lambda kv: -np.nan_to_num(kv[1]["mean_auc"], nan=-1))
    for m, s in ranked:
        rows.append("| " + " | ".join(
            [m, str(s["clips"]), fmt(s["mean_auc"])] + [fmt(s[f"auc_{k}"], 2) for k in DETECTORS]
            + [fmt(s["blink_recall"], 2), fmt(s["blink_precision"], 2), fmt(s["leak"], 3),
               fmt(s["still_jitter"], 4)]) + " |")
    return "\n".join(rows)


def clip_sections(results: Sequence[ClipResult], details: bool = False) -> list[str]:
    """Markdown lines: one table per clip and condition (folded in <details> if asked)."""
    lines = []
    for r in results:
        if not r.scores:
            continue
        head = (f"`{r.labels.clip}` ({int(r.labels.scored.sum())} scored frames), "
                f"condition `{r.condition}`")
        if details:
            head = "<details><summary>" + head.replace("`", "") + "</summary>"
        lines += [head + ("" if details else ":"), "", clip_table(r), ""]
        if details:
            lines += ["</details>", ""]
        lines += [f"- {name} failed: {err}" for name, err in r.errors.items()]
    return lines


def markdown(results: Sequence[ClipResult]) -> str:
    lines = []
    for cond, table in summary(results).items():
        lines += [f"**All clips, neutral condition `{cond}`** (means over clips; ranked by "
                  "mean AUC):", "", summary_table(table), ""]
    return "\n".join(lines + clip_sections(results))


def to_json(results: Sequence[ClipResult]) -> dict:
    return to_jsonable({
        "summary": summary(results),
        "clips": [{"clip": r.labels.clip, "labels": str(r.labels.path), "condition": r.condition,
                   "methods": r.scores, "errors": r.errors} for r in results]})


def plot_clip(res: ClipResult, path: Path) -> Path | None:
    """Each method's detector curves over the clip, labelled spans shaded (PNG)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    lab = res.labels
    t = np.arange(lab.frames) / lab.fps
    shown = [k for k in DETECTORS if lab.mask(k).any()] or ["eye_closed_left", "smile"]
    fig, axes = plt.subplots(len(shown), 1, figsize=(10, 1.6 * len(shown) + 0.7), sharex=True)
    for ax, k in zip(np.atleast_1d(axes), shown):
        m = lab.mask(k)
        ax.fill_between(t, 0, 1, where=m, color="0.85", step="mid", label=f"labelled {k}")
        ax.fill_between(t, 0, 1, where=lab.mask("uncertain"), color="#fff2b3", step="mid")
        ax.fill_between(t, 0, 1, where=~lab.mask("face"), color="#dddddd", alpha=0.5,
                        step="mid", hatch="//")
        for name, p in res.predictions.items():
            idx = [p.names.index(c) for c in DETECTORS[k] if c in p.names]
            ax.plot(t[:len(p.weights)], p.weights[:lab.frames, idx].mean(1), lw=1.2,
                    label=name)
        ax.set_ylabel(k, rotation=0, ha="right", va="center", fontsize=8)
        ax.set_ylim(-0.03, 1.03)
        ax.grid(alpha=0.3)
    return save_curves(fig, axes, len(res.predictions) + 1, f"{lab.clip} [{res.condition}]",
                       path, fontsize=10)


def evaluate_labelled(label_files: Sequence[Path], specs: Sequence[MethodSpec],
                      conditions: Sequence[str] = ("none", "neutral"), backend: str = "ort-cpu",
                      smoothing: str = "default", clip_dirs: Sequence[Path] = (),
                      progress: Callable[[str], None] | None = None) -> list[ClipResult]:
    results = []
    for lf in label_files:
        labels = ClipLabels.load(lf)
        geom = clip_geometry(labels, clip_dirs)
        for cond in conditions:
            results.append(evaluate_clip(labels, specs, cond, backend, smoothing, clip_dirs,
                                         geom, progress=progress))
    return results


def write(results: Sequence[ClipResult], out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "real_scores.json", out / "real_accuracy.md"]
    paths[0].write_text(json.dumps(to_json(results), indent=2, allow_nan=False))
    paths[1].write_text(markdown(results) + "\n")
    for r in results:
        if r.predictions:
            p = plot_clip(r, out / f"real_{r.name}_{r.condition}.png")
            if p is not None:
                paths.append(p)
    return paths


def kendall_tau(a: Sequence[str], b: Sequence[str]) -> float:
    """Rank agreement of two orderings of the same items: 1 same order, -1 reversed."""
    common = [x for x in a if x in b]
    if len(common) < 2:
        return math.nan
    pa = {x: i for i, x in enumerate(x for x in a if x in common)}
    pb = {x: i for i, x in enumerate(x for x in b if x in common)}
    pairs = [(x, y) for i, x in enumerate(common) for y in common[i + 1:]]
    s = sum(np.sign(pa[x] - pa[y]) * np.sign(pb[x] - pb[y]) for x, y in pairs)
    return float(s / len(pairs))


RANK_MEASURES: dict[str, tuple[str, bool]] = {  # summary key, higher is better
    "mean AUC": ("mean_auc", True),
    "blink F1": ("blink_f1", True),
    "leak on neutral": ("leak", False),
}


def rank_by(summ_cond: dict[str, dict], measure: str) -> list[str]:
    key, higher = RANK_MEASURES[measure]
    items = []
    for m, s in summ_cond.items():
        if m == REFERENCE:
            continue
        v = s.get(key, math.nan)
        if key == "blink_f1":
            r, p = s["blink_recall"], s["blink_precision"]
            v = 2 * r * p / (r + p) if np.isfinite(r) and np.isfinite(p) and r + p > 0 else 0.0
        items.append((m, v if higher else -v))
    return [m for m, _ in sorted(items, key=lambda kv: -np.nan_to_num(kv[1], nan=-9))]
