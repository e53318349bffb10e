"""Landmark sketches: the lip, lid, iris and brow contours drawn into each patch.

The RM's encoder reads the patch together with this one-channel line drawing. Pixels tell
a real face from a cartoon one; the contours are drawn the same way for both, so they
are what lets an encoder shared by two very different identities put "mouth open" or
"lid closed" in the same place of its code. The drawing uses the patch's own transform,
so it stays registered with the (stabilised) patch.

A performer's contours are first moved into the character's geometry (``SketchMap``):
their displacement from the performer's own rest shape, scaled per patch, is added to
the character's rest shape. Both rest shapes are medians over the unlabelled training
frames, so this needs no labels; it is what makes a performer's small eye and the
character's large one draw the same "half closed".
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.apem import PATCH_NAMES, PATCH_SIZE

_SHIFT = 4  # sub-pixel line endpoints: cv2 fixed point with 4 fractional bits
_GROUPS = ("FACEMESH_LIPS", "FACEMESH_LEFT_EYE", "FACEMESH_RIGHT_EYE", "FACEMESH_LEFT_IRIS",
           "FACEMESH_RIGHT_IRIS", "FACEMESH_LEFT_EYEBROW", "FACEMESH_RIGHT_EYEBROW")


@functools.cache
def contour_edges() -> np.ndarray:
    """(E,2) landmark index pairs of the contours (MediaPipe's own face-mesh connections)."""
    from mediapipe.python.solutions import face_mesh_connections as fmc

    pairs = sorted({tuple(e) for g in _GROUPS for e in getattr(fmc, g)})
    return np.asarray(pairs, dtype=np.int32)


def to_patch(landmarks: np.ndarray, transforms: dict[str, np.ndarray] | np.ndarray
             ) -> np.ndarray:
    """(3,478,2) float32: image-pixel landmarks in each patch's pixels (PATCH_NAMES order);
    ``transforms`` by name or (3,2,3)."""
    if isinstance(transforms, dict):
        transforms = np.stack([transforms[n] for n in PATCH_NAMES])
    p = np.asarray(landmarks, np.float64)[:, :2]
    t = np.asarray(transforms, np.float64)
    return (np.einsum("nd,kcd->knc", p, t[:, :, :2]) + t[:, None, :, 2]).astype(np.float32)


@dataclass
class SketchMap:
    """Per patch: points -> dst + scale * (points - src), in patch pixels."""

    src: np.ndarray  # (3,478,2) performer rest shape
    dst: np.ndarray  # (3,478,2) character rest shape
    scale: np.ndarray  # (3,2) per patch and axis

    @classmethod
    def fit(cls, performer: np.ndarray, character: np.ndarray) -> SketchMap:
        """From (N,3,478,2) and (M,3,478,2) patch-space landmarks of the two identities."""
        src, dst = np.median(performer, axis=0), np.median(character, axis=0)
        idx = np.unique(contour_edges())
        scale = np.ones((len(PATCH_NAMES), 2), np.float32)
        for k in range(len(PATCH_NAMES)):
            inside = idx[((dst[k, idx] >= 0) & (dst[k, idx] < PATCH_SIZE)).all(axis=1)]
            if len(inside) > 3:  # contour spread of the two rest shapes, per axis
                scale[k] = dst[k, inside].std(axis=0) / np.maximum(
                    src[k, inside].std(axis=0), 1e-3)
        return cls(src.astype(np.float32), dst.astype(np.float32), scale)

    def apply(self, pts: np.ndarray) -> np.ndarray:
        """(3,478,2) patch-space performer points -> character geometry."""
        return self.dst + self.scale[:, None, :] * (pts - self.src)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        np.savez(path, src=self.src, dst=self.dst, scale=self.scale)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SketchMap:
        with np.load(path) as z:
            return cls(z["src"], z["dst"], z["scale"])


def draw_sketch(pts: np.ndarray, size: int = PATCH_SIZE) -> np.ndarray:
    """(size,size) uint8: the contours through (478,2) patch-pixel points, anti-aliased
    lines of 255 on 0."""
    fixed = np.round(np.asarray(pts, np.float64) * (1 << _SHIFT)).astype(np.int32)
    e = contour_edges()
    img = np.zeros((size, size), np.uint8)
    lines = np.stack([fixed[e[:, 0]], fixed[e[:, 1]]], axis=1)
    cv2.polylines(img, list(lines), False, 255, 1, cv2.LINE_AA, _SHIFT)
    return img


def sketches(pts: np.ndarray, mapping: SketchMap | None = None,
             size: int = PATCH_SIZE) -> np.ndarray:
    """(3,size,size) uint8 from (3,478,2) patch-space points, moved by ``mapping`` first."""
    if mapping is not None:
        pts = mapping.apply(pts)
    return np.stack([draw_sketch(p, size) for p in pts])


def patch_sketches(landmarks: np.ndarray, transforms: dict[str, np.ndarray] | np.ndarray,
                   mapping: SketchMap | None = None, size: int = PATCH_SIZE
                   ) -> dict[str, np.ndarray]:
    """name -> (size,size) uint8 sketch of image-pixel ``landmarks``."""
    return dict(zip(PATCH_NAMES, sketches(to_patch(landmarks, transforms), mapping, size)))
