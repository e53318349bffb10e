"""What the shipped RMs draw for a held-out performer take: per patch, the performer patch,
the landmark sketch the RM reads (in the character's geometry), and the reenacted character
patch, for a rest frame and the take's strongest blink, open mouth and smile.

    python scripts/reenact_grid.py [--take data/perf_gh_heldout] [--models exported/demo]

Frames are picked by the take's ground-truth weights (a figure, not a score); each column
is labelled with the ground truth and lprr's unsmoothed reading of that control. Writes
docs/reenact_<patch>.png.
"""
from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lprr.engine.face.apem import PATCH_NAMES
from lprr.engine.face.sketch import sketches, to_patch
from lprr.engine.paths import DOCS
from lprr.engine.retarget import FrontEnd, Retargeter
from lprr.engine.take import Take

log = logging.getLogger("reenact_grid")

# column label -> controls whose mean picks the frame (the largest), or None for rest
COLUMNS: dict[str, tuple[str, ...] | None] = {
    "rest": None,
    "blink": ("eyeBlinkLeft", "eyeBlinkRight"),
    "jaw open": ("jawOpen",),
    "smile": ("mouthSmileLeft", "mouthSmileRight"),
}


def pick_frames(take: Take) -> dict[str, int]:
    w = take.weights
    idx = {n: i for i, n in enumerate(take.controls)}
    out = {}
    for label, names in COLUMNS.items():
        score = -w.sum(1) if names is None else w[:, [idx[n] for n in names]].mean(1)
        out[label] = int(np.argmax(score))
    return out


def label(img: np.ndarray, text: str) -> np.ndarray:
    img = img.copy()
    cv2.putText(img, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 2, cv2.LINE_AA)
    cv2.putText(img, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.35, (255, 255, 255), 1,
                cv2.LINE_AA)
    return img


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--take", type=Path, default=ROOT / "data" / "perf_gh_heldout")
    ap.add_argument("--models", type=Path, default=ROOT / "exported" / "demo")
    ap.add_argument("--out", type=Path, default=DOCS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    take = Take(args.take)
    if take.weights is None:
        log.error("%s has no weights.csv to pick frames by", args.take)
        return 1
    picks = pick_frames(take)
    wanted = set(picks.values())
    frames = {i: f for i, f in enumerate(take.frames()) if i in wanted}
    rt = Retargeter(args.models, "ort-cpu")
    front = FrontEnd(static=True, landmarker=rt.landmarker)  # the front end lprr runs on
    cols: dict[str, list[np.ndarray]] = {p: [] for p in PATCH_NAMES}
    try:
        for name, i in picks.items():
            pts, patches = front(frames[i], i / take.fps)
            if patches is None:
                log.warning("no face in frame %d (%s); skipped", i, name)
                continue
            (reenacted,), weights = rt.infer([patches], [pts])
            sk = sketches(to_patch(pts, patches.transforms), rt.sketch_map)
            names = COLUMNS[name] or ("jawOpen",)
            truth = np.mean([take.weights[i, take.controls.index(n)] for n in names])
            ours = np.mean([weights[0, rt.controls.index(n)] for n in names])
            for k, p in enumerate(PATCH_NAMES):
                sketch = cv2.cvtColor(sk[k], cv2.COLOR_GRAY2BGR)
                cols[p].append(np.vstack([label(patches.images[p], name),
                                          label(sketch, f"truth {truth:.2f}"),
                                          label(reenacted[p], f"lprr {ours:.2f}")]))
    finally:
        front.close()
        rt.close()
    args.out.mkdir(parents=True, exist_ok=True)
    for p, c in cols.items():
        path = args.out / f"reenact_{p}.png"
        cv2.imwrite(str(path), np.hstack(c))
        log.info("wrote %s", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
