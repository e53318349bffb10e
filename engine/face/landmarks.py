"""MediaPipe FaceMesh (478 points with irises) in pixel coordinates.

"No face" is a normal result (None), not an exception.
"""
from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lprr.engine.face.topology import IRIS_CENTER_L, IRIS_CENTER_R

log = logging.getLogger(__name__)


FACE_PICKS = ("largest", "centre", "leftmost", "rightmost")
# The front ends lprr.engine.retarget.FrontEnd builds: legacy FaceMesh, the tasks
# FaceLandmarker, and the latter's landmark network in ONNX Runtime (face/onnx_landmarks.py).
LANDMARKERS = ("facemesh", "tasks", "onnx")
# What every built-in method runs on, reads its calibration clips with and cuts training
# patches with: it scores best on real footage for each of them (docs/accuracy.md).
DEFAULT_LANDMARKER = "onnx"


@dataclass
class LandmarkerConfig:
    static_image_mode: bool = False  # False = tracking mode for video
    max_num_faces: int = 4  # look for a few, so one can be followed among them
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    pick: str = "largest"  # which face is followed first (FACE_PICKS)
    lost_frames: int = 15  # the followed face missing this long: another may be taken
    # Faces smaller than this (pixels between the eye centres, in the image the landmarker
    # reads) read as no face. None: the method's own limit (``min_face_px`` on the method
    # class), measured on real faces (README, "Small faces"); 0 reads every face.
    min_face_px: float | None = None
    # Frames whose long side exceeds this are scaled down for the landmarker (its models
    # read 192-256 px crops; a 4K frame cost ~124 ms a frame at full size). The landmarks
    # are scaled back to the full frame, so patches are still cut from it. 0 = never.
    max_side: int = 1920


def frame_scale(frame_bgr: np.ndarray, max_side: int) -> float:
    """The scale from a frame to the image a landmarker reads (below 1 when the frame's long
    side exceeds ``max_side``); a frame that is not HxWx3 is refused."""
    if frame_bgr is None or frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3:
        raise ValueError("expected an HxWx3 BGR uint8 image")
    h, w = frame_bgr.shape[:2]
    return min(1.0, max_side / max(h, w)) if max_side > 0 else 1.0


def landmarker_input(frame_bgr: np.ndarray, max_side: int) -> tuple[np.ndarray, float]:
    """The RGB image a landmarker reads (scaled down if the frame is larger than
    ``max_side``) and the scale from the frame to it."""
    scale = frame_scale(frame_bgr, max_side)
    h, w = frame_bgr.shape[:2]
    if scale < 1.0:
        # bilinear: at 2x it averages 2x2 pixels like INTER_AREA, for 2/3 of its cost on 4K
        frame_bgr = cv2.resize(frame_bgr, (max(1, round(w * scale)), max(1, round(h * scale))),
                               interpolation=cv2.INTER_LINEAR)
    # cvtColor, not a reversed numpy view copied: measured 2-3x cheaper on a 1080p frame
    return cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB), scale


def to_pixels(points, w: int, h: int) -> np.ndarray:
    """MediaPipe's normalised landmarks -> (478, 3) float32 pixels of a w x h frame (z scaled
    like x), the contract of both landmarkers."""
    return np.array([(p.x * w, p.y * h, p.z * w) for p in points], dtype=np.float32)


def face_size(pts: np.ndarray) -> float:
    """Pixels between the eye centres (the iris centres) of (478, 3) landmarks."""
    return float(np.linalg.norm(pts[IRIS_CENTER_L, :2] - pts[IRIS_CENTER_R, :2]))


