"""Run methods over a take through the live engine code and score them on the take's
ground truth (used only for scoring, never shown to a method).

Every method goes through ``lprr.engine.methods.create_method`` and the threaded pipeline
(capture in no-drop mode, MediaPipe in tracking mode, APEM, the method, the same
post-processing as ``lprr run``), so the numbers are those of live use.
"""
from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from lprr.engine.controls import CONTROL_NAMES, REGIONS
from lprr.engine.errors import UserError
from lprr.engine.metrics import KEY_CONTROLS, score, to_jsonable
from lprr.engine.paths import DEFAULT_MODELS
from lprr.engine.session import Session, SessionSpec
from lprr.engine.take import Take

log = logging.getLogger(__name__)
REFERENCE = "neutral (all zeros)"


@dataclass
class MethodSpec:
    """One row of an evaluation: a registered method, its models and constructor options."""

    method: str
    models: Path = DEFAULT_MODELS
    label: str | None = None  # the row's name; default: the method's
    extra: dict = field(default_factory=dict)  # e.g. {"calibration": PATH}
    landmarker: str | None = None  # the front end's; None: what the method reads

    @property
    def name(self) -> str:
        return self.label or self.method


@dataclass
class Prediction:
    label: str
    method: str
    names: list[str]
    weights: np.ndarray  # (N, C) after post-processing, one row per frame
    faces: np.ndarray  # (N,) bool
    setup_s: float
    run_s: float
    describe: str = ""

    @property
    def fps(self) -> float:
        return len(self.weights) / self.run_s if self.run_s > 0 else math.nan


def run_method(take: Take, spec: MethodSpec, backend: str = "ort-cpu",
               smoothing: str = "default") -> Prediction:
    """One method over every frame of ``take`` (no drops), through the live pipeline."""
    return predict(take.frames_path, spec, backend, smoothing)


def predict(source, spec: MethodSpec, backend: str = "ort-cpu", smoothing: str = "default",
            neutral: Sequence[np.ndarray] = (), min_face_px: float | None = None
            ) -> Prediction:
    """One method over every frame of ``source`` (a path or a capture source; no drops),
    through the live pipeline.

    ``neutral``: frames of a neutral face played first, the method's one chance at a
    neutral. The post-processing calibrates on them (as ``lprr run --calibrate`` does), and
    a method that takes a ``calibration`` clip gets them as that clip too. Their results
    are not returned."""
    t0 = time.perf_counter()
    extra = dict(spec.extra)
    results: list = []
    with contextlib.ExitStack() as stack:
        if len(neutral) and _takes_calibration(spec.method):
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lprr-n-")))
            for i, f in enumerate(neutral):
                cv2.imwrite(str(folder / f"{i:04d}.png"), f)
            extra["calibration"] = folder
        session = Session(SessionSpec(
            source=_with_prefix(source, neutral), models=spec.models, method=spec.method,
            backend=backend, options=extra, landmarker=spec.landmarker, drop=False,
            paced=False, smoothing=smoothing, calibrate_frames=len(neutral) or None,
            min_face_px=min_face_px, keep_frames=False), on_result=results.append)
        session.open()  # the calibration clip is read here, while the folder exists
    assert session.method is not None
    rt = session.method
    setup = time.perf_counter() - t0
    describe = rt.describe()
    wall = session.run_to_end()
    results.sort(key=lambda r: r.index)
    results = results[len(neutral):]
    if not results:
        raise UserError(f"{source}: no frames were read")
    return Prediction(spec.name, spec.method, list(rt.controls),
                      np.stack([r.weights for r in results]).astype(np.float32),
                      np.array([r.face for r in results]), setup, wall, describe)


def _takes_calibration(method: str) -> bool:
    from lprr.engine.methods import method_options

    return "calibration" in method_options(method)


def _with_prefix(source, prefix: Sequence[np.ndarray]):
    """``source`` with ``prefix`` frames played before it (a capture source either way)."""
    from lprr.engine.capture import GeneratorSource
    from lprr.engine.capture import open_source as open_frames

    if not len(prefix):
        return source
    src = open_frames(source)
    return GeneratorSource(lambda: itertools.chain(prefix, iter(src)), src.fps or 30.0,
                           name=src.name, length=len(src) + len(prefix) if len(src) else 0)


