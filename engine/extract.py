"""Batch patch extraction: frames -> landmarks -> APEM patches on disk.

Output folder::

    lip.npy, eye_l.npy, eye_r.npy   (F, 128, 128, 3) uint8 BGR, one row per frame WITH a face
    index.npy                       (F,) int   frame number of each row
    transforms.npy                  (F, 3, 2, 3) image->patch similarity per patch
    landmarks.npy                   (N, 478, 3) float32 pixels, NaN rows where no face
    summary.json                    frames, faces found, frames skipped, source
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from lprr.engine.capture import ImageFolderSource, Source
from lprr.engine.face.apem import PATCH_NAMES, PATCH_SIZE, Apem
from lprr.engine.face.landmarks import (
    DEFAULT_LANDMARKER,
    LandmarkerConfig,
    detect_stream,
    open_landmarker,
)
from lprr.engine.face.topology import N_LANDMARKS

log = logging.getLogger(__name__)


@dataclass
class ExtractSummary:
    source: str
    frames: int
    faces: int
    skipped: int


@dataclass
class Extracted:
    patches: dict[str, np.ndarray]
    index: np.ndarray
    transforms: np.ndarray
    landmarks: np.ndarray
    summary: ExtractSummary


def extract_frames(frames: Iterable[np.ndarray], *, still: bool, fps: float = 30.0,
                   source: str = "", size: int = PATCH_SIZE,
                   progress: Callable[[Iterable], Iterable] | None = None,
                   landmarker: str = DEFAULT_LANDMARKER) -> Extracted:
    """Run landmarks + APEM over frames. Still images are independent (static mode)."""
    patches: dict[str, list[np.ndarray]] = {n: [] for n in PATCH_NAMES}
    index, transforms, landmarks = [], [], []
    apem = Apem(size=size, stabilize=not still)
    it = progress(frames) if progress else frames
    with open_landmarker(landmarker, LandmarkerConfig(static_image_mode=still)) as lm:
        for i, (frame, pts) in enumerate(detect_stream(lm, it)):
            if pts is None:
                landmarks.append(np.full((N_LANDMARKS, 3), np.nan, np.float32))
                apem.reset()
                continue
            landmarks.append(pts)
            res = apem(frame, pts, i / fps)
            assert res is not None  # APEM returns patches whenever it is given landmarks
            for n in PATCH_NAMES:
                patches[n].append(res.images[n])
            transforms.append(np.stack([res.transforms[n] for n in PATCH_NAMES]))
            index.append(i)
    total = len(landmarks)
    empty = np.zeros((0, size, size, 3), np.uint8)
    return Extracted(
        patches={k: np.stack(v) if v else empty for k, v in patches.items()},
        index=np.asarray(index, dtype=np.int64),
        transforms=np.asarray(transforms, dtype=np.float32).reshape(-1, 3, 2, 3),
        landmarks=np.stack(landmarks) if landmarks else np.zeros((0, N_LANDMARKS, 3)),
        summary=ExtractSummary(source, total, len(index), total - len(index)),
    )


def extract_source(src: Source, **kw) -> Extracted:
    """Still images are landmarked one by one; a video is tracked."""
    return extract_frames(iter(src), still=isinstance(src, ImageFolderSource),
                          fps=src.fps or 30.0, source=src.name, **kw)


def save_extracted(ex: Extracted, out: Path) -> Path:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, arr in ex.patches.items():
        np.save(out / f"{name}.npy", arr)
    np.save(out / "index.npy", ex.index)
    np.save(out / "transforms.npy", ex.transforms)
    np.save(out / "landmarks.npy", ex.landmarks.astype(np.float32))
    (out / "summary.json").write_text(json.dumps(asdict(ex.summary), indent=2))
    return out
