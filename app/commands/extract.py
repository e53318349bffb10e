"""``lprr extract SOURCE --out DIR``: landmarks and the three patches for every frame."""
from __future__ import annotations

import argparse
from pathlib import Path

import cv2
from tqdm import tqdm

from lprr.engine.face.apem import PATCH_NAMES


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("extract", help="extract aligned lip/eye patches from images or video",
                       description="Find the face in every frame and write the aligned "
                       "128x128 lip, eye_l and eye_r patches (npy arrays) and landmarks.")
    p.add_argument("source", help="an image, a folder of images, or a video file")
    p.add_argument("--out", required=True, type=Path, help="output folder")
    p.add_argument("--png", action="store_true", help="also write every patch as a PNG")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lprr.engine.capture import open_source
    from lprr.engine.extract import extract_source, save_extracted

    src = open_source(args.source)
    bar = lambda it: tqdm(it, total=len(src) or None, unit="frame", desc="extract")
    ex = extract_source(src, progress=bar)
    out = save_extracted(ex, args.out)
    if args.png:
        for name in PATCH_NAMES:
            d = out / "png" / name
            d.mkdir(parents=True, exist_ok=True)
            for i, img in zip(ex.index, ex.patches[name]):
                cv2.imwrite(str(d / f"{i:06d}.png"), img)
    s = ex.summary
    print(f"{s.frames} frames, {s.faces} with a face, {s.skipped} skipped -> {out}")
    return 0 if s.faces else 1
