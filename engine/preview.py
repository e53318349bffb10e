"""The demo's preview frame: source with landmarks and patch boxes, the three source
patches over their reenacted versions, and the character rendered with the weights."""
from __future__ import annotations

import cv2
import numpy as np

from lprr.engine.face.apem import PATCH_NAMES, PATCH_SIZE, invert_transform, map_points
from lprr.engine.retarget import FrameResult

_BOX = np.array([[0, 0], [PATCH_SIZE, 0], [PATCH_SIZE, PATCH_SIZE], [0, PATCH_SIZE]],
                np.float64)
_COLOURS = {"lip": (80, 80, 255), "eye_l": (80, 255, 80), "eye_r": (255, 180, 60)}


def annotate(frame: np.ndarray, res: FrameResult) -> np.ndarray:
    img = frame.copy()
    if res.landmarks is not None:  # one pixel per landmark, vectorised (the GUI draws 30/s)
        xy = np.clip(res.landmarks[:, :2].astype(int), 0, (img.shape[1] - 1, img.shape[0] - 1))
        img[xy[:, 1], xy[:, 0]] = (0, 255, 255)
    if res.patches is not None:
        for name in PATCH_NAMES:
            box = map_points(invert_transform(res.patches.transforms[name]), _BOX)
            cv2.polylines(img, [box.astype(np.int32)], True, _COLOURS[name], 1, cv2.LINE_AA)
    else:
        cv2.putText(img, "no face", (8, 24), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 255), 2)
    return img


def compose(res: FrameResult, character: np.ndarray, height: int = 256) -> np.ndarray:
    """One preview row: [source | patches over reenacted | character]."""
    def fit(img: np.ndarray) -> np.ndarray:
        s = height / img.shape[0]
        return cv2.resize(img, (max(1, round(img.shape[1] * s)), height),
                          interpolation=cv2.INTER_AREA)

    src = fit(annotate(res.frame, res)) if res.frame is not None else np.zeros(
        (height, height, 3), np.uint8)
    blank = np.full((PATCH_SIZE, PATCH_SIZE, 3), 40, np.uint8)
    cols = []
    for name in PATCH_NAMES:
        top = res.patches.images[name] if res.patches is not None else blank
        bottom = res.reenacted[name] if res.reenacted is not None else blank
        cols.append(np.vstack([top, bottom]))
    strip = fit(np.hstack(cols))
    return np.hstack([src, strip, fit(character)])
