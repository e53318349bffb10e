"""Frame capture: webcams, video files, image folders and any frame generator, in a thread.

``Capture(source, drop=True)`` reads in a daemon thread and keeps only the LATEST frame (a
one-slot buffer): a slow consumer never builds up latency, and every frame it never saw is
counted in ``dropped``. ``drop=False`` is the "no drop" mode for demos and evaluation: every
frame is delivered, in order, and the reader thread waits for the consumer.

Files and generators are paced at their fps when ``realtime`` is on (the default in latest-frame
mode, off in no-drop mode); cameras pace themselves. Paced and no-drop together (the GUI
playing a file) plays every frame at fps, and after falling behind goes on at fps from
there rather than rushing. Each frame carries its source index, a
``time.monotonic()`` capture time ``t`` and a media time ``media_t`` (index / fps for files and
generators, seconds since the first frame for cameras).
"""
from __future__ import annotations

import collections
import logging
import os
import re
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# FFmpeg (inside OpenCV) prints lines like "moov atom not found" before our one-line error;
# OpenCV reads this when it first opens a video. Set LPRR-wide unless the user chose a level.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2
import numpy as np

from lprr.engine.errors import UserError

log = logging.getLogger(__name__)

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8 (mirrored already if asked)
    index: int  # source frame number, from 0; gaps are frames this consumer never saw
    t: float  # time.monotonic() when the frame was captured
    media_t: float  # seconds in the source's own timeline


# -- sources --------------------------------------------------------------------------------

class Source(ABC):
    """Something that yields BGR frames. ``read`` returns None at the end."""

    fps: float | None = None  # nominal rate; None = unknown (cameras that do not say)
    live: bool = False  # True: frames come at their own pace (camera)
    name: str = "source"
    # The source index of the frame ``read`` returned last, for sources that skip what they
    # cannot decode (so later frames keep their place on the timeline); None: count frames.
    position: int | None = None

    @abstractmethod
    def read(self) -> np.ndarray | None: ...

    def close(self) -> None:
        pass

    def __len__(self) -> int:  # frames expected; 0 = unknown / endless
        return 0

    def __iter__(self) -> Iterator[np.ndarray]:
        """Every frame, in this thread (no capture thread, no drops); closes at the end."""
        try:
            while (frame := self.read()) is not None:
                yield frame
        finally:
            self.close()


class _CvCaptureSource(Source):
    """A ``cv2.VideoCapture`` whose first frame was read when it was opened (as a check)."""

    cap: cv2.VideoCapture
    _first: np.ndarray | None = None

    def read(self) -> np.ndarray | None:
        if self._first is not None:
            f, self._first = self._first, None
            return f
        ok, frame = self.cap.read()
        return frame if ok else None

    def close(self) -> None:
        self.cap.release()


def _camera_backend() -> int:
    if sys.platform.startswith("linux"):
        return cv2.CAP_V4L2
    if sys.platform == "win32":
        return cv2.CAP_DSHOW  # MSMF takes seconds to open and ignores MJPG requests
    if sys.platform == "darwin":
        return cv2.CAP_AVFOUNDATION
    return cv2.CAP_ANY


@dataclass
class CameraInfo:
    index: int
    width: int
    height: int
    fps: float
    backend: str


class _QuietOpenCV:
    """OpenCV prints a warning per missing camera index; keep probing quiet."""

    def __enter__(self) -> None:
        self.level = cv2.getLogLevel() if hasattr(cv2, "getLogLevel") else None
        if self.level is not None:
            cv2.setLogLevel(0)

    def __exit__(self, *exc: object) -> None:
        if self.level is not None:
            cv2.setLogLevel(self.level)


def list_cameras(max_index: int = 5) -> list[CameraInfo]:
    """Cameras that open and deliver a frame, among indices 0..max_index-1."""
    found = []
    for i in range(max_index):
        if sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{i}"):
            continue
        with _QuietOpenCV():
            cap = cv2.VideoCapture(i, _camera_backend())
            try:
                if not cap.isOpened() or not cap.read()[0]:
                    continue
                found.append(CameraInfo(i, int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
                                        int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
                                        float(cap.get(cv2.CAP_PROP_FPS) or 0.0),
                                        cap.getBackendName()))
            finally:
                cap.release()
    return found


