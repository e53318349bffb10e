"""The performer's expression subspace and per-frame expression tracking.

A performer's face in the canonical frame is modelled as ``neutral + B @ delta``: ``B`` is
a low-dimensional expression basis of the 478 landmarks. It comes from data without
labels:

- ``pca_basis``: the principal displacement modes of a calibration take (e.g. a ROM take)
  aligned to the neutral, with the Gaussian prior of their spread (Face2Face's
  statistical prior, ``sum (delta_k / sigma_k)^2``);
- ``generic_basis``: a generic rig (the demo rig's HUMAN control fields) laid on the
  estimated neutral; its coefficients are bounded to [0, 1].

Either basis is kept orthogonal to the neutral's rigid motions, so head motion can never be
read as expression.

``ExpressionTracker.fit`` solves the robust joint energy of one frame,

    E(pose, delta) = sum_i w_i |cw * (pose(L_i) - N_i - B_i delta)|^2
                     + sum_k (noise / sigma_k)^2 delta_k^2

(the landmark term and the statistical prior; MediaPipe gives no photometric term to
add). Face2Face minimises its non-linear energy by Gauss-Newton with PCG; on landmarks the
energy splits into two blocks that are each solved exactly in closed form, so the solver
alternates them: weighted Procrustes for the pose, then a weighted ridge least squares
(or a small box-constrained QP for a bounded basis) for ``delta``, then re-weights the
points from their residuals (IRLS, Huber). It is warm-started from the previous frame, so
two rounds are enough. The normal matrix with every point trusted is precomputed; a frame
only subtracts the few down-weighted points from it (a low-rank update).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from lprr.engine.f2f.boxqp import solve_box_qp
from lprr.engine.f2f.rigid import (
    RobustConfig,
    Similarity,
    fit_similarity,
    prior_weights,
    rigid_modes,
    robust_align,
    robust_weights,
)
from lprr.engine.face import topology as T
from lprr.engine.world import rig

log = logging.getLogger(__name__)
N = T.N_LANDMARKS


@dataclass
class ExpressionBasis:
    neutral: np.ndarray  # (478, 3) canonical
    basis: np.ndarray  # (478*3, K)
    sigma: np.ndarray  # (K,) prior spread of each coefficient
    bounded: bool = False  # coefficients live in [0, 1] (a rig-like basis)
    kind: str = "pca"

    @property
    def k(self) -> int:
        return self.basis.shape[1]

    def shape(self, delta: np.ndarray) -> np.ndarray:
        return self.neutral + (self.basis @ delta).reshape(N, 3)


def _without_rigid(neutral: np.ndarray, vecs: np.ndarray) -> np.ndarray:
    """Columns of ``vecs`` (478*3, K) with the neutral's similarity motions removed."""
    q = rigid_modes(neutral)
    return vecs - q @ (q.T @ vecs)


def generic_basis(neutral: np.ndarray, proportions: rig.RigProportions = rig.HUMAN
                  ) -> ExpressionBasis:
    """A generic, label-free basis: the demo rig's control fields built on ``neutral``."""
    d = rig.control_deltas(neutral, proportions).astype(np.float64)  # (C, 478, 3)
    b = _without_rigid(neutral, d.reshape(len(d), -1).T)
    # sigma: rig weights spread over about half their range
    return ExpressionBasis(np.asarray(neutral, np.float64), b, np.full(b.shape[1], 0.5),
                           bounded=True, kind="generic")