def truth_for(take: Take, names: Sequence[str], frames: int) -> np.ndarray:
    if take.weights is None:
        raise UserError(f"{take.path}: no weights.csv: evaluation needs a take with ground "
                        "truth (lprr synth performer ... makes one)")
    true = take.weights_for(names)
    if len(true) != frames:
        log.warning("%s: %d frames of weights, %d frames predicted; scoring the first %d",
                    take.path, len(true), frames, min(len(true), frames))
    return true[:frames]


def scored_controls(take: Take) -> list[str]:
    """The controls a take is scored on: those it labels, in CONTROL_NAMES order. Every
    method is scored on all of them; one a method does not produce counts as 0 (a take
    of the 38-shape rig is not charged for tongueOut, a 38-control model on a 52-shape
    take is)."""
    labelled = set(take.controls or ())
    return [n for n in CONTROL_NAMES if n in labelled]


def score_prediction(take: Take, p: Prediction) -> dict:
    names = scored_controls(take)
    true = truth_for(take, names, len(p.weights))
    col = {n: i for i, n in enumerate(p.names)}
    pred = np.zeros((len(true), len(names)), np.float32)
    for j, n in enumerate(names):
        if n in col:
            pred[:, j] = p.weights[: len(true), col[n]]
    s = score(pred, true, names)
    s.update(method=p.method, faces_found=int(p.faces.sum()), setup_s=round(p.setup_s, 2),
             run_s=round(p.run_s, 2), fps=round(p.fps, 1), describe=p.describe)
    return s


def evaluate_take(take_dir: Path, models: Path, backend: str = "ort-cpu",
                  method: str = "lprr", **extra) -> dict:
    """One method's scores on one take (``extra``: constructor options, e.g. calibration)."""
    take = Take(take_dir)
    return score_prediction(take, run_method(take, MethodSpec(method, Path(models),
                                                              extra=extra), backend))


@dataclass
class EvalReport:
    take: Path
    frames: int
    fps: float
    truth: np.ndarray  # (N, len(CONTROL_NAMES))
    predictions: dict[str, Prediction] = field(default_factory=dict)
    scores: dict[str, dict] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return to_jsonable({"take": str(self.take), "frames": self.frames, "fps": self.fps,
                            "methods": self.scores, "errors": self.errors})


def evaluate_methods(take_dir: str | Path, specs: Sequence[MethodSpec],
                     backend: str = "ort-cpu", smoothing: str = "default",
                     keep_going: bool = False, reference: bool = True,
                     progress: Callable[[str], None] | None = None) -> EvalReport:
    """Every method in ``specs`` over the same take, scored the same way.

    ``keep_going``: a method that fails is reported in ``errors`` instead of stopping the
    rest. ``reference``: add the all-zeros row (the neutral face held still), the score
    of doing nothing."""
    take = Take(take_dir)
    truth = truth_for(take, CONTROL_NAMES, len(take))
    rep = EvalReport(Path(take_dir), len(truth), take.fps, truth)
    for spec in specs:
        if progress:
            progress(f"{spec.name}: running on {len(truth)} frames of {take.path}")
        try:
            p = run_method(take, spec, backend, smoothing)
        except Exception as e:
            if not keep_going:
                raise
            log.warning("%s failed: %s", spec.name, e)
            rep.errors[spec.name] = f"{type(e).__name__}: {e}"
            continue
        rep.predictions[spec.name] = p
        rep.scores[spec.name] = score_prediction(take, p)
        if progress:
            progress(f"{spec.name}: {p.run_s:.1f} s ({p.fps:.0f} frames/s), overall MAE "
                     f"{rep.scores[spec.name]['overall']['mae']:.4f}")
    if reference:
        names = scored_controls(take)
        true = truth_for(take, names, len(take))
        s = score(np.zeros_like(true), true, names)
        s.update(method="reference", faces_found=None, describe="every weight 0, every frame")
        rep.scores[REFERENCE] = s
    return rep


# --- reports ------------------------------------------------------------------------------
def fmt(v, digits: int = 3) -> str:
    """A number for a table; NaN is written as NaN (undefined, e.g. r of a constant)."""
    if v is None:
        return "–"
    if isinstance(v, float) and math.isnan(v):
        return "NaN"
    if isinstance(v, int):
        return str(v)
    return f"{v:.{digits}f}"


