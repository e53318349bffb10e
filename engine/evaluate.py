"""Run a method over a take through the live engine code and score it on the take's
ground truth (used only for scoring)."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from engine.metrics import score
from engine.session import open_source, run_to_end
from engine.take import Take

log = logging.getLogger(__name__)


def predict(take: Take, method: str, models: Path, backend: str = "ort-cpu",
            smoothing: str = "default") -> tuple[np.ndarray, list[str], np.ndarray]:
    """(N,C) predicted weights, control names, (N,) face-found flags, one row per frame."""
    from engine.methods import create_method
    from engine.post.postprocess import PostConfig, PostProcessor

    cap = open_source(take.frames_path, drop=False)
    rt = create_method(method, models, backend)
    try:
        post = PostProcessor(PostConfig(smoothing=smoothing), names=rt.controls)
        results = []
        run_to_end(rt, cap, post.process, on_result=results.append, keep_frames=False)
    finally:
        rt.close()
    results.sort(key=lambda r: r.index)
    return (np.stack([r.weights for r in results]), list(rt.controls),
            np.array([r.face for r in results]))


def evaluate_take(take_dir: Path, models: Path, backend: str = "ort-cpu",
                  method: str = "lprr") -> dict:
    take = Take(take_dir)
    pred, names, faces = predict(take, method, models, backend)
    true = take.weights_for(names)[: len(pred)]
    out = score(pred, true, names)
    out["faces_found"] = int(faces.sum())
    return out
