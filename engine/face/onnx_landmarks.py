"""MediaPipe's v2 landmark network in ONNX Runtime, with lprr's own tracking: the tasks
FaceLandmarker's landmarks at about twice its speed.

The tasks FaceLandmarker (engine/face/tasks.py) reads the best landmarks on real footage, but
its graph costs about 10 ms a frame on 2 cores while its landmark network alone costs 2-3 ms.
This landmarker runs that network, converted from the vendored ``face_landmarker.task`` by
``scripts/export_mediapipe.py`` to ``assets/mediapipe/face_landmarks.onnx`` (Apache-2.0,
Google; see the NOTICE there), on a crop it places itself, as MediaPipe's graph does in
tracking mode:

- the crop for the next frame is the square around this frame's landmarks, 1.5x their
  bounding box's long side, turned so the eye corners (33 -> 263) lie level; frames go in
  pairs, and a pair's second frame reads a crop placed before its first frame is read (the
  last crop moved on by the face's last motion), so the two can run at once on two cores
  (``detect_many``; the landmarks are the same whether they do or not);
- the network reads that crop at 256x256 (RGB in [0, 1]) and says how sure it is that a
  face is there; below ``min_tracking_confidence`` the track is lost;
- with no track (the first frame, a lost face) the tasks FaceLandmarker, in image mode, finds
  the faces and the followed one seeds the track. So a new face costs one full detection and
  every later frame only the network.

The contract is the other landmarkers' (pixels, z scaled like x, None for no face). Faces
besides the followed one are not looked for while it is tracked. ``last_tongue`` is the
network's own tongue-out score, which MediaPipe's blendshapes do not carry.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from lprr.engine.face.landmarks import FaceFollower, LandmarkerConfig, frame_scale
from lprr.engine.paths import ASSETS

log = logging.getLogger(__name__)

LANDMARK_MODEL = ASSETS / "mediapipe" / "face_landmarks.onnx"
LANDMARK_SHA256 = "bde15c20a6564e41991e9d596fa3f6809726115472e3e97977ca2a3628393b90"
CROP = 256  # the network's input side
ROI_SCALE = 1.5  # MediaPipe's face rect for the next frame: 1.5x the landmarks' box
EYE_OUTER_L, EYE_OUTER_R = 33, 263  # the keypoints MediaPipe levels the crop by


def roi_from_landmarks(pts: np.ndarray) -> tuple[float, float, float, float]:
    """(centre x, centre y, side, angle) in pixels/radians of the crop that follows ``pts``
    ((478, 3) pixels): MediaPipe's DetectionsToRects + RectTransformation for faces."""
    lo, hi = pts[:, :2].min(0), pts[:, :2].max(0)
    cx, cy = (lo + hi) / 2
    side = float((hi - lo).max()) * ROI_SCALE
    d = pts[EYE_OUTER_R, :2] - pts[EYE_OUTER_L, :2]
    return float(cx), float(cy), side, math.atan2(float(d[1]), float(d[0]))


def crop_affine(roi: tuple[float, float, float, float]) -> np.ndarray:
    """(2, 3) map from the crop's pixels to the frame's: the crop's x axis along the eyes."""
    cx, cy, side, a = roi
    k = side / CROP
    c, s = math.cos(a) * k, math.sin(a) * k
    # crop pixel (u, v) -> centre + R(a) @ ((u, v) - CROP / 2) * side / CROP
    return np.array([[c, -s, cx - (c - s) * CROP / 2], [s, c, cy - (s + c) * CROP / 2]],
                    np.float64)


GUESS_SHIFT = 0.02  # of the side: how far a guessed crop may lie from the exact one
GUESS_TURN = math.radians(2.0)