class CameraSource(_CvCaptureSource):
    live = True

    def __init__(self, index: int, width: int | None = None, height: int | None = None,
                 fps: float | None = None):
        self.name = f"camera {index}"
        with _QuietOpenCV():
            self.cap = cv2.VideoCapture(index, _camera_backend())
        if not self.cap.isOpened():
            self.cap.release()
            cams = ", ".join(str(c.index) for c in list_cameras()) or "none found"
            raise UserError(f"cannot open camera {index} (cameras: {cams})")
        # MJPG lets most USB webcams do 720p at 30-60 fps; a 1-frame buffer keeps latency low.
        self.cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        if width:
            self.cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            self.cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            self.cap.set(cv2.CAP_PROP_FPS, fps)
        self.cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self.fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0) or None
        ok, self._first = self.cap.read()
        if not ok:
            self.cap.release()
            raise UserError(f"camera {index} opened but delivers no frames (in use by another app?)")


class VideoFileSource(_CvCaptureSource):
    """A video file; an undecodable frame in the middle is skipped with one warning and the
    frames after it keep their index (``position``), so the timeline still lines up."""

    RETRIES = 8  # consecutive undecodable frames skipped before the file counts as ended

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.name = str(self.path)
        if not self.path.is_file():
            raise UserError(f"video not found: {self.path}")
        with _QuietOpenCV():
            self.cap = cv2.VideoCapture(str(self.path))
        if not self.cap.isOpened():
            self.cap.release()
            raise UserError(f"cannot open video {self.path}: not a video, or a codec OpenCV "
                            "cannot read")
        ok, self._first = self.cap.read()
        if not ok or self._first is None:
            self.cap.release()
            raise UserError(f"cannot read video {self.path}: no decodable frames (corrupt or "
                            "empty file)")
        fps = float(self.cap.get(cv2.CAP_PROP_FPS) or 0.0)
        self.fps = fps if 0 < fps < 1000 else 30.0
        self._count = max(0, int(self.cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))
        self._msec0 = float(self.cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
        self._read = 0
        self.position = -1
        self.skipped = 0

    def __len__(self) -> int:
        return self._count

    def read(self) -> np.ndarray | None:
        if self._first is not None:
            f, self._first = self._first, None
            self._read, self.position = 1, 0
            return f
        for attempt in range(self.RETRIES + 1):
            ok, frame = self.cap.read()
            if ok and frame is not None:
                break
            # FFmpeg gives up on one bad packet per read: try the next before calling it
            # the end, unless the header says there is nothing left.
            if self._count and self._read + self.skipped >= self._count - 1:
                break
        else:
            frame = None
        if frame is None:
            if self._count and self._read + self.skipped < self._count - 1:  # a frame or
                # two of slack: containers often overstate their count by one
                log.warning("%s ended early: its header promises %d frames, %d were decodable "
                            "(truncated or corrupt file)", self.path, self._count, self._read)
                self._count = self._read + self.skipped  # said once
            return None
        last = self.position if self.position is not None else -1
        index = last + 1
        if attempt:  # frames were skipped: the decoder's clock says where this one sits
            msec = float(self.cap.get(cv2.CAP_PROP_POS_MSEC) or 0.0)
            index = max(index, round((msec - self._msec0) * (self.fps or 30.0) / 1000.0))
            gap = index - last - 1
            self.skipped += gap
            log.warning("%s: skipped %d undecodable frame%s (%s); the frames after keep "
                        "their place", self.path, gap, "" if gap == 1 else "s",
                        f"frame {last + 1}" if gap == 1 else f"frames {last + 1}-{index - 1}")
        self._read += 1
        self.position = index
        return frame


def _natural_key(p: Path) -> list:
    return [int(s) if s.isdigit() else s.lower() for s in re.split(r"(\d+)", p.name)]


class ImageFolderSource(Source):
    """Images of a folder in natural order (2.png before 10.png); or one image file."""

    def __init__(self, path: str | Path, fps: float = 30.0):
        self.path = Path(path)
        self.name = str(self.path)
        self.fps = fps
        if self.path.is_dir():
            self.files = sorted((p for p in self.path.iterdir()
                                 if p.suffix.lower() in IMAGE_EXTS), key=_natural_key)
        else:
            self.files = [self.path]
        if not self.files:
            raise UserError(f"no images in {self.path} (looked for {', '.join(IMAGE_EXTS)})")
        self._i = 0
        self.unreadable = 0
        self._first: np.ndarray | None = None
        first = self.read()
        if first is None:
            raise UserError(f"cannot read any image in {self.path}")
        self._first, self._first_pos = first, self.position

    def __len__(self) -> int:
        return len(self.files)

    def read(self) -> np.ndarray | None:
        if self._first is not None:
            f, self._first = self._first, None
            self.position = self._first_pos
            return f
        while self._i < len(self.files):
            path = self.files[self._i]
            self._i += 1
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if img is not None:
                self.position = self._i - 1  # its place in the folder, gaps kept
                return img
            self.unreadable += 1
            log.warning("skipping unreadable image %s (frame %d)", path, self._i - 1)
        return None


class GeneratorSource(Source):
    """Frames from Python: an iterable/iterator of BGR frames, a generator function, or a
    callable returning one frame per call (None ends). ``fps`` paces it in realtime mode."""

    def __init__(self, frames: Iterable[np.ndarray] | Callable[[], Any], fps: float = 30.0,
                 name: str = "generator", length: int = 0):
        self.fps = fps
        self.name = name
        self._len = length
        self._call: Callable[[], Any] | None = None
        self._it: Iterator[np.ndarray] | None = None
        self._first: np.ndarray | None = None
        source: Any = frames
        if callable(frames) and not isinstance(frames, Iterable):
            first = frames()
            if first is None or isinstance(first, np.ndarray):
                self._call, self._first = frames, first  # one frame per call
                self._ended = first is None
                return
            source = first  # a generator function: its result is the iterator
        self._it = iter(source)
        self._ended = False

    def __len__(self) -> int:
        return self._len

    def read(self) -> np.ndarray | None:
        if self._ended:
            return None
        if self._first is not None:
            first, self._first = self._first, None
            return first
        f: np.ndarray | None
        if self._call is not None:
            f = self._call()
        else:
            assert self._it is not None
            f = next(self._it, None)
        if f is None:
            self._ended = True
        return f

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if close is not None:
            close()


def open_source(spec: Any, fps: float | None = None) -> Source:
    """A camera index (int or digits), a video file, an image folder or file, or frames from a
    callable/iterable. Every problem is a one-line UserError."""
    if isinstance(spec, Source):
        return spec
    if isinstance(spec, int) or (isinstance(spec, str) and spec.isdigit()):
        return CameraSource(int(spec), fps=fps)
    if isinstance(spec, (str, os.PathLike)):
        p = Path(spec)
        if not p.exists():
            raise UserError(f"no such file or folder: {p}")
        if p.is_dir() or p.suffix.lower() in IMAGE_EXTS:
            return ImageFolderSource(p, fps or 30.0)
        return VideoFileSource(p)
    if callable(spec) or isinstance(spec, Iterable):
        return GeneratorSource(spec, fps or 30.0)
    raise UserError(f"unsupported source {spec!r}")


# -- the capture thread ---------------------------------------------------------------------

class Capture:
    """Reads a source in a daemon thread. ``read()`` gives the next Frame for the consumer."""

    def __init__(self, source: Any, mirror: bool = False, drop: bool = True,
                 realtime: bool | None = None, queue_size: int = 4):
        self.source = open_source(source)
        self.mirror = mirror
        self.drop = drop
        self.realtime = (drop if realtime is None else realtime) and not self.source.live
        self.queue_size = max(1, queue_size)
        self._q: collections.deque[Frame] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.ended = False  # the source has no more frames (or failed: see ``error``)
        self.error: BaseException | None = None
        self.frames_read = 0
        self.delivered = 0
        self.dropped = 0
        self._fps_ema: float | None = None

    @property
    def thread(self) -> threading.Thread | None:
        return self._thread

    # -- control --------------------------------------------------------------------------
    def start(self) -> Capture:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="lprr-capture", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        """Stop the thread and release the source; returns within ``timeout``."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("capture thread still blocked in %s after %.1fs; leaving it (daemon)",
                            self.source.name, timeout)
        else:
            self.source.close()

    def __enter__(self) -> Capture:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """The source ended (or failed, or was stopped) and every kept frame was read."""
        with self._cond:
            return (self.ended or self._stop.is_set()) and not self._q

    @property
    def fps(self) -> float:
        """Measured capture rate (frames per second, smoothed)."""
        return self._fps_ema or 0.0

    def stats(self) -> dict[str, float]:
        return {"read": self.frames_read, "delivered": self.delivered, "dropped": self.dropped,
                "fps": round(self.fps, 2)}

    # -- consumer side ---------------------------------------------------------------------
    def read(self, timeout: float | None = None) -> Frame | None:
        """The next frame (latest one in drop mode); None when finished or on timeout."""
        if self._thread is None:
            self.start()
        end = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._q:
                if self.ended or self._stop.is_set():
                    return None
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            frame = self._q.popleft()
            self.delivered += 1
            self._cond.notify_all()  # a waiting no-drop producer may go on
            return frame

    def __iter__(self) -> Iterator[Frame]:
        while (f := self.read()) is not None:
            yield f

    # -- producer side ---------------------------------------------------------------------
    def _loop(self) -> None:
        src, fps = self.source, self.source.fps
        start = time.monotonic()
        first_t: float | None = None
        last_t: float | None = None
        i = 0
        try:
            while not self._stop.is_set():
                if self.realtime and fps:
                    wait = start + i / fps - time.monotonic()
                    if wait > 0 and self._stop.wait(wait):
                        break
                    if not self.drop and wait < -2.0 / fps:
                        # Paced but never dropping, and the consumer held us back (model
                        # warm-up, a slow stretch): restart the schedule from here, so the
                        # frames after play at fps instead of rushing to catch up.
                        start -= wait
                img = src.read()
                if img is None:
                    break
                t = time.monotonic()
                if self.mirror:
                    img = cv2.flip(img, 1)
                if first_t is None:
                    first_t = t
                index = src.position if src.position is not None else i
                media_t = index / fps if (fps and not src.live) else t - first_t
                if last_t is not None and t > last_t:  # smoothed measured rate
                    inst = 1.0 / (t - last_t)
                    self._fps_ema = inst if self._fps_ema is None else (
                        0.9 * self._fps_ema + 0.1 * inst)
                last_t = t
                self.frames_read += 1
                if not self._put(Frame(img, index, t, media_t)):
                    break
                i += 1
        except Exception as e:  # noqa: BLE001 - reported to the consumer, never lost
            self.error = e
            log.error("capture from %s failed: %s", src.name, e)
        finally:
            with self._cond:
                self.ended = True
                self._cond.notify_all()
            src.close()

    def _put(self, frame: Frame) -> bool:
        with self._cond:
            if self.drop:
                if self._q:  # the consumer never saw the previous frame
                    self._q.clear()
                    self.dropped += 1
                self._q.append(frame)
            else:
                while len(self._q) >= self.queue_size:
                    if self._stop.is_set():
                        return False
                    self._cond.wait(0.1)
                self._q.append(frame)
            self._cond.notify_all()
        return True


# -- the one way a session opens a source ----------------------------------------------------

class LoopingVideo(Source):
    """A video file that starts again at its end: the GUI's demo clip plays until Stop."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._src = VideoFileSource(self.path)
        self.fps = self._src.fps
        self.name = f"{self.path} (looping)"
        self.loops = 0
        self.frames_per_loop = len(self._src)

    def read(self) -> np.ndarray | None:
        img = self._src.read()
        if img is None:
            self._src.close()
            self._src = VideoFileSource(self.path)
            self.loops += 1
            img = self._src.read()
        return img

    def close(self) -> None:
        self._src.close()


def open_capture(source: Any, *, mirror: bool = False, paced: bool | None = None,
                 realtime: bool = False, loop: bool = False, drop: bool | None = None
                 ) -> Capture:
    """A capture (not started) for a camera index, a video file, an image folder or file,
    ``puppet:PHOTO`` (the demo world's performer puppet, standing in for a camera), a
    capture source, or frames from Python. Every session (run, demo, eval, the GUI) opens
    its source here, so they agree on what drops and what is paced:

    - cameras and camera-like endless sources keep only the newest frame;
    - files and folders give every frame in order, read as fast as the pipeline takes them
      (``paced=None`` or False) or at their fps (``paced=True``, the GUI);
    - ``realtime`` plays a file like a camera: paced (unless ``paced=False``), dropping
      frames when behind;
    - ``loop``: a video file starts again at its end;
    - ``drop`` overrides the choice (evaluation never drops).
    """
    src: Source
    if isinstance(source, str):
        source = source.strip()
        if not source:
            raise UserError("no source: pick a camera or open a video file")
    text = str(source) if isinstance(source, (str, Path)) else ""
    if text.startswith("puppet:"):
        from lprr.engine.world.live_puppet import puppet_source

        src = puppet_source(text.split(":", 1)[1])
    elif loop and text and not text.isdigit() and Path(text).is_file() \
            and Path(text).suffix.lower() not in IMAGE_EXTS:
        src = LoopingVideo(text)
    else:
        src = open_source(text if isinstance(source, Path) else source)
    # an endless generator (the puppet) stands in for a camera
    camera_like = src.live or (isinstance(src, GeneratorSource) and len(src) == 0)
    if paced is None:  # decided by the source; realtime plays a file at its fps
        paced = camera_like or realtime
    pacing = paced and not src.live
    if drop is None:
        drop = src.live or (pacing and (realtime or camera_like))
    return Capture(src, mirror=mirror, drop=drop, realtime=pacing)


def capture_frames(cap: Capture) -> Iterator[tuple[int, float, np.ndarray, float]]:
    """(index, media time, image, capture time) from a running capture, the capture time on
    ``time.monotonic()``, the clock latency is measured on; raises its error at the end."""
    for f in cap:
        yield f.index, f.media_t, f.image, f.t
    if cap.error is not None:
        raise UserError(f"capture failed: {cap.error}")
