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

A scale is not enough for the openings: MediaPipe closes a real blinking eye's landmarks
only about a third of the way while the character's lids meet. So three openings (each
lid opening and the inner-lip gap) are then matched by quantiles: the performer's k-th
percentile is drawn as the character's k-th percentile, moving the points along the
character's own motion for that opening. This assumes only that the two unlabelled takes
show their expressions about as often.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lprr.engine.face import topology as T
from lprr.engine.face.apem import PATCH_NAMES, PATCH_SIZE

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


# Openings matched by quantiles: (upper contour points, lower contour points, points moved).
# An opening is the mean height of the lower points minus that of the upper ones, in patch
# pixels (y down). Mouth-corner lifts were tried too: they helped grace_hopper's smiles
# (r 0.88 -> 0.96) but MediaPipe's corner lift barely follows the astronaut's smile (r 0.1),
# so matching it amplified noise and the unseen identity's smiles fell from r 0.90 to 0.41.
OPENINGS = tuple((np.array(up), np.array(lo), np.array(sorted(set(moved)))) for up, lo, moved in (
    (T.EYE_UPPER_L[2:7], T.EYE_LOWER_L[2:7], T.EYE_UPPER_L + T.EYE_LOWER_L),  # left lids
    (T.EYE_UPPER_R[2:7], T.EYE_LOWER_R[2:7], T.EYE_UPPER_R + T.EYE_LOWER_R),  # right lids
    (T.LIP_INNER_UPPER[4:7], T.LIP_INNER_LOWER[4:7],  # inner-lip gap, moving the lips
     T.LIP_OUTER_UPPER + T.LIP_OUTER_LOWER + T.LIP_INNER_UPPER + T.LIP_INNER_LOWER),
))
# Percentiles matched; dense in the low tail, where the blinks are.
LEVELS = np.concatenate([[0.0, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8], np.linspace(10, 92, 10),
                         [94, 95, 96, 97, 98, 98.5, 99, 99.5, 100]])


def openings(pts: np.ndarray) -> np.ndarray:
    """(..., 478, 2) points -> (..., len(OPENINGS))."""
    return np.stack([pts[..., lo, 1].mean(-1) - pts[..., up, 1].mean(-1)
                     for up, lo, _ in OPENINGS], axis=-1)


@dataclass
class SketchMap:
    """Per patch: points -> dst + scale * (points - src), in patch pixels; then each of
    ``OPENINGS`` is moved to its matched quantile along ``range_dir``."""

    src: np.ndarray  # (3,478,2) performer rest shape
    dst: np.ndarray  # (3,478,2) character rest shape
    scale: np.ndarray  # (3,2) per patch and axis
    range_q: np.ndarray | None = None  # (3,J,2,L) opening percentiles: performer, character
    range_dir: np.ndarray | None = None  # (3,J,478,2) character points per pixel of opening

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
        m = cls(src.astype(np.float32), dst.astype(np.float32), scale)
        m.range_q, m.range_dir = _fit_ranges(m.linear(performer), np.asarray(character))
        return m

    def for_performer(self, rest: np.ndarray) -> SketchMap:
        """The same map, drawn from another performer's own rest shape: ``rest`` (K,3,478,2)
        patch-space points of their most neutral frames. The character side and the
        openings' quantile tables stay (they are relative to the rest shape once it is
        mapped). Refitting the performer's quantiles from the user's whole clip was tried:
        a clip that blinks less often than the training take then reads no blinks at all
        (WolfgangLanger: 14 of 16 found -> 0)."""
        src = np.median(np.asarray(rest, np.float32), axis=0)
        idx = np.unique(contour_edges())
        scale = self.scale.copy()
        # the proportions too: keeping the training performer's scale (only the rest
        # moved) read worse on every real clip tried (mean AUC 0.904 against 0.920)
        for k in range(len(PATCH_NAMES)):
            inside = idx[((self.dst[k, idx] >= 0) & (self.dst[k, idx] < PATCH_SIZE)).all(axis=1)]
            if len(inside) > 3:
                scale[k] = self.dst[k, inside].std(axis=0) / np.maximum(
                    src[k, inside].std(axis=0), 1e-3)
        return SketchMap(src.astype(np.float32), self.dst, scale.astype(np.float32),
                         self.range_q, self.range_dir)

    def linear(self, pts: np.ndarray) -> np.ndarray:
        """(...,3,478,2) performer points -> character geometry, rest shape and scale only."""
        return self.dst + self.scale[:, None, :] * (pts - self.src)

    def apply(self, pts: np.ndarray) -> np.ndarray:
        """(3,478,2) patch-space performer points -> character geometry."""
        out = self.linear(pts)
        if self.range_q is None:
            return out
        assert self.range_dir is not None  # fit and load set the two together
        g = openings(out)  # (3,J)
        want = np.array([[np.interp(g[k, j], *self.range_q[k, j]) for j in range(g.shape[1])]
                         for k in range(g.shape[0])])
        return out + np.einsum("kj,kjnc->knc", want - g, self.range_dir).astype(np.float32)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        extra = {k: v for k, v in (("range_q", self.range_q), ("range_dir", self.range_dir))
                 if v is not None}  # set together (fit, load)
        np.savez(path, src=self.src, dst=self.dst, scale=self.scale, **extra)
        return path

    @classmethod
    def load(cls, path: str | Path) -> SketchMap:
        with np.load(path) as z:
            opt = {k: z[k] for k in ("range_q", "range_dir") if k in z.files}
            return cls(z["src"], z["dst"], z["scale"], **opt)