def summary_table(scores: dict[str, dict]) -> str:
    """Methods x metrics: overall and per-region MAE / r, jitter ratio, blink events."""
    head = ["method", "MAE", "r", "jitter ratio"]
    for region in REGIONS:
        head += [f"{region} MAE", f"{region} r"]
    head += ["blink recall", "blink precision", "faces"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s in scores.items():
        o = s["overall"]
        cells = [name, fmt(o["mae"]), fmt(o["r"]), fmt(o["jitter_ratio"], 2)]
        for region in REGIONS:
            r = s["regions"].get(region)
            cells += [fmt(r["mae"]), fmt(r["r"])] if r else ["–", "–"]
        b = s.get("blinks", {}).get("both")
        cells += ([fmt(b["recall"], 2), fmt(b["precision"], 2)] if b else ["–", "–"])
        faces = s.get("faces_found")
        cells.append("–" if faces is None else f"{faces}/{s['frames']}")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def key_table(scores: dict[str, dict], controls: Sequence[str] = KEY_CONTROLS) -> str:
    """Key controls x methods: MAE / r / jitter ratio."""
    rows = ["| control | " + " | ".join(scores) + " |", "|---|" + "---|" * len(scores)]
    for c in controls:
        cells = []
        for s in scores.values():
            v = s["controls"].get(c)
            cells.append("–" if v is None else
                         f"{fmt(v['mae'])} / {fmt(v['r'], 2)} / {fmt(v['jitter_ratio'], 2)}")
        rows.append(f"| {c} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def markdown_report(rep: EvalReport) -> str:
    lines = [f"Take `{rep.take}`: {rep.frames} frames at {rep.fps:g} fps.", "",
             summary_table(rep.scores), "",
             "Key controls (MAE / Pearson r / jitter ratio):", "",
             key_table(rep.scores), ""]
    if rep.predictions:
        lines += ["| method | frames/s | set-up s | what ran |", "|---|---|---|---|"]
        lines += [f"| {p.label} | {p.fps:.1f} | {p.setup_s:.1f} | {p.describe} |"
                  for p in rep.predictions.values()]
        lines.append("")
    for name, err in rep.errors.items():
        lines.append(f"- {name} failed: {err}")
    return "\n".join(lines)


def plot_curves(rep: EvalReport, path: Path, controls: Sequence[str] = KEY_CONTROLS,
                max_frames: int = 900, title: str | None = None) -> Path | None:
    """Predicted against true curves of the key controls (PNG); None without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no plot (pip install matplotlib)")
        return None
    n = min(rep.frames, max_frames)
    t = np.arange(n) / rep.fps
    fig, axes = plt.subplots(len(controls), 1, figsize=(11, 1.55 * len(controls) + 0.6),
                             sharex=True)
    for ax, c in zip(np.atleast_1d(axes), controls):
        ax.plot(t, rep.truth[:n, CONTROL_NAMES.index(c)], color="black", lw=2.2,
                label="ground truth")
        for label, p in rep.predictions.items():
            if c in p.names:
                ax.plot(t, p.weights[:n, p.names.index(c)], lw=1.1, label=label)
        ax.set_ylabel(c, rotation=0, ha="right", va="center", fontsize=9)
        ax.set_ylim(-0.05, 1.05)
        ax.grid(alpha=0.3)
    return save_curves(fig, axes, len(rep.predictions) + 1,
                       title or f"{rep.take.name}: predicted vs true", path)


def save_curves(fig, axes, legend_cols: int, title: str, path: Path, fontsize: int = 11) -> Path:
    """Finish a stack of curve plots (legend on top, seconds below, a title) as a PNG."""
    import matplotlib.pyplot as plt

    axes = np.atleast_1d(axes)
    axes[0].legend(loc="upper right", fontsize=fontsize - 3, ncol=legend_cols)
    axes[-1].set_xlabel("seconds")
    fig.suptitle(title, fontsize=fontsize)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


def write_report(rep: EvalReport, out: Path, plot_name: str = "curves.png",
                 title: str | None = None) -> dict[str, Path]:
    """scores.json, accuracy.md, curves.png and predictions/<method>.csv under ``out``."""
    from lprr.engine.take import write_weights_csv

    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / "scores.json", "markdown": out / "accuracy.md"}
    paths["json"].write_text(json.dumps(rep.to_json(), indent=2, allow_nan=False))
    paths["markdown"].write_text(markdown_report(rep) + "\n")
    for label, p in rep.predictions.items():
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in label)
        (out / "predictions").mkdir(exist_ok=True)
        write_weights_csv(out / "predictions" / f"{safe}.csv", p.names, p.weights, rep.fps)
    plot = plot_curves(rep, out / plot_name, title=title)
    if plot is not None:
        paths["plot"] = plot
    return paths
