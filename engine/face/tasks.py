"""MediaPipe FaceLandmarker (the tasks API): 478 landmarks plus Google's 52 blendshape scores.

The model file, ``face_landmarker.task`` (Apache-2.0, Google), is not inside the mediapipe
wheel; it is vendored under ``assets/mediapipe/`` (see the NOTICE there) and its sha256 is
checked before it is loaded. It runs here offline with mediapipe 0.10.21.

``TaskLandmarker.detect`` has the same contract as ``lprr.engine.face.landmarks.FaceLandmarker``
(pixels, z scaled like x, None for no face), so the rest of the front end (APEM) does not
care which one found the face; the blendshapes of the last face are kept in
``last_blendshapes``. Its categories are ``_neutral`` plus 51 ARKit names (no tongueOut).
"""
from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from lprr.engine.errors import UserError
from lprr.engine.face.landmarks import (
    FaceFollower,
    LandmarkerConfig,
    landmarker_input,
    to_pixels,
)
from lprr.engine.paths import ASSETS

log = logging.getLogger(__name__)

TASK_MODEL = ASSETS / "mediapipe" / "face_landmarker.task"
TASK_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"

# The 52 categories, in the order the blendshape model emits them.
BLENDSHAPE_NAMES: tuple[str, ...] = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft",
    "browOuterUpRight", "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft",
    "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight", "eyeLookInLeft", "eyeLookInRight",
    "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft",
    "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen",
    "jawRight", "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft",
    "mouthFrownRight", "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight", "mouthRollLower",
    "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft", "mouthSmileRight",
    "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)
_verified: set[Path] = set()


def task_model_path(path: str | Path | None = None) -> Path:
    """The vendored (or a given) ``.task`` file, its sha256 checked once per process."""
    p = Path(path) if path is not None else TASK_MODEL
    if not p.is_file():
        raise UserError(f"MediaPipe face landmarker model not found: {p}")
    if p.resolve() in _verified:
        return p
    if path is None:  # a user's own .task file may be another release: trust it
        digest = hashlib.sha256(p.read_bytes()).hexdigest()
        if digest != TASK_SHA256:
            raise UserError(f"{p}: sha256 {digest[:12]}... is not the vendored model's "
                            f"({TASK_SHA256[:12]}...); restore it from the repository")
    _verified.add(p.resolve())
    return p


class TaskLandmarker:
    """FaceLandmarker in VIDEO mode (tracking) or IMAGE mode (``static``); one face followed
    among those found (lprr.engine.face.landmarks.FaceFollower)."""

    def __init__(self, config: LandmarkerConfig | None = None, *, static: bool | None = None,
                 blendshapes: bool = True, model: str | Path | None = None):
        from mediapipe.tasks.python import BaseOptions, vision  # heavy, deferred

        self.config = config or LandmarkerConfig()
        if static is not None:
            self.config.static_image_mode = static
        mode = (vision.RunningMode.IMAGE if self.config.static_image_mode
                else vision.RunningMode.VIDEO)
        opts = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(task_model_path(model))),
            running_mode=mode, num_faces=self.config.max_num_faces,
            min_face_detection_confidence=self.config.min_detection_confidence,
            min_face_presence_confidence=self.config.min_tracking_confidence,
            min_tracking_confidence=self.config.min_tracking_confidence,
            output_face_blendshapes=blendshapes)
        self._lm = vision.FaceLandmarker.create_from_options(opts)
        self._video = mode == vision.RunningMode.VIDEO
        self._last_ms = -1
        self._order: np.ndarray | None = None
        self.follower = FaceFollower(self.config)
        self.last_num_faces = 0
        self.last_faces: list[np.ndarray] = []  # every face of the last frame, in pixels
        self.last_blendshapes: np.ndarray | None = None  # (52,) in BLENDSHAPE_NAMES order

    def detect(self, frame_bgr: np.ndarray, t: float | None = None) -> np.ndarray | None:
        """(478, 3) float32 landmarks in pixels, or None; ``t`` (seconds) orders video frames."""
        import mediapipe as mp

        rgb, scale = landmarker_input(frame_bgr, self.config.max_side)
        h, w = frame_bgr.shape[:2]  # normalised landmarks -> the full frame's pixels
        img = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        if self._video:
            # VIDEO mode needs strictly increasing timestamps (ms); a source whose clock
            # repeats or has no clock still advances by 1 ms a frame.
            ms = round(t * 1000.0) if t is not None else self._last_ms + 33
            ms = max(ms, self._last_ms + 1)
            self._last_ms = ms
            res = self._lm.detect_for_video(img, ms)
        else:
            res = self._lm.detect(img)
        faces = [to_pixels(f, w, h) for f in res.face_landmarks]
        self.last_faces = faces
        self.last_num_faces = len(faces)
        j = self.follower.choose(faces, w, scale)
        self.last_blendshapes = None
        if j is None:
            return None
        if res.face_blendshapes:
            cats = res.face_blendshapes[j]
            if self._order is None:  # by name, in case a model file orders them otherwise
                got = [c.category_name for c in cats]
                self._order = np.array([got.index(n) for n in BLENDSHAPE_NAMES])
            self.last_blendshapes = np.array([c.score for c in cats], np.float32)[self._order]
        return faces[j]

    def close(self) -> None:
        self._lm.close()

    def __enter__(self) -> TaskLandmarker:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

