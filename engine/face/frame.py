"""The face's own frame, from its landmarks: ``u`` from the subject's right eye to their
left eye (image right for an unmirrored frontal face), ``v`` down towards the mouth, ``w =
u x v`` into the face (away from the camera, like MediaPipe's z); the unit is the distance
between the eye-opening centroids. 2D inputs ignore ``w``. The rig, Face2Face and the
heuristic's neutral all measure faces in it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lprr.engine.face import topology as T

_EPS = 1e-9


@dataclass
class FaceFrame:
    """The face's own frame and its anatomical sizes (all in the input's units)."""

    origin: np.ndarray  # (D,) midpoint of the eye centres
    axes: np.ndarray  # (D, D) rows: u, v[, w]
    iod: float  # inter-ocular distance (eye centre to eye centre)

    @classmethod
    def from_landmarks(cls, pts: np.ndarray) -> FaceFrame:
        pts = np.asarray(pts, dtype=np.float64)
        d = pts.shape[1]
        c_l = pts[list(T.EYE_OPENING_L)].mean(0)
        c_r = pts[list(T.EYE_OPENING_R)].mean(0)
        origin = 0.5 * (c_l + c_r)
        u = c_l - c_r
        iod = float(np.linalg.norm(u))
        if iod < _EPS:
            raise ValueError("degenerate landmarks: the eye centres coincide")
        u /= iod
        down = pts[[T.MOUTH_CORNER_L, T.MOUTH_CORNER_R]].mean(0) - origin
        if d == 2:
            v = np.array([-u[1], u[0]])
            if v @ down < 0:
                v = -v
            axes = np.stack([u, v])
        else:
            # w: normal of the best-fit plane of the face mesh, pointing away from the
            # viewer (the nose tip is in front); v = w x u then lies in the face plane
            mesh = pts[: T.N_MESH] - pts[: T.N_MESH].mean(0)
            w = np.linalg.svd(mesh, full_matrices=False)[2][2]
            if w @ mesh[T.NOSE_TIP] > 0:
                w = -w
            u = u - (u @ w) * w
            u /= max(np.linalg.norm(u), _EPS)
            v = np.cross(w, u)
            if v @ down < 0:
                raise ValueError("degenerate landmarks: the mouth is above the eyes")
            axes = np.stack([u, v, w])
        return cls(origin, axes, iod)

    def to_local(self, pts: np.ndarray) -> np.ndarray:
        """(N, D) points -> (N, 3) local u, v, w (w = 0 for 2D inputs)."""
        loc = (np.asarray(pts, dtype=np.float64) - self.origin) @ self.axes.T
        if loc.shape[1] == 2:
            loc = np.concatenate([loc, np.zeros((len(loc), 1))], axis=1)
        return loc

    def vectors_to_world(self, vec: np.ndarray) -> np.ndarray:
        """(..., 3) local displacement vectors -> (..., D) in the input's frame."""
        d = self.axes.shape[0]
        return vec[..., :d] @ self.axes
