"""Landmark cost of large frames (issue 16, item 4): 4K against 1080p, same clip.

A real clip is scaled to 1920x1080 and to 3840x2160; each landmarker reads every frame of
both in video mode, in turns, once with the default ``max_side`` (large frames scaled down
for it) and once with it off. Prints per-frame milliseconds (median and mean) and the 4K/1080p ratios, and
writes JSON with what else was running (the load average).

    python scripts/bench_large_frames.py data/realfaces/WolfgangLanger_Pexels.mp4
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import cv2
import numpy as np

from lprr.engine.capture import open_source
from lprr.engine.face.landmarks import FaceLandmarker, LandmarkerConfig

SIZES = {"1080p": (1920, 1080), "4K": (3840, 2160)}


def _frames(path: Path, limit: int) -> list[np.ndarray]:
    out = []
    for f in open_source(path):
        out.append(f)
        if len(out) >= limit:
            break
    return out


def _landmarker(kind: str, max_side: int):
    cfg = LandmarkerConfig(max_side=max_side)
    if kind == "tasks":
        from lprr.engine.face.tasks import TaskLandmarker

        return TaskLandmarker(cfg)
    return FaceLandmarker(cfg)


def _paired_ms(kind: str, max_side: int, clips: dict[str, list[np.ndarray]],
               fps: float) -> dict[str, dict]:
    """Per-frame ms of one landmarker per clip, read in turns (frame i of each clip, the
    order alternating), so a change in the machine's load hits both alike."""
    lms = {name: _landmarker(kind, max_side) for name in clips}
    times: dict[str, list[float]] = {name: [] for name in clips}
    found = dict.fromkeys(clips, 0)
    try:
        n = min(len(c) for c in clips.values())
        for i in range(n):
            order = list(clips) if i % 2 == 0 else list(clips)[::-1]
            for name in order:
                t0 = time.perf_counter()
                found[name] += lms[name].detect(clips[name][i], i / fps) is not None
                times[name].append((time.perf_counter() - t0) * 1000.0)
    finally:
        for lm in lms.values():
            lm.close()
    out = {}
    for name, ts in times.items():
        t = np.array(ts[3:])  # the first frames include graph start-up
        out[name] = {"median_ms": round(float(np.median(t)), 2),
                     "mean_ms": round(float(t.mean()), 2), "faces": found[name]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clip", type=Path)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--landmarker", default="facemesh,tasks")
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    base = _frames(args.clip, args.frames)
    fps = 25.0
    out: dict = {"clip": str(args.clip), "frames": len(base),
                 "load_before": os.getloadavg(), "rows": []}
    default_side = LandmarkerConfig().max_side
    clips = {name: [cv2.resize(f, (w, h), interpolation=cv2.INTER_CUBIC) for f in base]
             for name, (w, h) in SIZES.items()}
    for kind in args.landmarker.split(","):
        for side in (default_side, 0):
            res = _paired_ms(kind, side, clips, fps)
            r = {"landmarker": kind, "max_side": side, **res,
                 "ratio_4k_1080p": round(res["4K"]["median_ms"] / res["1080p"]["median_ms"], 2)}
            out["rows"].append(r)
            print(json.dumps(r), flush=True)
    out["load_after"] = os.getloadavg()
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
