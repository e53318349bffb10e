"""Tune the landmark heuristic's full-scale and dead-zone constants on labelled takes.

    python scripts/tune_heuristic.py --rom ROM_TAKE --natural TAKE [TAKE ...] [--write]

Only for the heuristic's *shared* constants (engine/heuristic.py DEFAULT_SCALE and
DEFAULT_DEAD), tuned once on the training identity (grace_hopper): a range-of-motion take
(each control alone, with the neutral first, which calibrates) and natural takes. Every
performer then calibrates only their own neutral. Never tune on a test take.

Method: MediaPipe landmarks in tracking mode (as live); per constant, a small grid of
multipliers of the full scale and of dead zones around the current values, keeping the one
with the least squared error over all controls and frames (two passes of coordinate
descent). The shipped constants came from one run on a 1170-frame ROM take (seed 21) and
data/perf_gh (seed 2), starting from the ROM slopes.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.face.landmarks import track_landmarks
from lprr.engine.heuristic import (
    HeuristicConfig,
    Neutral,
    measures,
    weights_from_measures,
)
from lprr.engine.take import Take

MULTIPLIERS = (0.5, 0.7, 0.85, 1.0, 1.2, 1.4, 2.0, 3.0)
DEADS = (0.05, 0.1, 0.2, 0.3, 0.45, 0.6)


def _landmarks(take: Path, cache: Path | None) -> list[np.ndarray | None]:
    path = (cache / f"{take.name}_landmarks.npy") if cache else None
    if path is not None and path.is_file():
        arr = np.load(path)
        return [None if not np.isfinite(a).all() else a for a in arr]
    lms = track_landmarks(Take(take).frames())
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.stack([np.full((478, 3), np.nan, np.float32) if a is None else a
                                for a in lms]))
    return lms


def _predict(m: dict[str, np.ndarray], n0: dict[str, float], cfg: HeuristicConfig
             ) -> np.ndarray:
    w = weights_from_measures(m, n0, cfg)
    return np.stack([np.asarray(w[c], np.float64) for c in CONTROL_NAMES], 1)


def tune(rom: Path, natural: list[Path], cache: Path | None = None, passes: int = 2,
         calib_frames: int = 30) -> tuple[HeuristicConfig, dict]:
    rom_lm = _landmarks(rom, cache)
    neutral = Neutral.from_landmarks([a for a in rom_lm[:calib_frames] if a is not None])
    frames, truth = [], []
    for take in [rom, *natural]:
        lms = rom_lm if take == rom else _landmarks(take, cache)
        w = Take(take).weights_for(CONTROL_NAMES)
        for i, lm in enumerate(lms[: len(w)]):
            if lm is not None:
                frames.append(measures(neutral.frame.local(lm)))
                truth.append(w[i])
    m = {k: np.array([f[k] for f in frames]) for k in frames[0]}
    true = np.stack(truth)
    cfg = HeuristicConfig()

    def loss(c: HeuristicConfig) -> float:
        return float(((_predict(m, neutral.measures, c) - true) ** 2).mean())

    best = loss(cfg)
    start = best
    for _ in range(passes):
        for key in list(cfg.scale):
            s0 = cfg.scale[key]
            keep = (s0, cfg.dead[key])
            for mult in MULTIPLIERS:
                for dead in DEADS:
                    cfg.scale[key], cfg.dead[key] = s0 * mult, dead
                    v = loss(cfg)
                    if v < best - 1e-9:
                        best, keep = v, (s0 * mult, dead)
            cfg.scale[key], cfg.dead[key] = keep
    pred = _predict(m, neutral.measures, cfg)
    info = {"frames": len(true), "mse_before": start, "mse_after": best,
            "mae": float(np.abs(pred - true).mean()),
            "mae_zero": float(np.abs(true).mean())}
    return cfg, info


def _items(d: dict[str, float], digits: int) -> str:
    return ", ".join(f'"{k}": {round(v, digits)!r}' for k, v in d.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rom", type=Path, required=True, help="grace_hopper ROM take (labelled)")
    ap.add_argument("--natural", type=Path, nargs="*", default=[],
                    help="grace_hopper natural takes (labelled)")
    ap.add_argument("--cache", type=Path, default=None, help="folder for detected landmarks")
    args = ap.parse_args(argv)
    cfg, info = tune(args.rom, args.natural, args.cache)
    print(f"{info['frames']} frames: MSE {info['mse_before']:.4f} -> {info['mse_after']:.4f}, "
          f"MAE {info['mae']:.4f} (all-zero MAE {info['mae_zero']:.4f})")
    print("paste into engine/heuristic.py:")
    print(f"DEFAULT_SCALE: dict[str, float] = {{{_items(cfg.scale, 4)}}}")
    print(f"DEFAULT_DEAD: dict[str, float] = {{{_items(cfg.dead, 2)}}}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
