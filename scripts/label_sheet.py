"""Contact sheets for labelling real footage by eye, and for checking labels once made.

    python scripts/label_sheet.py CLIP --out sheet.png [--labels LABELS.toml]
        [--region face|eyes|mouth] [--start 0] [--end N] [--step 1] [--cols 12]
    python scripts/label_sheet.py LABELS.toml --out sheet.png [--clips DIR]  # its own clip

Every frame (or every ``--step``-th) becomes a tile: the face, both eyes or the mouth,
cut around MediaPipe FaceMesh's landmarks and scaled up, with the frame number. Frames
without a face are grey tiles marked "no face". With ``--labels`` each tile also shows the
labels that cover it (a coloured bar per label: closed eyes, open mouth, smile, brows,
neutral, uncertain), so a label file can be checked against the pictures it describes.
Eyes are shown as the viewer sees them: the subject's right eye on the left.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lprr.engine.capture import open_source
from lprr.engine.face.landmarks import FaceLandmarker
from lprr.engine.face.topology import (
    EYE_INNER_L,
    EYE_INNER_R,
    EYE_OUTER_L,
    EYE_OUTER_R,
    MOUTH_CORNER_L,
    MOUTH_CORNER_R,
)
from lprr.engine.labels import LABEL_COLOURS, ClipLabels

TILE = 150
TEXT_H = 16


def _crop(img: np.ndarray, centre: np.ndarray, half_w: float, half_h: float) -> np.ndarray:
    """An axis-aligned crop around ``centre`` (border-padded), resized to its tile."""
    x0, y0 = int(centre[0] - half_w), int(centre[1] - half_h)
    x1, y1 = int(centre[0] + half_w), int(centre[1] + half_h)
    pad = int(max(half_w, half_h)) + 2
    big = cv2.copyMakeBorder(img, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=(40, 40, 40))
    return big[y0 + pad:y1 + pad, x0 + pad:x1 + pad]


def region_tile(img: np.ndarray, lm: np.ndarray | None, region: str) -> np.ndarray:
    if lm is None:
        h = {"face": TILE, "mouth": TILE * 2 // 3, "eyes": TILE * 3 // 8}[region]
        tile = np.full((h, TILE, 3), 90, np.uint8)
        cv2.putText(tile, "no face", (30, h // 2 + 5), cv2.FONT_HERSHEY_SIMPLEX, 0.55,
                    (220, 220, 220), 1, cv2.LINE_AA)
        return tile
    pts = lm[:, :2]
    iod = float(np.linalg.norm(pts[[EYE_OUTER_L, EYE_INNER_L]].mean(0)
                               - pts[[EYE_OUTER_R, EYE_INNER_R]].mean(0)))
    if region == "face":
        c = pts.min(0) * 0.5 + pts.max(0) * 0.5
        return cv2.resize(_crop(img, c, iod * 1.3, iod * 1.3), (TILE, TILE))
    if region == "mouth":
        c = pts[[MOUTH_CORNER_L, MOUTH_CORNER_R]].mean(0)
        return cv2.resize(_crop(img, c, iod * 0.75, iod * 0.5), (TILE, TILE * 2 // 3))
    # eyes: viewer's left is the subject's right eye
    halves = [cv2.resize(_crop(img, pts[[o, i]].mean(0), iod * 0.4, iod * 0.3),
                         (TILE // 2, TILE * 3 // 8))
              for o, i in ((EYE_OUTER_R, EYE_INNER_R), (EYE_OUTER_L, EYE_INNER_L))]
    return np.hstack(halves)


def sheet(clip: str | Path | None, region: str = "face", labels: ClipLabels | None = None,
          start: int = 0, end: int | None = None, step: int = 1, cols: int = 12,
          clip_dirs: tuple[Path, ...] = ()) -> np.ndarray:
    tiles = []
    if clip is not None:
        src = open_source(Path(clip))
    elif labels is not None:
        src = labels.open(clip_dirs)
    else:
        raise SystemExit("give a clip or a label file")
    with FaceLandmarker(static=False) as fl:
        for i, frame in enumerate(src):
            lm = fl.detect(frame)  # every frame, so tracking behaves as on video
            if i < start or (end is not None and i >= end) or (i - start) % step:
                continue
            t = region_tile(frame, lm, region)
            bar = np.full((TEXT_H, t.shape[1], 3), 255, np.uint8)
            cv2.putText(bar, str(i), (3, TEXT_H - 4), cv2.FONT_HERSHEY_SIMPLEX, 0.45,
                        (0, 0, 0), 1, cv2.LINE_AA)
            if labels is not None:
                x = 40
                for name in labels.at(i):
                    cv2.rectangle(bar, (x, 3), (x + 9, TEXT_H - 3),
                                  LABEL_COLOURS.get(name, (0, 0, 0)), -1)
                    x += 12
            tiles.append(np.vstack([bar, t]))
    if not tiles:
        raise SystemExit(f"{clip}: no frames in range")
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // cols)
    out = np.full((rows * (h + 2), cols * (w + 2), 3), 255, np.uint8)
    for k, t in enumerate(tiles):
        r, c = divmod(k, cols)
        out[r * (h + 2):r * (h + 2) + h, c * (w + 2):c * (w + 2) + w] = t
    if labels is not None:  # a legend strip
        legend = np.full((22, out.shape[1], 3), 255, np.uint8)
        x = 5
        for name, col in LABEL_COLOURS.items():
            cv2.rectangle(legend, (x, 5), (x + 10, 16), col, -1)
            cv2.putText(legend, name, (x + 13, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0),
                        1, cv2.LINE_AA)
            x += 14 + 8 * len(name)
        out = np.vstack([legend, out])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("clip", type=Path, help="a video, or a label file (its clip or photos)")
    ap.add_argument("--clips", type=Path, action="append", default=[],
                    help="folder holding a label file's clip")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--labels", type=Path, default=None)
    ap.add_argument("--region", choices=["face", "eyes", "mouth"], default="face")
    ap.add_argument("--start", type=int, default=0)
    ap.add_argument("--end", type=int, default=None)
    ap.add_argument("--step", type=int, default=1)
    ap.add_argument("--cols", type=int, default=12)
    a = ap.parse_args(argv)
    clip = a.clip
    if a.clip.suffix == ".toml":
        a.labels, clip = a.clip, None
    labels = ClipLabels.load(a.labels) if a.labels else None
    img = sheet(clip, a.region, labels, a.start, a.end, a.step, a.cols, tuple(a.clips))
    a.out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(a.out), img)
    print(f"wrote {a.out} ({img.shape[1]}x{img.shape[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
