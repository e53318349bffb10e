"""How small can a face be before the readings stop following it? (issue 17, item 2)

Every frame of a real clip is scaled down (the whole frame, as a far-away or low-resolution
camera would see it) and read by a method; the readings are compared with the same method's
readings at full size, frame by frame. The face size is the distance between the eye
centres (``lprr.engine.face.landmarks.face_size``) at full size times the scale.

    python scripts/small_faces.py data/realfaces/WolfgangLanger_Pexels.mp4 --method lprr

Prints one row per scale: median face size (px), share of frames read as a face, mean
absolute difference of all weights from full size, and Pearson r of jawOpen and of the mean
eyeBlink against full size.
"""
from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import cv2
import numpy as np

from lprr.engine.capture import GeneratorSource, open_source
from lprr.engine.evaluate import MethodSpec, predict
from lprr.engine.face.landmarks import FaceLandmarker, face_size

SCALES = (1.0, 0.5, 0.35, 0.25, 0.18, 0.13, 0.1, 0.07)


def _frames(path: Path, limit: int) -> tuple[list[np.ndarray], float]:
    src = open_source(path)
    fps = src.fps or 30.0
    frames = []
    for f in src:
        frames.append(f)
        if len(frames) >= limit:
            break
    return frames, fps


def _r(a: np.ndarray, b: np.ndarray) -> float:
    if a.std() < 1e-6 or b.std() < 1e-6:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("clip", type=Path)
    ap.add_argument("--method", default="lprr")
    ap.add_argument("--frames", type=int, default=240)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    logging.basicConfig(level=logging.ERROR)
    frames, fps = _frames(args.clip, args.frames)
    with FaceLandmarker() as fl:
        sizes = [face_size(p) for f in frames if (p := fl.detect(f)) is not None]
    full_px = float(np.median(sizes))
    spec = MethodSpec(args.method)
    ref = None
    rows = []
    for s in SCALES:
        small = [cv2.resize(f, None, fx=s, fy=s, interpolation=cv2.INTER_AREA) for f in frames]
        pred = predict(GeneratorSource(small, fps, length=len(small)), spec,
                       smoothing="off", min_face_px=0.0)
        if ref is None:
            ref = pred
        both = ref.faces & pred.faces
        names = pred.names
        w, w0 = pred.weights[both], ref.weights[both]
        jaw = names.index("jawOpen")
        blink = [names.index("eyeBlinkLeft"), names.index("eyeBlinkRight")]
        row = {"scale": s, "face_px": round(full_px * s, 1),
               "face_rate": round(float(pred.faces.mean()), 3),
               "mae": round(float(np.abs(w - w0).mean()), 4) if both.any() else None,
               "r_jaw": round(_r(w[:, jaw], w0[:, jaw]), 3) if both.sum() > 2 else None,
               "r_blink": round(_r(w[:, blink].mean(1), w0[:, blink].mean(1)), 3)
               if both.sum() > 2 else None}
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        args.json.write_text(json.dumps({"clip": str(args.clip), "method": args.method,
                                         "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
