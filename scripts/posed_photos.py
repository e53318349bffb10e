"""Posed expressions, no neutral given: what each method reads from single photos.

    python scripts/posed_photos.py [--methods lprr,mediapipe] [--out out/posed]

The photos are cells of the facetorch 25-expression grid (data/realfaces, fetched by
scripts/fetch_realfaces.py; the cells are picked by looking at the grid). Each is run alone,
as a still image, through `lprr run` (no neutral, smoothing off), and the controls an
expression should move are printed; the issue's bar is 0.3-0.4 on each.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2

from lprr.engine.paths import ROOT

GRID = ROOT / "data" / "realfaces" / "facetorch_test3_25expressions.jpg"
CELL = 384  # the grid is 5 x 5 photos of 1920 / 5 px
# expression -> (row, column) in the grid, and the controls that should read it
POSED = {
    "happy": ((0, 1), ("mouthSmileLeft", "mouthSmileRight")),
    "surprise": ((4, 3), ("jawOpen", "browInnerUp")),
    "anger": ((1, 3), ("browDownLeft", "browDownRight")),
    "disgust": ((2, 0), ("noseSneerLeft", "noseSneerRight")),
    "tongue out": ((4, 0), ("tongueOut",)),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", default="lprr,mediapipe")
    ap.add_argument("--out", type=Path, default=Path("out/posed"))
    args = ap.parse_args(argv)
    if not GRID.is_file():
        raise SystemExit(f"{GRID} is missing: python scripts/fetch_realfaces.py")
    args.out.mkdir(parents=True, exist_ok=True)
    grid = cv2.imread(str(GRID))
    rows = []
    for name, ((r, c), controls) in POSED.items():
        photo = args.out / f"{name.replace(' ', '_')}.png"
        cv2.imwrite(str(photo), grid[r * CELL:(r + 1) * CELL, c * CELL:(c + 1) * CELL])
        cells = []
        for method in args.methods.split(","):
            rec = args.out / f"{photo.stem}_{method}.jsonl"
            subprocess.run([sys.executable, "-m", "lprr.app.cli", "run", "--source", str(photo),
                            "--method", method, "--smoothing", "off", "--record", str(rec)],
                           check=True, capture_output=True)
            w = json.loads(rec.read_text().splitlines()[0])["weights"]
            cells.append(" / ".join(f"{w.get(k, 0.0):.2f}" for k in controls))
        rows.append(f"| {name} (cell {r}{c}) | {', '.join(controls)} | " + " | ".join(cells) + " |")
    print("| photo | controls | " + " | ".join(args.methods.split(",")) + " |")
    print("|---" * (2 + len(args.methods.split(","))) + "|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
