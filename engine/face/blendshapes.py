"""MediaPipe's blendshape model on any 478 landmarks, in ONNX Runtime.

The tasks FaceLandmarker (engine/face/tasks.py) scores blendshapes with a small network that
reads 146 of its landmarks. The same network, converted from the vendored
``face_landmarker.task`` by ``scripts/export_mediapipe.py`` to
``assets/mediapipe/face_blendshapes.onnx`` (Apache-2.0, Google; see the NOTICE there), runs
here on any landmarks: the legacy FaceMesh's, for the ``mediapipe`` method on the faster
front end (``--landmarker facemesh``), and the training frames' in personalisation
(models/personalise.py). It takes about 0.5 ms a face on one thread.

The network centres and scales its input itself, so pixels of the full frame (x * width,
y * height, as MediaPipe's graph feeds it) are what it expects.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lprr.engine.paths import ASSETS

BLENDSHAPE_MODEL = ASSETS / "mediapipe" / "face_blendshapes.onnx"
BLENDSHAPE_SHA256 = "b565a748391f9f098a854141aa11ca53e02e1656fd07c760db25e81344659748"

# The landmarks the network reads, in its input order: kLandmarksSubsetIdxs in MediaPipe's
# face_blendshapes_graph.cc (the last ten are the irises, so FaceMesh must refine them).
SUBSET = np.array([
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63,
    65, 66, 67, 70, 78, 80, 81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133,
    136, 144, 145, 146, 148, 149, 150, 152, 153, 154, 155, 157, 158, 159, 160, 161, 162, 163,
    168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251, 263, 267, 269, 270,
    276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317,
    318, 321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379,
    380, 381, 382, 384, 385, 386, 387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454,
    466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477])


class BlendshapeModel:
    """(478, 3) pixel landmarks -> MediaPipe's 52 scores (lprr.engine.face.tasks order)."""

    def __init__(self, path: str | Path | None = None):
        from lprr.engine.backends.ort import vendored_session

        # One thread: the network is tiny, and the landmarker needs the other core.
        self._session = vendored_session(path, BLENDSHAPE_MODEL, BLENDSHAPE_SHA256,
                                         "MediaPipe blendshape model")
        self._input = self._session.get_inputs()[0].name
        self._buf = np.zeros((1, len(SUBSET), 2), np.float32)

    def __call__(self, landmarks: np.ndarray) -> np.ndarray:
        self._buf[0] = landmarks[SUBSET, :2]
        return self._session.run(None, {self._input: self._buf})[0].astype(np.float32)
