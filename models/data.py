"""Patch datasets for training, from demo-world takes or a plain performer video.

- A performer source (a take folder or any video) goes through the same MediaPipe + APEM
  path as live use, so the RM trains on what it will see at run time.
- A character take carries its projected landmarks, so its patches are cut from those:
  no face detector runs on the character.

Patches are cached keyed by frame count: a take's next to it (``<take>/patches.npz``, our
own generated data); a user's video in lprr's cache folder (``user_config.cache_dir()``),
never beside the user's files.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from tqdm import tqdm

from lprr.engine.errors import UserError
from lprr.engine.face.apem import PATCH_NAMES, PatchFrame, crop
from lprr.engine.face.sketch import to_patch
from lprr.engine.retarget import to_model_input
from lprr.engine.take import Take

log = logging.getLogger(__name__)
CACHE_NAME = "patches.npz"


def _cache_path(src: Path) -> Path:
    if src.is_dir() and (src / "meta.json").is_file():
        return src / CACHE_NAME
    from lprr.engine.user_config import cache_dir, file_key

    folder = cache_dir() / "patches"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{src.name}-{file_key(src)}.npz"


def _load_cache(path: Path) -> dict[str, np.ndarray] | None:
    if not path.is_file():
        return None
    try:
        with np.load(path) as z:
            return {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        log.warning("ignoring unreadable cache %s (%s)", path, e)
        return None


def character_patches(take_dir: str | Path, max_frames: int | None = None
                      ) -> dict[str, np.ndarray]:
    """{lip, eye_l, eye_r: (N,128,128,3) uint8 BGR, lm_patch: (N,3,478,2) landmarks in
    patch pixels, weights: (N,C), index: (N,)}."""
    take = Take(take_dir)
    if take.landmarks is None:
        raise UserError(f"{take.path}: a character take needs landmarks.npy")
    cache = _cache_path(take.path)
    data = _load_cache(cache)
    n = len(take) if max_frames is None else min(len(take), max_frames)
    if data is None or len(data["index"]) != n or "lm_patch" not in data:
        out: dict[str, list] = {p: [] for p in PATCH_NAMES}
        index, lm_patch = [], []
        for i, frame in enumerate(tqdm(take.frames(), total=n, desc="character patches",
                                       unit="frame")):
            if i >= n:
                break
            lm = take.landmarks[i]
            if not np.isfinite(lm).all():
                continue
            p = crop(frame, PatchFrame.from_landmarks(lm))
            for k in PATCH_NAMES:
                out[k].append(p.images[k])
            lm_patch.append(to_patch(lm, p.transforms))
            index.append(i)
        data = {k: np.stack(v) for k, v in out.items()}
        data["index"] = np.asarray(index)
        data["lm_patch"] = np.stack(lm_patch)
        np.savez(cache, **data)
    if take.weights is not None:
        data["weights"] = take.weights[data["index"]]
    data["controls"] = np.asarray(take.controls)
    return data


def performer_patches(source: str | Path, max_frames: int | None = None
                      ) -> dict[str, np.ndarray]:
    """Patches from a performer take or a plain video, through MediaPipe + APEM:
    {lip, eye_l, eye_r, index, lm_patch, landmarks (N,478,3) image pixels}."""
    from lprr.engine.capture import ImageFolderSource, open_source

    src = Path(source)
    if src.is_dir() and (src / "meta.json").is_file():
        take = Take(src)
        frames, total, fps, still = take.frames(), len(take), take.fps, False
    else:
        fs = open_source(src)
        frames, total, fps = iter(fs), len(fs), fs.fps or 30.0
        still = isinstance(fs, ImageFolderSource)
    n = total if max_frames is None else min(total, max_frames)
    cache = _cache_path(src)
    data = _load_cache(cache)
    if data is None or int(data.get("n", [-1])[0]) != n or "landmarks" not in data:
        data = _extract_performer(src, frames, n, fps, still)
        np.savez(cache, **data)
    if src.is_dir() and (src / "weights.csv").is_file():
        data["weights"] = Take(src).weights[data["index"]]
    return data


def _extract_performer(src: Path, frames, n: int, fps: float, still: bool
                       ) -> dict[str, np.ndarray]:
    from lprr.engine.extract import extract_frames

    def limited():
        for i, f in enumerate(frames):
            if i >= n:
                return
            yield f

    ex = extract_frames(limited(), still=still, fps=fps, source=str(src),
                        progress=lambda it: tqdm(it, total=n, desc="performer patches",
                                                 unit="frame"))
    if ex.summary.faces == 0:
        raise UserError(f"{src}: no face found in any frame")
    log.info("performer: %d frames, %d with a face", ex.summary.frames, ex.summary.faces)
    lm_patch = np.stack([to_patch(ex.landmarks[i], t) for i, t in zip(ex.index, ex.transforms)])
    return {**ex.patches, "index": ex.index, "n": np.asarray([n]), "lm_patch": lm_patch,
            "landmarks": ex.landmarks[ex.index].astype(np.float32)}


def to_tensor_batch(patches_bgr: np.ndarray):
    """(N,H,W,3) uint8 BGR -> (N,3,H,W) float32 RGB in [0,1]: the run-time's own conversion,
    so training sees exactly what the engine feeds the models."""
    import torch

    return torch.from_numpy(to_model_input(patches_bgr))


def rm_sketches(lm_patch: np.ndarray, mapping=None) -> dict[str, np.ndarray]:
    """(N,3,478,2) patch-space landmarks -> {patch: (N,128,128) uint8 sketches}."""
    from lprr.engine.face.sketch import sketches

    drawn = np.stack([sketches(p, mapping) for p in lm_patch]) if len(lm_patch) else \
        np.zeros((0, len(PATCH_NAMES), 128, 128), np.uint8)
    return {p: drawn[:, k] for k, p in enumerate(PATCH_NAMES)}


def rm_input_batch(patches_bgr: np.ndarray, sketch: np.ndarray | None = None):
    """(N,3 or 4,H,W) float32: the patch, plus its sketch channel in [0,1] when given."""
    import torch

    x = to_tensor_batch(patches_bgr)
    if sketch is None:
        return x
    return torch.cat([x, torch.from_numpy(sketch[:, None].astype(np.float32) / 255.0)], 1)