class FaceFollower:
    """One face followed through time among the faces a landmarker finds.

    The face nearest to where the followed one was (and of a similar size) is kept; when it
    is not among them, the frame reads as no face (the post-processing holds, then eases to
    neutral) until it has been missing ``lost_frames`` frames (or as many frames as it had
    been seen, if fewer: a one-frame false detection does not hold the real face off);
    only then is another face taken, by ``pick``. Largest-per-frame would jump between two
    similar faces."""

    def __init__(self, config: LandmarkerConfig):
        if config.pick not in FACE_PICKS:
            from lprr.engine.errors import UserError

            raise UserError(f"unknown face pick {config.pick!r} "
                            f"(choose from {', '.join(FACE_PICKS)})")
        self.config = config
        self.note: str | None = None  # why the last frame reads as no face, if it has one
        self._said: set[str] = set()
        self.reset()

    def reset(self) -> None:
        """Forget the followed face (stills: every image picks afresh)."""
        self._centre: np.ndarray | None = None
        self._size = 0.0
        self._missing = 0
        self._followed = 0  # frames the followed face has been seen in a row

    def choose(self, faces: list[np.ndarray], width: int, seen_scale: float = 1.0) -> int | None:
        """Index of the followed face among ``faces`` (pixel landmarks), or None.
        ``seen_scale``: the landmarker's image over the frame (the size limit applies to the
        pixels the landmarker saw)."""
        self.note = None
        if self.config.static_image_mode:
            self.reset()
        centres = [f[:, :2].mean(0) for f in faces]
        sizes = [face_size(f) for f in faces]
        j: int | None = None
        kept = False  # the followed face found again (else a face picked afresh)
        if self._centre is not None and faces:
            d = [float(np.linalg.norm(c - self._centre)) for c in centres]
            k = int(np.argmin(d))
            if d[k] < 1.5 * self._size and 0.5 < sizes[k] / max(self._size, 1e-6) < 2.0:
                j, kept = k, True
        if j is None:
            self._missing += 1
            # a face seen only briefly (a spurious detection) is held no longer than it was seen
            hold = min(self.config.lost_frames, self._followed)
            if self._centre is not None and self._missing < hold:
                if faces:
                    self.note = "followed face lost"
                return None
            if not faces:
                return None
            j = self._first_pick(centres, sizes, width)
        self._followed = self._followed + 1 if kept else 1
        self._centre, self._size, self._missing = centres[j], sizes[j], 0
        if len(faces) > 1:
            self._once("faces", "%d faces in view; following one of them (the %s at first; "
                       "--face chooses)", len(faces), self.config.pick)
        limit = self.config.min_face_px or 0.0
        if (seen := sizes[j] * seen_scale) < limit:
            self.note = "face too small"
            self._once("small", "the face is too small to read (%.0f px between the eyes, "
                       "below %.0f): it reads as no face until it is nearer", seen, limit)
            return None
        return j

    def _once(self, key: str, msg: str, *args: object) -> None:
        if key not in self._said and not self.config.static_image_mode:
            self._said.add(key)
            log.warning(msg, *args)

    def _first_pick(self, centres: list[np.ndarray], sizes: list[float], width: int) -> int:
        pick = self.config.pick
        if pick == "largest":
            return int(np.argmax(sizes))
        xs = [float(c[0]) for c in centres]
        if pick == "leftmost":
            return int(np.argmin(xs))
        if pick == "rightmost":
            return int(np.argmax(xs))
        return int(np.argmin([abs(x - width / 2) for x in xs]))  # centre


