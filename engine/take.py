"""A take on disk: frames, per-frame rig weights, landmarks and metadata.

One format for the demo world, the Blender render script and real data::

    TAKE/
      frames.avi        MJPG video (or frames/000000.png ... for image sequences)
      weights.csv       frame,time,<one column per control>   (optional for real video)
      landmarks.npy     (N, 478, 3) float32 pixels, NaN rows where no face
      meta.json         {"controls", "fps", "source", "seed", "kind", "size", "frames", ...}
"""
from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

log = logging.getLogger(__name__)

VIDEO_NAME = "frames.avi"
FRAMES_DIR = "frames"


class TakeError(RuntimeError):
    """A take is missing or unreadable."""


def write_weights_csv(path: Path, names: Sequence[str], weights: np.ndarray, fps: float) -> None:
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["frame", "time", *names])
        for i, row in enumerate(np.asarray(weights, dtype=np.float64)):
            w.writerow([i, f"{i / fps:.6f}", *(f"{v:.6f}" for v in row)])


def read_weights_csv(path: Path) -> tuple[list[str], np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0][:2] != ["frame", "time"]:
        raise TakeError(f"{path}: expected a header starting with frame,time")
    names = rows[0][2:]
    data = np.array([[float(v) for v in r[2:]] for r in rows[1:]], dtype=np.float32)
    return names, data.reshape(len(rows) - 1, len(names))


@dataclass
class TakeWriter:
    """Streams frames to disk; call ``close`` (or use as a context manager) to finish."""

    out: Path
    fps: float
    controls: Sequence[str]
    meta: dict = field(default_factory=dict)
    jpeg_quality: int = 95

    def __post_init__(self) -> None:
        self.out = Path(self.out)
        self.out.mkdir(parents=True, exist_ok=True)
        self._video: cv2.VideoWriter | None = None
        self._weights: list[np.ndarray] = []
        self._landmarks: list[np.ndarray] = []
        self._size: tuple[int, int] | None = None

    def add(self, frame_bgr: np.ndarray, weights: np.ndarray | None,
            landmarks: np.ndarray | None) -> None:
        h, w = frame_bgr.shape[:2]
        if self._video is None:
            self._size = (w, h)
            self._video = cv2.VideoWriter(
                str(self.out / VIDEO_NAME), cv2.VideoWriter.fourcc(*"MJPG"), self.fps, (w, h)
            )
            self._video.set(cv2.VIDEOWRITER_PROP_QUALITY, self.jpeg_quality)
            if not self._video.isOpened():
                raise TakeError(f"cannot write video in {self.out}")
        self._video.write(np.ascontiguousarray(frame_bgr))
        if weights is not None:
            self._weights.append(np.asarray(weights, dtype=np.float32))
        lm = np.full((478, 3), np.nan, np.float32) if landmarks is None else landmarks
        self._landmarks.append(np.asarray(lm, dtype=np.float32))

    def close(self) -> Path:
        if self._video is not None:
            self._video.release()
        n = len(self._landmarks)
        if self._weights:
            write_weights_csv(self.out / "weights.csv", self.controls, np.stack(self._weights),
                              self.fps)
        if n:
            np.save(self.out / "landmarks.npy", np.stack(self._landmarks))
        meta = {"controls": list(self.controls), "fps": self.fps, "frames": n,
                "size": list(self._size or (0, 0)), **self.meta}
        (self.out / "meta.json").write_text(json.dumps(meta, indent=2))
        return self.out

    def __enter__(self) -> TakeWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def is_take(path: str | Path) -> bool:
    return (Path(path) / "meta.json").is_file()


def take_frames(path: str | Path) -> Path:
    """A take folder's video, or its folder of frame images; found without reading its
    weights or landmarks (an unlabelled use, such as calibration, never opens them)."""
    path = Path(path)
    for p in (path / VIDEO_NAME, path / FRAMES_DIR):
        if p.exists():
            return p
    raise TakeError(f"{path}: no {VIDEO_NAME} and no {FRAMES_DIR}/")


class Take:
    """Reads a take folder. Frames stream lazily; weights and landmarks load eagerly."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        meta_path = self.path / "meta.json"
        if not meta_path.is_file():
            raise TakeError(f"{self.path}: not a take (no meta.json)")
        try:
            self.meta: dict = json.loads(meta_path.read_text())
        except json.JSONDecodeError as e:
            raise TakeError(f"{meta_path}: corrupt JSON ({e})") from None
        self.fps = float(self.meta.get("fps", 30.0))
        wpath = self.path / "weights.csv"
        self.controls: list[str] = list(self.meta.get("controls", []))
        self.weights: np.ndarray | None = None
        if wpath.is_file():
            self.controls, self.weights = read_weights_csv(wpath)
        lpath = self.path / "landmarks.npy"
        self.landmarks: np.ndarray | None = np.load(lpath) if lpath.is_file() else None

    def __len__(self) -> int:
        if self.landmarks is not None:
            return len(self.landmarks)
        return int(self.meta.get("frames", 0))

    @property
    def frames_path(self) -> Path:
        """The take's video, or its folder of frame images."""
        return take_frames(self.path)

    def frames(self) -> Iterator[np.ndarray]:
        from lprr.engine.capture import open_source

        return iter(open_source(self.frames_path))

    def weights_for(self, names: Sequence[str]) -> np.ndarray:
        """Weights re-ordered to ``names`` (map by name, never by index); missing names are 0."""
        if self.weights is None:
            raise TakeError(f"{self.path}: take has no weights.csv")
        idx = {n: i for i, n in enumerate(self.controls)}
        out = np.zeros((len(self.weights), len(names)), np.float32)
        for j, n in enumerate(names):
            if n in idx:
                out[:, j] = self.weights[:, idx[n]]
        return out