def _fit_ranges(perf: np.ndarray, char: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quantile tables and motion directions from (N,3,478,2) performer points already in
    character geometry and (M,3,478,2) character points. An opening's direction is the
    least-squares slope of its moved points on it over the character's frames; one that
    does not vary in both identities gets none, so it is left alone."""
    gp, gc = openings(perf), openings(char)  # (N,3,J), (M,3,J)
    q = np.stack([np.percentile(gp, LEVELS, axis=0), np.percentile(gc, LEVELS, axis=0)])
    q = q.transpose(2, 3, 0, 1).astype(np.float32)  # (3,J,2,L)
    q[:, :, 0] += np.arange(len(LEVELS)) * 1e-4  # strictly increasing, for np.interp
    d = np.zeros(q.shape[:2] + char.shape[-2:], np.float32)
    for k in range(q.shape[0]):
        for j, (_, _, moved) in enumerate(OPENINGS):
            x = gc[:, k, j] - gc[:, k, j].mean()
            if x.std() > 1e-3 and np.ptp(gp[:, k, j]) > 1e-3:
                pts = char[:, k, moved]
                d[k, j, moved] = np.einsum("m,mpc->pc", x, pts - pts.mean(0)) / (x @ x)
    return q, d


def draw_sketch(pts: np.ndarray, size: int = PATCH_SIZE) -> np.ndarray:
    """(size,size) uint8: the contours through (478,2) patch-pixel points, anti-aliased
    lines of 255 on 0."""
    fixed = np.round(np.asarray(pts, np.float64) * (1 << _SHIFT)).astype(np.int32)
    e = contour_edges()
    img = np.zeros((size, size), np.uint8)
    lines = np.stack([fixed[e[:, 0]], fixed[e[:, 1]]], axis=1)
    cv2.polylines(img, list(lines), False, (255,), 1, cv2.LINE_AA, _SHIFT)
    return img


def sketches(pts: np.ndarray, mapping: SketchMap | None = None,
             size: int = PATCH_SIZE) -> np.ndarray:
    """(3,size,size) uint8 from (3,478,2) patch-space points, moved by ``mapping`` first."""
    if mapping is not None:
        pts = mapping.apply(pts)
    return np.stack([draw_sketch(p, size) for p in pts])


def static_patch_points(landmarks: np.ndarray) -> np.ndarray:
    """(3,478,2): image-pixel landmarks in the patches APEM cuts from them (no smoothing)."""
    from lprr.engine.face.apem import PATCH_SPECS, PatchFrame, patch_transform

    frame = PatchFrame.from_landmarks(landmarks)
    return to_patch(landmarks, np.stack([patch_transform(frame, PATCH_SPECS[n])
                                         for n in PATCH_NAMES]))


def patch_sketches(landmarks: np.ndarray, transforms: dict[str, np.ndarray] | np.ndarray,
                   mapping: SketchMap | None = None, size: int = PATCH_SIZE
                   ) -> dict[str, np.ndarray]:
    """name -> (size,size) uint8 sketch of image-pixel ``landmarks``."""
    return dict(zip(PATCH_NAMES, sketches(to_patch(landmarks, transforms), mapping, size)))