def _near(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether crop ``a`` lies within GUESS_SHIFT / GUESS_TURN of crop ``b``."""
    side = b[2]
    turn = abs((a[3] - b[3] + math.pi) % (2 * math.pi) - math.pi)
    return (math.hypot(a[0] - b[0], a[1] - b[1]) <= GUESS_SHIFT * side
            and abs(a[2] - side) <= GUESS_SHIFT * side and turn <= GUESS_TURN)


class OnnxLandmarker:
    """MediaPipe's v2 landmark network in ORT, tracked by lprr (see the module docstring)."""

    def __init__(self, config: LandmarkerConfig | None = None, *, static: bool | None = None,
                 model: str | Path | None = None, threads: int = 1):
        from lprr.engine.backends.ort import vendored_session
        from lprr.engine.face.tasks import TaskLandmarker

        self.config = config or LandmarkerConfig()
        if static is not None:
            self.config.static_image_mode = static
        # One thread: without spinning workers (which would eat the core the rest of the
        # pipeline needs) two threads ran this network slower than one (4.3 against 3.7 ms).
        self._session = vendored_session(model, LANDMARK_MODEL, LANDMARK_SHA256,
                                         "MediaPipe landmark model", threads)
        self._input = self._session.get_inputs()[0].name
        # Finds faces when there is no track (image mode: every call detects afresh); the
        # followed face is chosen here, by this landmarker's follower.
        self._finder = TaskLandmarker(replace(self.config, static_image_mode=True),
                                      blendshapes=False)
        self.follower = FaceFollower(self.config)
        self._roi: tuple[float, float, float, float] | None = None  # from the last landmarks
        self._prev: tuple[float, float, float, float] | None = None  # the one before
        self._held: tuple[float, float, float, float] | None = None  # the pair's crop
        self._count = 0  # frames read: pairs are frames (2k, 2k + 1)
        self._pool: ThreadPoolExecutor | None = None  # runs a pair's second frame
        self.last_num_faces = 0
        self.last_presence = 0.0
        self.last_tongue: float | None = None
        self.finds = 0  # full detections run (a new or lost face), for the log and tests

    def _landmarks(self, frame_bgr: np.ndarray, roi) -> tuple[np.ndarray, float, float]:
        """The network on ``roi``: (478, 3) frame pixels, presence and tongue-out scores."""
        m = crop_affine(roi)
        # m maps continuous coordinates (a pixel's centre at +0.5, as landmarks are);
        # warpAffine maps pixel indices
        w = m.copy()
        w[:, 2] += m[:, :2].sum(1) * 0.5 - 0.5
        crop = cv2.warpAffine(frame_bgr, w, (CROP, CROP),
                              flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT)
        x = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32)[None] * (1 / 255)
        lm, presence, tongue = self._session.run(None, {self._input: x})
        uv = lm.reshape(-1, 3)
        pts = np.empty_like(uv)
        pts[:, :2] = uv[:, :2] @ m[:, :2].T + m[:, 2]
        pts[:, 2] = uv[:, 2] * (roi[2] / CROP)  # z in crop pixels -> frame pixels
        score = 1.0 / (1.0 + math.exp(-float(presence.reshape(-1)[0])))
        return pts, score, float(tongue.reshape(-1)[0])

    def _find(self, frame_bgr: np.ndarray) -> list[np.ndarray]:
        """Every face in the frame, found afresh by the tasks landmarker (image mode)."""
        self.finds += 1
        self._finder.detect(frame_bgr)
        return self._finder.last_faces

    def detect(self, frame_bgr: np.ndarray, t: float | None = None) -> np.ndarray | None:
        """(478, 3) float32 landmarks in pixels, or None. ``t`` is not needed (one signature
        for every landmarker)."""
        return self._read(frame_bgr)

    def detect_many(self, frames: Sequence[np.ndarray]
                    ) -> list[tuple[np.ndarray | None, float | None]]:
        """Each frame's landmarks and tongue-out score, in order: exactly what ``detect``
        gives one frame at a time, but the two frames of a pair run the network at once (on
        this thread and a helper thread: ORT lets go of the GIL). Offline loops read this way
        (``landmarks.detect_stream``: extraction, the eval's clip reads), 1.6-1.9x the
        frames/s of one at a time; the live pipeline with ``PipelineConfig.front_batch=2``."""
        out: list[tuple[np.ndarray | None, float | None]] = []
        i = 0
        while i < len(frames):
            roi, guess = self._roi, self._guess()
            if (i + 1 < len(frames) and self._count % 2 == 0 and roi is not None
                    and guess is not None and not self.config.static_image_mode):
                if self._pool is None:
                    self._pool = ThreadPoolExecutor(1, thread_name_prefix="lprr-landmarks")
                ahead = self._pool.submit(self._landmarks, frames[i + 1], guess)
                first = self._landmarks(frames[i], roi)
                second = ahead.result()
                out.append((self._read(frames[i], (roi, first)), self.last_tongue))
                out.append((self._read(frames[i + 1], (guess, second)), self.last_tongue))
                i += 2
            else:
                out.append((self._read(frames[i]), self.last_tongue))
                i += 1
        return out

    def _read(self, frame_bgr: np.ndarray,
              ran: tuple[tuple[float, float, float, float], tuple] | None = None
              ) -> np.ndarray | None:
        """One frame. ``ran``: (crop, the network's output on it), run ahead of time; used
        only if it is the crop this frame reads.

        Frames go in pairs (by count): when the first frame of a pair is tracked, the second
        reads a crop placed before the first was read (``_guess``), so both can run at once.
        One frame alone or two together give the same landmarks."""
        # the network reads its crop from the full frame; the size limit counts the pixels
        # the finder sees (lprr.engine.face.landmarks.LandmarkerConfig.max_side)
        scale = frame_scale(frame_bgr, self.config.max_side)
        if self.config.static_image_mode:
            self._roi = self._prev = self._held = None
        second = self._count % 2 == 1
        self._count += 1
        roi = self._held if second and self._held is not None else self._roi
        guess = None if second else self._guess()
        self._held = None
        pts: np.ndarray | None = None
        if roi is not None:
            if ran is not None and ran[0] == roi:
                pts, self.last_presence, self.last_tongue = ran[1]
            else:
                pts, self.last_presence, self.last_tongue = self._landmarks(frame_bgr, roi)
            if self.last_presence < self.config.min_tracking_confidence:
                pts = self._roi = None
        tracked = pts is not None
        faces = [pts] if pts is not None else self._find(frame_bgr)
        self.last_num_faces = len(faces)
        j = self.follower.choose(faces, frame_bgr.shape[1], scale)
        if j is None:
            self._roi = self._prev = None
            self.last_tongue = None
            return None
        if pts is None:  # a fresh face: the network's reading of it, from its found landmarks
            pts, self.last_presence, self.last_tongue = self._landmarks(
                frame_bgr, roi_from_landmarks(faces[j]))
        self._prev, self._roi = (self._roi if tracked else None), roi_from_landmarks(pts)
        if tracked and not second and guess is not None and _near(guess, self._roi):
            self._held = guess  # else the second frame reads the crop these landmarks place
        return pts.astype(np.float32)

    def _guess(self) -> tuple[float, float, float, float] | None:
        """The crop a pair's second frame reads, placed before its first frame is read: the
        last crop moved on by the face's motion over the last frame (centre and roll; the
        side stays). It is read only if it lies near the crop the first frame's landmarks
        then place (``_near``), the crop one frame at a time would read; else the second
        frame is read again on that one (a cut, a sudden turn). Reading the last crop as it
        was, unchecked, cost the lprr method 0.005 mean AUC on real footage (the cuts of the
        25-photo grid)."""
        if self._roi is None or self._prev is None:
            return None
        (x, y, side, a), (px, py, _, pa) = self._roi, self._prev
        turn = (a - pa + math.pi) % (2 * math.pi) - math.pi
        return (2 * x - px, 2 * y - py, side, a + turn)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None
        self._finder.close()

    def __enter__(self) -> OnnxLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