def pca_basis(neutral: np.ndarray, aligned: np.ndarray, var: float = 0.999,
              max_k: int = 48) -> ExpressionBasis:
    """Principal modes of aligned calibration frames (F, 478, 3) around ``neutral``.

    Keeps the fewest components explaining ``var`` of the displacement variance (at most
    ``max_k``); sigma is each component's standard deviation over the take.
    """
    d = (np.asarray(aligned, np.float64) - neutral).reshape(len(aligned), -1).T  # (3N, F)
    d = _without_rigid(neutral, d)
    u, s, _ = np.linalg.svd(d, full_matrices=False)
    energy = np.cumsum(s**2) / max(float((s**2).sum()), 1e-18)
    k = min(max_k, int(np.searchsorted(energy, var)) + 1, len(s))
    sigma = s[:k] / np.sqrt(max(d.shape[1], 1))
    return ExpressionBasis(np.asarray(neutral, np.float64), u[:, :k], sigma, kind="pca")


@dataclass
class TrackerConfig:
    iters: int = 2  # alternations of pose / expression / re-weighting per frame
    # MAP weighting of the prior: lam_k = (noise / sigma_k)^2, noise being the landmarks'
    # residual spread (IOD units) that the basis cannot explain
    noise: float = 0.01
    z_weight: float = 1.0  # weight of MediaPipe's depth against x and y
    robust: RobustConfig = field(default_factory=RobustConfig)


@dataclass
class TrackResult:
    delta: np.ndarray  # (K,) expression coefficients
    pose: Similarity  # pixels -> canonical
    weights: np.ndarray  # (478,) IRLS weights of the last round (1 = trusted)
    aligned: np.ndarray  # (478, 3) the frame's landmarks in the canonical frame


class ExpressionTracker:
    def __init__(self, basis: ExpressionBasis, config: TrackerConfig | None = None):
        self.b = basis
        self.cfg = config or TrackerConfig()
        cw = np.array([1.0, 1.0, self.cfg.z_weight])
        self._cw = np.tile(cw, N)  # per-coordinate weights
        self._reg = (self.cfg.noise / np.maximum(basis.sigma, 1e-9)) ** 2
        # normal matrix with every point fully trusted; a frame only subtracts the
        # contribution of the few points IRLS down-weights (a low-rank update)
        self._B = np.ascontiguousarray(basis.basis, np.float64)
        self._BT = np.ascontiguousarray(self._B.T)
        self._H0 = (self._BT * self._cw) @ self._B
        self._H0[np.diag_indices_from(self._H0)] += self._reg
        self._prior_pts = prior_weights()
        self._prev: TrackResult | None = None
        self._fixed: np.ndarray | None = None  # active set of the bounded solve

    def reset(self) -> None:
        """Forget the previous frame (the face was lost)."""
        self._prev = None
        self._fixed = None

    def _solve_delta(self, d: np.ndarray, w: np.ndarray, x0: np.ndarray | None
                     ) -> np.ndarray:
        wc = np.repeat(w, 3) * self._cw
        H = self._H0
        low = np.flatnonzero(wc < self._cw - 1e-12)
        if len(low):
            Bl = self._B[low]
            H = H - (Bl.T * (self._cw[low] - wc[low])) @ Bl
        g = self._BT @ (wc * d)
        if self.b.bounded:
            x, self._fixed = solve_box_qp(H, g, 0.0, 1.0, x0, self._fixed)
            return x
        return np.linalg.solve(H, g)

    def fit(self, pts: np.ndarray) -> TrackResult:
        pts = np.asarray(pts, np.float64)
        cfg = self.cfg
        nb = self.b.neutral
        if self._prev is None:
            pose, w = robust_align(pts, nb, self._prior_pts, cfg=cfg.robust)
            delta = np.zeros(self.b.k)
        else:
            delta = self._prev.delta
            w = self._prev.weights
            pose = fit_similarity(pts, self.b.shape(delta), w)
        for _ in range(cfg.iters):
            x = pose.apply(pts)
            delta = self._solve_delta((x - nb).ravel(), w, delta if self.b.bounded else None)
            model = self.b.shape(delta)
            r = np.linalg.norm(x - model, axis=1)
            w = robust_weights(r, cfg.robust)
            pose = fit_similarity(pts, model, w)
        x = pose.apply(pts)
        res = TrackResult(delta, pose, w, x)
        self._prev = res
        return res
