"""Fast piecewise-affine image warping over a fixed triangle list.

Each frame: rasterise the destination triangles into a triangle-index image (one
``cv2.fillConvexPoly`` per triangle, later layers win), build the per-triangle inverse
affines in one batched solve, gather them per pixel and ``cv2.remap`` once. About 3 ms for
~1000 triangles at 256x256 on one CPU core.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_SHIFT = 4  # fixed-point bits for sub-pixel triangle corners


def delaunay(points: np.ndarray) -> np.ndarray:
    """(T, 3) Delaunay triangles of (P, 2) points (indices into ``points``)."""
    # scipy ships with scikit-image; imported on first use
    from scipy.spatial import Delaunay

    return Delaunay(np.asarray(points, np.float64)).simplices.astype(np.int32)


def border_ring(w: int, h: int, per_side: int = 5, margin: float = 2.0) -> np.ndarray:
    """Points on a rectangle slightly outside the image, so every pixel is inside a triangle."""
    xs = np.linspace(-margin, w - 1 + margin, per_side + 1)
    ys = np.linspace(-margin, h - 1 + margin, per_side + 1)
    top = np.stack([xs, np.full_like(xs, -margin)], 1)
    bot = np.stack([xs, np.full_like(xs, h - 1 + margin)], 1)
    left = np.stack([np.full_like(ys[1:-1], -margin), ys[1:-1]], 1)
    right = np.stack([np.full_like(ys[1:-1], w - 1 + margin), ys[1:-1]], 1)
    return np.concatenate([top, bot, left, right])


@dataclass
class TriangleWarp:
    """Warps an image from ``src`` points to ``dst`` points over fixed triangles.

    ``triangles`` are drawn in order, so put background layers first and the face mesh last.
    Pixels no triangle covers are copied unchanged.
    """

    triangles: np.ndarray  # (T, 3) int indices into the point arrays
    size: tuple[int, int]  # (h, w) of the output

    def __post_init__(self) -> None:
        self.triangles = np.ascontiguousarray(self.triangles, np.int32)
        h, w = self.size
        self._raster = np.zeros((h, w), np.int32)
        ys, xs = np.mgrid[0:h, 0:w]
        self._xs = xs.astype(np.float32)
        self._ys = ys.astype(np.float32)

    def index_raster(self, dst: np.ndarray) -> np.ndarray:
        """(h, w) int32: 1 + index of the triangle covering each pixel, 0 where none."""
        r = self._raster
        r.fill(0)
        fixed = np.round(np.asarray(dst, np.float64)[:, :2] * (1 << _SHIFT)).astype(np.int32)
        corners = fixed[self.triangles]  # (T, 3, 2)
        for i in range(len(corners)):
            cv2.fillConvexPoly(r, corners[i], (i + 1,), cv2.LINE_8, _SHIFT)
        return r

    def affines(self, src: np.ndarray, dst: np.ndarray) -> np.ndarray:
        """(T + 1, 2, 3) maps from destination to source pixels; row 0 is the identity."""
        tri = self.triangles
        s = np.asarray(src, np.float64)[:, :2][tri]  # (T,3,2)
        d = np.asarray(dst, np.float64)[:, :2][tri]
        dh = np.concatenate([d, np.ones((len(tri), 3, 1))], 2)  # (T,3,3) rows [x y 1]
        det = np.linalg.det(dh)
        ok = np.abs(det) > 1e-9
        dh[~ok] = np.eye(3)  # degenerate (collapsed) triangles cover no pixels
        # solve dh @ M = s for M (3,2): source = [x y 1] @ M
        m = np.linalg.solve(dh, s)  # (T,3,2)
        m[~ok] = np.array([[1, 0], [0, 1], [0, 0]], np.float64)
        a = np.empty((len(tri) + 1, 2, 3), np.float32)
        a[0] = [[1, 0, 0], [0, 1, 0]]
        a[1:] = np.transpose(m, (0, 2, 1))
        return a

    def maps(self, src: np.ndarray, dst: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = self.index_raster(dst)
        a = self.affines(src, dst)
        c = a[idx]  # (h, w, 2, 3)
        mx = c[..., 0, 0] * self._xs + c[..., 0, 1] * self._ys + c[..., 0, 2]
        my = c[..., 1, 0] * self._xs + c[..., 1, 1] * self._ys + c[..., 1, 2]
        return mx, my

    def warp(self, image: np.ndarray, src: np.ndarray, dst: np.ndarray,
             border: int = cv2.BORDER_REFLECT101) -> np.ndarray:
        mx, my = self.maps(src, dst)
        return cv2.remap(image, mx, my, cv2.INTER_LINEAR, borderMode=border)
