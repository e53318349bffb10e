"""Performer calibration without labels: the neutral (bundled over keyframes) and the
expression subspace, from an unlabelled take or video that starts with a neutral face.

A take's ``weights.csv`` (and its stored ``landmarks.npy``, which for synthetic takes are
the true points, not what the tracker sees) are never read: the frames go through the same
MediaPipe FaceMesh as the live stream.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from lprr.engine.errors import UserError
from lprr.engine.f2f.expression import (
    ExpressionBasis,
    ExpressionTracker,
    TrackerConfig,
    generic_basis,
    pca_basis,
)
from lprr.engine.f2f.rigid import bundle_neutral, select_keyframes

log = logging.getLogger(__name__)


@dataclass
class CalibrationConfig:
    keyframes: int = 6  # Face2Face bundles identity over 6 keyframes
    neutral_window: int = 30  # keyframes are picked among this many first face frames
    max_frames: int = 3000  # frames of a calibration take used at most
    pca_var: float = 0.999  # share of displacement variance the subspace keeps
    pca_max_k: int = 40
    min_frames: int = 60  # fewer calibration frames than this: generic basis only


def estimate_neutral(frames: np.ndarray, cfg: CalibrationConfig | None = None) -> np.ndarray:
    """Canonical neutral (478, 3) from the first frames (F, 478, 3) of a take, in pixels."""
    cfg = cfg or CalibrationConfig()
    cand = np.asarray(frames[: cfg.neutral_window], np.float64)
    if len(cand) == 0:
        raise UserError("no face frames to estimate the neutral from")
    keys = select_keyframes(cand, cfg.keyframes)
    return bundle_neutral(cand[keys])


def calibrate(frames: np.ndarray, cfg: CalibrationConfig | None = None,
              tracker: TrackerConfig | None = None) -> ExpressionBasis:
    """Neutral + expression subspace from the face frames (F, 478, 3) of a take.

    The neutral is bundled over keyframes from the start of the take. The subspace is the
    PCA of the take's frames aligned to it; the alignment itself is refined once by
    tracking the take with a first subspace (a wide-open jaw would otherwise bias a purely
    rigid alignment). A take too short for a PCA gets the generic basis.
    """
    cfg = cfg or CalibrationConfig()
    frames = np.asarray(frames[: cfg.max_frames], np.float64)
    t0 = time.perf_counter()
    neutral = estimate_neutral(frames, cfg)
    if len(frames) < cfg.min_frames:
        log.info("calibration: %d frames, too few for a subspace; generic basis", len(frames))
        return generic_basis(neutral)
    # first pass: the generic basis gives expression-aware alignment of every frame
    tr = ExpressionTracker(generic_basis(neutral), tracker)
    aligned = np.stack([tr.fit(p).aligned for p in frames])
    basis = pca_basis(neutral, aligned, cfg.pca_var, cfg.pca_max_k)
    # second pass with the performer's own subspace
    tr = ExpressionTracker(basis, tracker)
    aligned = np.stack([tr.fit(p).aligned for p in frames])
    basis = pca_basis(neutral, aligned, cfg.pca_var, cfg.pca_max_k)
    log.info("calibration: %d frames, %d-dim expression subspace in %.1f s", len(frames),
             basis.k, time.perf_counter() - t0)
    return basis
