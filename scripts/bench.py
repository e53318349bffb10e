"""Speed in one run, as ratios: every method's whole pipeline against MediaPipe alone.

    python scripts/bench.py [--source CLIP] [--methods all] [--repeat 2] [--out out/bench.json]

A run is a method, or METHOD@LANDMARKER for a method on another front end (``all`` adds
mediapipe@tasks, MediaPipe's own FaceLandmarker graph, and mediapipe@facemesh, its
blendshape network on FaceMesh's landmarks).

On the same clip, in one process, one after another (best of ``--repeat`` runs each):

- MediaPipe alone, the thing a user would run instead: the legacy FaceMesh solution, and the
  FaceLandmarker (tasks) with and without its blendshapes, with one face looked for (the
  tasks API's default), every frame, decode excluded; and lprr's onnx landmarker alone;
- each method's whole pipeline (capture, landmarks, APEM, the method, post-processing, a
  null sink), every frame, unpaced: throughput and per-stage mean times;
- each method paced like a camera (the clip at its own fps, the newest frame only):
  latency from the frame entering the pipeline to the sink, p50 / p95 / p99, and frames
  dropped.

The table gives frames/s and the ratio to FaceLandmarker-with-blendshapes alone. The JSON
also records the machine, its load and the busiest other processes, because these machines
are shared and a number means little without them.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lprr.engine.paths import ASSETS, DEFAULT_MODELS  # noqa: E402

CLIP = ASSETS / "demo" / "clip" / "frames.avi"


def read_frames(path: Path, limit: int | None = None) -> list[np.ndarray]:
    from lprr.engine.capture import open_source

    frames = []
    for f in open_source(path):
        frames.append(f)
        if limit and len(frames) >= limit:
            break
    return frames


def landmarker_alone(kind: str, frames: list[np.ndarray], fps: float) -> float:
    """frames/s of one landmarker in tracking mode over ``frames`` (already decoded), with
    one face looked for: the tasks API's default, what a user running it alone gets."""
    from lprr.engine.face.landmarks import LandmarkerConfig, open_landmarker
    from lprr.engine.face.tasks import TaskLandmarker

    config = LandmarkerConfig(max_num_faces=1, static_image_mode=False)
    lm: Any
    if kind.startswith("tasks"):  # with or without its blendshape graph
        lm = TaskLandmarker(config, blendshapes=kind == "tasks+blendshapes")
    else:
        lm = open_landmarker(kind, config)
    try:
        for i, f in enumerate(frames[:5]):  # graph set-up stays out of the number
            lm.detect(f, i / fps)
        t0 = time.perf_counter()
        for i, f in enumerate(frames):
            lm.detect(f, (i + 5) / fps)
        return len(frames) / (time.perf_counter() - t0)
    finally:
        lm.close()


class _NullSink:
    name = "null"

    def send(self, *a, **k) -> None:
        pass

    def close(self) -> None:
        pass


def pipeline_run(run: str, source: Path, models: Path, backend: str, paced: bool) -> dict:
    from lprr.engine.session import Session, SessionSpec

    method, _, landmarker = run.partition("@")
    # paced: a camera-like run (at the file's fps, dropping when behind); else every frame
    session = Session(SessionSpec(source=str(source), models=models, method=method,
                                  backend=backend, realtime=paced, keep_frames=False,
                                  landmarker=landmarker or None)).open()
    session.sinks.set("null", _NullSink())
    rt, cap, times = session.method, session.capture, session.times
    wall = session.run_to_end()
    pipe = session.pipeline
    lat = times.stats_ms("latency")
    stages = {s: round(mean, 2) for s, mean, *_ in times.table() if s != "latency"}
    return {"frames": pipe.frames_out, "fps": pipe.frames_out / wall, "dropped": cap.dropped,
            "latency_ms": {k: round(lat[k], 2) for k in ("p50", "p95", "p99")},
            "stages_ms": stages, "backend": rt.backend_name}


def machine() -> dict:
    info = {"platform": platform.platform(), "cpus": os.cpu_count(),
            "load": os.getloadavg() if hasattr(os, "getloadavg") else None}
    try:
        top = subprocess.run(["ps", "-eo", "pcpu,comm", "--sort=-pcpu"], capture_output=True,
                             text=True, timeout=5, check=False).stdout.splitlines()[1:6]
        info["busiest"] = [line.strip() for line in top]
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def main(argv: list[str] | None = None) -> int:
    from lprr.engine.methods import METHODS

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", type=Path, default=CLIP)
    ap.add_argument("--methods", default="all", help="comma-separated, or all")
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--backend", default="ort-cpu")
    ap.add_argument("--repeat", type=int, default=2, help="runs per measurement (best kept)")
    ap.add_argument("--out", type=Path, default=Path("out/bench.json"))
    a = ap.parse_args(argv)
    methods = ([*METHODS, "mediapipe@tasks", "mediapipe@facemesh"] if a.methods == "all"
               else a.methods.split(","))
    frames = read_frames(a.source)
    from lprr.engine.capture import open_source

    fps = open_source(a.source).fps or 30.0
    res: dict = {"source": str(a.source), "frames": len(frames), "machine_before": machine(),
                 "alone": {}, "unpaced": {}, "paced": {}}
    for kind in ("facemesh", "onnx", "tasks", "tasks+blendshapes"):
        res["alone"][kind] = max(landmarker_alone(kind, frames, fps) for _ in range(a.repeat))
        print(f"{kind} alone: {res['alone'][kind]:.1f} frames/s", flush=True)
    for m in methods:
        runs = [pipeline_run(m, a.source, a.models, a.backend, paced=False)
                for _ in range(a.repeat)]
        res["unpaced"][m] = max(runs, key=lambda r: r["fps"])
        res["paced"][m] = pipeline_run(m, a.source, a.models, a.backend, paced=True)
        print(f"{m}: {res['unpaced'][m]['fps']:.1f} frames/s unpaced; paced latency "
              f"p50/p95/p99 {res['paced'][m]['latency_ms']}", flush=True)
    res["machine_after"] = machine()
    ref = res["alone"]["tasks+blendshapes"]
    print(f"\n{a.source.name}, {len(frames)} frames; ratio = frames/s over MediaPipe's "
          f"FaceLandmarker with blendshapes alone ({ref:.1f} frames/s)\n")
    print("| run | frames/s | ratio | latency p50 / p95 / p99 ms (paced) | dropped (paced) |")
    print("|---|---|---|---|---|")
    for kind, v in res["alone"].items():
        print(f"| {kind} alone | {v:.1f} | {v / ref:.2f} | – | – |")
    for m in methods:
        u, p = res["unpaced"][m], res["paced"][m]
        lat = " / ".join(f"{p['latency_ms'][k]:.1f}" for k in ("p50", "p95", "p99"))
        print(f"| {m} pipeline | {u['fps']:.1f} | {u['fps'] / ref:.2f} | {lat} | "
              f"{p['dropped']} |")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(res, indent=1, default=float))
    print(f"\nwrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
