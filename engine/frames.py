"""Read frames from an image, a folder of images, or a video file, with clear errors."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.errors import UserError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


@dataclass
class FrameSource:
    path: Path
    kind: str  # "image" | "folder" | "video"
    count: int  # frames expected (a video's count is the container's estimate)
    fps: float

    @property
    def is_still(self) -> bool:
        return self.kind != "video"

    def __iter__(self) -> Iterator[np.ndarray]:
        if self.kind == "video":
            yield from _video_frames(self.path)
        else:
            files = [self.path] if self.kind == "image" else _images_in(self.path)
            for f in files:
                img = cv2.imread(str(f), cv2.IMREAD_COLOR)
                if img is None:
                    raise UserError(f"cannot read image {f}")
                yield img


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTS)


def _video_frames(path: Path) -> Iterator[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    try:
        while True:
            ok, frame = cap.read()
            if not ok:
                return
            yield frame
    finally:
        cap.release()


def open_frames(source: str | Path) -> FrameSource:
    """Identify and check a source; raises UserError with one readable line."""
    path = Path(source)
    if not path.exists():
        raise UserError(f"no such file or folder: {path}")
    if path.is_dir():
        files = _images_in(path)
        if not files:
            raise UserError(f"{path}: folder holds no images ({', '.join(IMAGE_EXTS)})")
        return FrameSource(path, "folder", len(files), 30.0)
    if path.suffix.lower() in IMAGE_EXTS:
        if cv2.imread(str(path), cv2.IMREAD_COLOR) is None:
            raise UserError(f"cannot read image {path} (corrupt or not an image)")
        return FrameSource(path, "image", 1, 30.0)
    cap = cv2.VideoCapture(str(path))
    try:
        ok, _ = cap.read() if cap.isOpened() else (False, None)
        if not ok:
            raise UserError(f"cannot read video {path} (corrupt or unsupported format)")
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
    finally:
        cap.release()
    return FrameSource(path, "video", count, fps)
