"""Contact sheet of ROM extremes: the demo character and two performer puppets, each frame
with its three APEM patches (lip, eye_l, eye_r) underneath.

    python scripts/contact_sheet.py [--out docs/contact_sheet.png]

Character patches come from its projected landmarks (as in training); puppet patches from
MediaPipe run on the puppet frame (as at run time), which also shows that MediaPipe
follows the puppet.
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

from lprr.engine.controls import CONTROL_NAMES, INDEX
from lprr.engine.face.apem import PATCH_NAMES, extract_patches
from lprr.engine.paths import DOCS

log = logging.getLogger("contact_sheet")

# (label, {control: weight})
POSES: list[tuple[str, dict[str, float]]] = [
    ("neutral", {}),
    ("blink L", {"eyeBlinkLeft": 1}),
    ("blink R", {"eyeBlinkRight": 1}),
    ("jawOpen", {"jawOpen": 1}),
    ("smile", {"mouthSmileLeft": 1, "mouthSmileRight": 1}),
    ("frown", {"mouthFrownLeft": 1, "mouthFrownRight": 1}),
    ("pucker", {"mouthPucker": 1}),
    ("funnel", {"mouthFunnel": 1, "jawOpen": 0.2}),
    ("brows up", {"browInnerUp": 1, "browOuterUpLeft": 1, "browOuterUpRight": 1}),
    ("brows down", {"browDownLeft": 1, "browDownRight": 1}),
    ("look L", {"eyeLookOutLeft": 1, "eyeLookInRight": 1}),
    ("look R", {"eyeLookInLeft": 1, "eyeLookOutRight": 1}),
    ("look up", {"eyeLookUpLeft": 1, "eyeLookUpRight": 1}),
    ("wide", {"eyeWideLeft": 1, "eyeWideRight": 1}),
    ("squint", {"eyeSquintLeft": 1, "eyeSquintRight": 1}),
    ("cheekPuff", {"cheekPuff": 1}),
    ("sneer", {"noseSneerLeft": 1, "noseSneerRight": 1, "mouthUpperUpLeft": 0.5,
               "mouthUpperUpRight": 0.5}),
    ("cheekSquint", {"cheekSquintLeft": 1, "cheekSquintRight": 1}),
    ("tongueOut", {"tongueOut": 1, "jawOpen": 0.3}),
]

CELL = 168  # frame tile side; patches are CELL // 3 under it
LABEL_H = 18
ROW_LABEL_W = 26


def weights_of(pose: dict[str, float]) -> np.ndarray:
    w = np.zeros(len(CONTROL_NAMES), np.float32)
    for k, v in pose.items():
        w[INDEX[k]] = v
    return w


def cell(frame: np.ndarray, landmarks: np.ndarray | None, label: str) -> np.ndarray:
    p = CELL // 3
    out = np.full((LABEL_H + CELL + p, CELL, 3), 255, np.uint8)
    cv2.putText(out, label, (4, LABEL_H - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (20, 20, 20), 1,
                cv2.LINE_AA)
    out[LABEL_H:LABEL_H + CELL] = cv2.resize(frame, (CELL, CELL), interpolation=cv2.INTER_AREA)
    if landmarks is not None:
        patches = extract_patches(frame, landmarks)
        for i, name in enumerate(PATCH_NAMES):
            out[LABEL_H + CELL:, i * p:(i + 1) * p] = cv2.resize(
                patches[name], (p, p), interpolation=cv2.INTER_AREA)
    return out


def row(title: str, tiles: list[np.ndarray]) -> np.ndarray:
    r = np.concatenate(tiles, 1)
    side = np.full((r.shape[0], ROW_LABEL_W, 3), 255, np.uint8)
    txt = np.full((ROW_LABEL_W, r.shape[0], 3), 255, np.uint8)
    cv2.putText(txt, title, (8, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (20, 20, 20), 1,
                cv2.LINE_AA)
    side[:] = cv2.rotate(txt, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return np.concatenate([side, r], 1)


def character_row(size: int) -> np.ndarray:
    from lprr.engine.world.character import DemoCharacter

    ch = DemoCharacter(size=size)
    tiles = []
    for label, pose in POSES:
        frame, lm = ch.render(weights_of(pose))
        tiles.append(cell(frame, lm, label))
    return row("character", tiles)


def puppet_row(photo, title: str, size: int) -> np.ndarray:
    from lprr.engine.face.landmarks import DEFAULT_LANDMARKER, LandmarkerConfig, open_landmarker
    from lprr.engine.world.puppet import Puppet

    pup = Puppet(photo, size=size)
    tiles = []
    # the front end the methods run on
    with open_landmarker(DEFAULT_LANDMARKER, LandmarkerConfig(static_image_mode=True)) as fl:
        for label, pose in POSES:
            frame, true_lm = pup.render(weights_of(pose))
            seen = fl.detect(frame)
            if seen is None:
                log.warning("%s / %s: MediaPipe found no face; using the true landmarks",
                            title, label)
            tiles.append(cell(frame, seen if seen is not None else true_lm, label))
    return row(title, tiles)


def save_small(img: np.ndarray, out: Path, max_bytes: int = 1_400_000) -> int:
    """PNG, palette-quantised when the full-colour file would be too big."""
    out.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out), img, [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if out.stat().st_size <= max_bytes:
        return out.stat().st_size
    from PIL import Image  # ships with matplotlib

    pil = Image.fromarray(img[:, :, ::-1]).quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                                                    dither=Image.Dither.NONE)
    pil.save(out, optimize=True)
    return out.stat().st_size


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=DOCS / "contact_sheet.png")
    ap.add_argument("--size", type=int, default=256, help="render size before tiling")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    import matplotlib
    from skimage import data

    grace = Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    astronaut = np.ascontiguousarray(data.astronaut()[:, :, ::-1])
    rows = [character_row(args.size),
            puppet_row(grace, "grace_hopper", args.size),
            puppet_row(astronaut, "astronaut", args.size)]
    sheet = np.concatenate(rows, 0)
    n = save_small(sheet, args.out)
    print(f"{sheet.shape[1]}x{sheet.shape[0]} -> {args.out} ({n / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
