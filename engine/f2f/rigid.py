"""Rigid tracking and identity bundling on the 478 MediaPipe landmarks.

Everything works in a *canonical face frame*: origin between the eye centres, axes u (the
subject's right eye -> left eye), v (down the face), w (into the face), one unit = the
inter-ocular distance (``lprr.engine.face.frame.FaceFrame``). A frame's pixel landmarks are
mapped into it by a similarity transform (scale, 3D rotation, translation) fitted by
IRLS-weighted Procrustes (Umeyama's closed form with per-point weights), so residuals and
robust thresholds are in IOD units whatever the face's size in the image.

The performer's neutral is bundled over a few keyframes, as Face2Face bundles identity:
generalised Procrustes, alternating robust alignment of each keyframe to the current
estimate with a robust (IRLS) per-point mean.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lprr.engine.face import topology as T
from lprr.engine.face.frame import FaceFrame

N = T.N_LANDMARKS
# The rigid points get a larger prior weight when a frame is aligned before any expression
# is known.
RIGID_POINTS = T.RIGID_POINTS


@dataclass
class Similarity:
    """x -> s * R @ x + t, applied to row vectors."""

    s: float
    R: np.ndarray  # (3, 3)
    t: np.ndarray  # (3,)

    def apply(self, pts: np.ndarray) -> np.ndarray:
        return self.s * (np.asarray(pts, np.float64) @ self.R.T) + self.t

    @classmethod
    def identity(cls) -> Similarity:
        return cls(1.0, np.eye(3), np.zeros(3))


def fit_similarity(src: np.ndarray, dst: np.ndarray, w: np.ndarray | None = None
                   ) -> Similarity:
    """Weighted least-squares similarity taking ``src`` (P, 3) onto ``dst`` (P, 3)."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    w = np.ones(len(src)) if w is None else np.asarray(w, np.float64)
    sw = float(w.sum())
    mu_s = w @ src / sw
    mu_d = w @ dst / sw
    xs = src - mu_s
    xd = dst - mu_d
    cov = (xd * w[:, None]).T @ xs / sw
    U, S, Vt = np.linalg.svd(cov)
    d = np.ones(3)
    if np.linalg.det(U) * np.linalg.det(Vt) < 0:
        d[2] = -1.0  # a reflection is never a head pose
    R = (U * d) @ Vt
    var = float(w @ (xs * xs).sum(1)) / sw
    s = float((S * d).sum()) / max(var, 1e-12)
    return Similarity(s, R, mu_d - s * (R @ mu_s))


@dataclass
class RobustConfig:
    """IRLS weights: Huber on the per-point residual norm, scale from the median.

    ``c`` times the robust scale (1.4826 * median residual, at least ``floor`` IOD) is where
    down-weighting starts; a point displaced far beyond it gets weight ``c*scale/r``.
    """

    c: float = 2.5
    floor: float = 0.006  # IOD; a still face's landmark noise is about this much
    min_weight: float = 0.0


def robust_weights(r: np.ndarray, cfg: RobustConfig) -> np.ndarray:
    scale = max(1.4826 * float(np.median(r)), cfg.floor)
    k = cfg.c * scale
    w = np.minimum(1.0, k / np.maximum(r, 1e-12))
    return np.maximum(w, cfg.min_weight)


def prior_weights(rigid_boost: float = 4.0) -> np.ndarray:
    """(478,) per-point weights that favour the expression-free points."""
    w = np.ones(N)
    w[list(RIGID_POINTS)] = rigid_boost
    return w


def robust_align(pts: np.ndarray, template: np.ndarray, prior: np.ndarray | None = None,
                 iters: int = 4, cfg: RobustConfig | None = None
                 ) -> tuple[Similarity, np.ndarray]:
    """IRLS Procrustes of pixel ``pts`` onto a canonical ``template``: (pose, weights)."""
    cfg = cfg or RobustConfig()
    prior = np.ones(len(pts)) if prior is None else prior
    w = prior.copy()
    pose = fit_similarity(pts, template, w)
    for _ in range(iters):
        r = np.linalg.norm(pose.apply(pts) - template, axis=1)
        rw = robust_weights(r, cfg)
        w = prior * rw
        pose = fit_similarity(pts, template, w)
    return pose, w / prior


def canonical(pts: np.ndarray) -> np.ndarray:
    """(478, 3) landmarks -> the canonical face frame (IOD units)."""
    frame = FaceFrame.from_landmarks(np.asarray(pts, np.float64))
    return frame.to_local(pts) / frame.iod


def select_keyframes(frames: np.ndarray, k: int = 6) -> np.ndarray:
    """Indices of the ``k`` most mutually similar frames among ``frames`` (F, 478, 3).

    Frames are aligned to the first one, then the medoid of the tightest cluster is found
    (smallest sum of distances to its k-1 nearest neighbours) and its neighbours join it:
    a blink or a twitch among supposedly neutral frames is left out.
    """
    f = len(frames)
    if f <= k:
        return np.arange(f)
    ref = canonical(frames[0])
    prior = prior_weights()
    aligned = np.stack([robust_align(p, ref, prior)[0].apply(p) for p in frames])
    flat = aligned.reshape(f, -1)
    sq = (flat * flat).sum(1)
    d = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * flat @ flat.T, 0.0) / N)
    near = np.sort(d, axis=1)[:, 1:k]
    centre = int(np.argmin(near.sum(1)))
    return np.sort(np.argsort(d[centre])[:k])


def bundle_neutral(frames: np.ndarray, iters: int = 6, cfg: RobustConfig | None = None
                   ) -> np.ndarray:
    """The neutral shape (478, 3), canonical, jointly over keyframes (K, 478, 3) in pixels.

    Generalised Procrustes with IRLS: every keyframe is robustly aligned to the current
    estimate, then each point is the robust weighted mean of its aligned copies; the
    estimate is re-expressed in the canonical frame every round (it fixes the gauge).
    """
    cfg = cfg or RobustConfig()
    frames = np.asarray(frames, np.float64)
    est = canonical(np.median(np.stack([canonical(p) for p in frames]), axis=0))
    prior = prior_weights()
    for _ in range(iters):
        aligned = np.stack([robust_align(p, est, prior, cfg=cfg)[0].apply(p) for p in frames])
        if len(frames) == 1:
            est = canonical(aligned[0])
            break
        # per-point robust mean across keyframes (a keyframe where a point jumped loses it)
        med = np.median(aligned, axis=0)
        r = np.linalg.norm(aligned - med, axis=2)  # (K, 478)
        w = np.stack([robust_weights(ri, cfg) for ri in r.T], axis=1)  # per point over K
        est = canonical((w[:, :, None] * aligned).sum(0) / w.sum(0)[:, None])
    return est


def rigid_modes(shape: np.ndarray) -> np.ndarray:
    """(478*3, 7) orthonormal basis of infinitesimal similarity motions of ``shape``:
    3 translations, 3 rotations, 1 scale. Expression bases are kept orthogonal to it so a
    head motion can never be read as an expression."""
    x = np.asarray(shape, np.float64)
    c = x - x.mean(0)
    cols = []
    for a in range(3):
        t = np.zeros_like(x)
        t[:, a] = 1.0
        cols.append(t.ravel())
    for a in range(3):
        e = np.zeros(3)
        e[a] = 1.0
        cols.append(np.cross(e, c).ravel())
    cols.append(c.ravel())
    q, _ = np.linalg.qr(np.stack(cols, 1))
    return q
