"""MediaPipe's v2 landmark network in ONNX Runtime, with lprr's own tracking: the tasks
FaceLandmarker's landmarks at about twice its speed.

The tasks FaceLandmarker (engine/face/tasks.py) reads the best landmarks on real footage, but
its graph costs about 10 ms a frame on 2 cores while its landmark network alone costs 2-3 ms.
This landmarker runs that network, converted from the vendored ``face_landmarker.task`` by
``scripts/export_mediapipe.py`` to ``assets/mediapipe/face_landmarks.onnx`` (Apache-2.0,
Google; see the NOTICE there), on a crop it places itself, as MediaPipe's graph does in
tracking mode:

- the crop for the next frame is the square around this frame's landmarks, 1.5x their
  bounding box's long side, turned so the eye corners (33 -> 263) lie level;
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
        self._roi: tuple[float, float, float, float] | None = None
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
        # the network reads its crop from the full frame; the size limit counts the pixels
        # the finder sees (lprr.engine.face.landmarks.LandmarkerConfig.max_side)
        scale = frame_scale(frame_bgr, self.config.max_side)
        if self.config.static_image_mode:
            self._roi = None
        pts: np.ndarray | None = None
        if self._roi is not None:
            pts, self.last_presence, self.last_tongue = self._landmarks(frame_bgr, self._roi)
            if self.last_presence < self.config.min_tracking_confidence:
                pts = self._roi = None
        if pts is not None:
            faces = [pts]
        else:
            faces = self._find(frame_bgr)
        self.last_num_faces = len(faces)
        j = self.follower.choose(faces, frame_bgr.shape[1], scale)
        if j is None:
            self._roi = None
            self.last_tongue = None
            return None
        if pts is None:  # a fresh face: the network's reading of it, from its found landmarks
            pts, self.last_presence, self.last_tongue = self._landmarks(
                frame_bgr, roi_from_landmarks(faces[j]))
        self._roi = roi_from_landmarks(pts)
        return pts.astype(np.float32)

    def close(self) -> None:
        self._finder.close()

    def __enter__(self) -> OnnxLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