class FaceLandmarker:
    """Wraps ``mp.solutions.face_mesh.FaceMesh`` with ``refine_landmarks=True``."""

    def __init__(self, config: LandmarkerConfig | None = None, *, static: bool | None = None):
        import mediapipe as mp  # heavy import, deferred until a landmarker is built

        self.config = config or LandmarkerConfig()
        if static is not None:
            self.config.static_image_mode = static
        # Its C++ log lines are filtered out by the lprr process (app/native_logs.py).
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=self.config.static_image_mode,
            max_num_faces=self.config.max_num_faces,
            refine_landmarks=True,
            min_detection_confidence=self.config.min_detection_confidence,
            min_tracking_confidence=self.config.min_tracking_confidence,
        )
        self.follower = FaceFollower(self.config)
        self.last_num_faces = 0

    def detect(self, frame_bgr: np.ndarray, t: float | None = None) -> np.ndarray | None:
        """Return (478, 3) float32 landmarks in pixels (z scaled like x), or None for no face.
        ``t`` (the frame's time) is not needed here; it keeps one signature for both
        landmarkers (engine/face/tasks.py)."""
        rgb, scale = landmarker_input(frame_bgr, self.config.max_side)
        h, w = frame_bgr.shape[:2]  # normalised landmarks -> the full frame's pixels
        res = self._mesh.process(rgb)
        faces = [to_pixels(f.landmark, w, h) for f in (res.multi_face_landmarks or [])]
        self.last_num_faces = len(faces)
        j = self.follower.choose(faces, w, scale)
        return None if j is None else faces[j]

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> FaceLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_landmarker(kind: str, config: LandmarkerConfig | None = None):
    """The landmarker named ``kind`` (one of ``LANDMARKERS``); each has ``detect(frame, t)``,
    ``follower``, ``last_num_faces`` and ``close()``."""
    config = config or LandmarkerConfig()
    if kind == "facemesh":
        return FaceLandmarker(config)
    if kind == "tasks":
        from lprr.engine.face.tasks import TaskLandmarker

        return TaskLandmarker(config)
    if kind == "onnx":
        from lprr.engine.face.onnx_landmarks import OnnxLandmarker

        return OnnxLandmarker(config)
    raise ValueError(f"unknown landmarker {kind!r} ({', '.join(LANDMARKERS)})")


def detect_stream(landmarker, frames: Iterable[np.ndarray]
                  ) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """(frame, landmarks) for each frame, in order, as ``landmarker.detect`` reads them one
    by one; a landmarker with ``detect_many`` (onnx) reads them two at a time, on two
    threads (1.6-1.9x the frames/s of one at a time on real clips, the same landmarks)."""
    many = getattr(landmarker, "detect_many", None)
    if many is None:
        for frame in frames:
            yield frame, landmarker.detect(frame)
        return
    it = iter(frames)
    while True:
        pair = list(itertools.islice(it, 2))
        if not pair:
            return
        for frame, (pts, _) in zip(pair, many(pair)):
            yield frame, pts


def track_landmarks(frames: Iterable[np.ndarray], max_faces: int | None = None,
                    max_frames: int | None = None, landmarker: str = "facemesh"
                    ) -> list[np.ndarray | None]:
    """Landmarks of each frame in tracking mode, as live (None: no face), by the landmarker
    named ``landmarker``. Stops after ``max_faces`` frames with a face or ``max_frames``
    frames."""
    out: list[np.ndarray | None] = []
    faces = 0
    with open_landmarker(landmarker) as fl:
        for _, pts in detect_stream(fl, frames):
            out.append(pts)
            faces += pts is not None
            if (max_faces is not None and faces >= max_faces) or (
                    max_frames is not None and len(out) >= max_frames):
                break
    return out


def clip_frames(source: str | Path):
    """The frames of a video, an image folder or a take folder (its frames only: its
    weights are never opened), as a capture source."""
    from lprr.engine.capture import open_source
    from lprr.engine.errors import UserError
    from lprr.engine.take import TakeError, is_take, take_frames

    path = Path(source)
    if not path.exists():
        raise UserError(f"calibration: no such file or folder: {path}")
    try:
        return open_source(take_frames(path) if is_take(path) else path)
    except TakeError as e:
        raise UserError(f"calibration: {e}") from None


def calibration_landmarks(source: str | Path, max_faces: int, landmarker: str = "facemesh"
                          ) -> np.ndarray:
    """(F, 478, 3): the first ``max_faces`` face frames of an unlabelled clip of the
    performer (a calibration take that starts neutral), looking at most 20x that many
    frames, read by the landmarker the method runs on (``landmarker``)."""
    from lprr.engine.errors import UserError

    src = clip_frames(source)
    try:
        faces = [p for p in track_landmarks(src, max_faces, 20 * max_faces, landmarker)
                 if p is not None]
    finally:
        src.close()
    if not faces:
        raise UserError(f"calibration: no face found in {source}")
    return np.stack(faces)
