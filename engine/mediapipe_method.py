"""The ``mediapipe`` method: Google's own blendshape scores, read by name.

This is what webcam VTuber tools give their users, so it is both a useful mode (no
training, any face) and the baseline the learned path must beat. By default MediaPipe's
FaceLandmarker network finds the landmarks in ONNX Runtime, tracked by lprr
(engine/face/onnx_landmarks.py), and MediaPipe's blendshape network scores them in ONNX
Runtime (engine/face/blendshapes.py): the tasks FaceLandmarker's numbers at about twice its
speed. ``--landmarker tasks`` runs MediaPipe's own graph, which scores the face itself;
``--landmarker facemesh`` scores the legacy FaceMesh's landmarks (a little less accurate on
real footage, docs/accuracy.md). The 478 landmarks still feed APEM, so the patches, the GUI
and every sink work as for the other methods. The scores go through the same
post-processing (calibration, smoothing, mapping) as every method.

Controls are matched by ARKit name. ``rename`` (rig control -> MediaPipe category) serves a
rig whose names differ; a control with no category is left at 0 and named once in the log.
MediaPipe's Left/Right are the subject's own, as in ARKit and in lprr (checked on one-eyed
puppet blinks and smiles in tests/test_mediapipe_method.py).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.errors import UserError
from lprr.engine.face.blendshapes import BlendshapeModel
from lprr.engine.face.landmarks import DEFAULT_LANDMARKER
from lprr.engine.face.tasks import BLENDSHAPE_NAMES
from lprr.engine.retarget import FrameResult
from lprr.engine.timing import StageTimes

log = logging.getLogger(__name__)


def blendshape_index(controls: list[str], rename: Mapping[str, str] | None = None
                     ) -> tuple[np.ndarray, list[str]]:
    """For each control, the index of its category in ``BLENDSHAPE_NAMES`` (-1: none), and
    the controls without one."""
    rename = dict(rename or {})
    unknown = [c for c in rename.values() if c not in BLENDSHAPE_NAMES]
    if unknown:
        raise UserError(f"mediapipe: no blendshape named {', '.join(map(repr, unknown))}; "
                        f"MediaPipe's are {', '.join(BLENDSHAPE_NAMES[1:])}")
    idx = [BLENDSHAPE_NAMES.index(rename.get(c, c)) if rename.get(c, c) in BLENDSHAPE_NAMES
           else -1 for c in controls]
    return np.array(idx), [c for c, i in zip(controls, idx) if i < 0]


class MediaPipeMethod:
    """MediaPipe's blendshape scores as rig weights (engine/methods.py interface)."""

    name = "mediapipe"
    # onnx: scores as the tasks FaceLandmarker does on real footage (mean AUC 0.974 / 0.995
    # against 0.975 / 0.994, docs/accuracy.md) at about twice its speed; FaceMesh's
    # landmarks score lower (0.961 / 0.984).
    landmarker = DEFAULT_LANDMARKER
    min_face_px = 8.0  # px between the eyes; smaller reads badly (README, "Small faces")

    def __init__(self, models: str | Path | None = None, backend: str = "auto", options=None,
                 times: StageTimes | None = None, *, controls: list[str] | None = None,
                 rename: Mapping[str, str] | None = None):
        self.controls = list(controls or CONTROL_NAMES)
        self.times = times or StageTimes()
        self._index, missing = blendshape_index(self.controls, rename)
        # tongueOut is the one ARKit shape MediaPipe's blendshapes lack. The onnx front end
        # gives it: the landmark network's own tongue-out score (engine/face/onnx_landmarks.py),
        # raw; on the other front ends it stays at 0. Expected, so not a warning.
        renamed = [dict(rename or {}).get(c, c) for c in self.controls]
        self._tongue = renamed.index("tongueOut") if "tongueOut" in renamed else None
        unexpected = [c for c, n in zip(self.controls, renamed)
                      if c in missing and n != "tongueOut"]
        if unexpected:
            log.warning("mediapipe: no blendshape for %s (left at 0)", ", ".join(unexpected))
        self._has = self._index >= 0
        # Built on the first face found; the tasks front end scores faces itself and never
        # needs it.
        self._model: BlendshapeModel | None = None

    @property
    def backend_name(self) -> str:
        return "mediapipe"

    def describe(self) -> str:
        return "MediaPipe's blendshape network on the face's landmarks (no training, no neutral)"

    def warmup(self) -> None:
        pass

    def weights(self, blendshapes: np.ndarray, tongue: float | None = None) -> np.ndarray:
        """(52,) scores in ``BLENDSHAPE_NAMES`` order (and the tongue-out score, if the front
        end gives one) -> (C,) weights in ``controls`` order."""
        w = np.zeros(len(self.controls), np.float32)
        w[self._has] = np.asarray(blendshapes, np.float32)[self._index[self._has]]
        if tongue is not None and self._tongue is not None:
            w[self._tongue] = tongue
        return w

    def scores(self, landmarks: np.ndarray) -> np.ndarray:
        """MediaPipe's 52 scores for (478, 3) pixel landmarks."""
        if self._model is None:
            self._model = BlendshapeModel()
        with self.times.time("blendshapes"):
            return self._model(landmarks)

    def infer_frames(self, batch: list[FrameResult]) -> None:
        for r in batch:
            if r.blendshapes is None and r.landmarks is not None:  # not the tasks front end
                r.blendshapes = self.scores(r.landmarks)
            if r.blendshapes is not None:
                r.raw_weights = self.weights(r.blendshapes, r.tongue)

    def close(self) -> None:
        pass
