"""The per-frame retargeting core, free of threads: landmarks -> APEM -> RM -> WEM -> PCA.

The threaded pipeline (engine/pipeline.py), ``lprr eval`` and the GUI all call these same
functions, so every number lprr reports comes from the code that runs live.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lprr.engine.backends import Backend, BackendOptions, create_backend
from lprr.engine.face.apem import PATCH_NAMES, Apem, Patches
from lprr.engine.face.landmarks import DEFAULT_LANDMARKER, LandmarkerConfig, open_landmarker
from lprr.engine.manifest import Manifest
from lprr.engine.neutral import RunningNeutral
from lprr.engine.pca import Pca
from lprr.engine.timing import StageTimes

if TYPE_CHECKING:
    from lprr.engine.face.landmarks import FaceLandmarker
    from lprr.engine.face.onnx_landmarks import OnnxLandmarker
    from lprr.engine.face.tasks import TaskLandmarker
    from lprr.engine.neutral import NeutralClip

log = logging.getLogger(__name__)


def to_model_input(patches_bgr: np.ndarray) -> np.ndarray:
    """(N,H,W,3) uint8 BGR -> (N,3,H,W) float32 RGB in [0,1]."""
    x = patches_bgr[..., ::-1].transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x, dtype=np.float32) * (1.0 / 255.0)


def from_model_output(x: np.ndarray) -> np.ndarray:
    """(N,3,H,W) float RGB [0,1] -> (N,H,W,3) uint8 BGR."""
    y = np.clip(x, 0.0, 1.0).transpose(0, 2, 3, 1)[..., ::-1] * 255.0 + 0.5
    return np.ascontiguousarray(y.astype(np.uint8))


@dataclass
class FrameResult:
    index: int
    t: float
    frame: np.ndarray | None = None
    landmarks: np.ndarray | None = None
    patches: Patches | None = None
    reenacted: dict[str, np.ndarray] | None = None  # name -> uint8 BGR
    blendshapes: np.ndarray | None = None  # MediaPipe's 52 scores (lprr.engine.face.tasks order)
    tongue: float | None = None  # the onnx landmarker's tongue-out score (face/onnx_landmarks.py)
    raw_weights: np.ndarray | None = None  # PCA-decoded, before post-processing
    weights: np.ndarray | None = None  # after post-processing
    t_capture: float = 0.0  # time.monotonic() when the frame was captured (latency's start)
    # f2f: the character's nearest rendered mouth (BGR), and whether the neutral is being set
    mouth_retrieved: np.ndarray | None = None
    calibrating: bool = False

    @property
    def face(self) -> bool:
        return self.landmarks is not None


# Fewer face frames than this (a photo, the first second of a camera) say too little about
# the performer's rest shape: the training performer's stands in until then. A single posed
# photo would otherwise be its own neutral, and read as no expression at all.
MIN_REST_FRAMES = 30


class Retargeter:
    """The lprr method: an exported model folder on one backend; RM and WEM batched."""

    name = "lprr"
    landmarker = DEFAULT_LANDMARKER
    min_face_px = 20.0  # px between the eyes; smaller reads badly (README, "Small faces")

    def __init__(self, models: str | Path, backend: str = "auto",
                 options: BackendOptions | None = None, times: StageTimes | None = None,
                 neutral_clip: NeutralClip | None = None):
        self.manifest = Manifest.load(models)
        self.controls = list(self.manifest.controls)
        self.rm: Backend = create_backend(backend, self.manifest, "rm", options)
        self.wem: Backend = create_backend(backend, self.manifest, "wem", options)
        if self.manifest.pca is None:
            from lprr.engine.manifest import ModelError

            raise ModelError(f"{self.manifest.path}: names no PCA file")
        self.pca = Pca.load(self.manifest.pca)
        # RMs exported with a sketch channel read the landmark contours too (engine/face/sketch.py)
        self.sketch_channel = self.rm.spec.inputs[PATCH_NAMES[0]][1] == 4
        self.sketch_map = None
        # The sketch is drawn from the performer's own rest shape: a file's most neutral
        # frames (read whole first), or, live, the most neutral frames seen so far.
        self.running: RunningNeutral | None = None
        self._rest_ids: set[int] | None = None  # the frames the live rest shape came from
        if self.sketch_channel and self.manifest.sketch is not None:
            from lprr.engine.face.sketch import SketchMap

            self._shipped_map = SketchMap.load(self.manifest.sketch)
            self.sketch_map = self._shipped_map
            if neutral_clip is not None:  # a file: its own most neutral frames, any folder
                from lprr.engine.neutral import clip_faces, most_neutral

                faces = clip_faces(neutral_clip, landmarker=self.landmarker)
                if len(faces) >= MIN_REST_FRAMES:
                    self._rest_from(most_neutral(faces))
                    log.info("lprr: sketch rest shape from the clip's most neutral frames")
            elif "personalised_from" not in self.manifest.trained_on:
                # live; a personalised folder's sketch already has this performer's rest
                # shape, so it keeps it from the first frame
                self.running = RunningNeutral()
        self.times = times or StageTimes()
        log.info("models %s on %s", self.manifest.name, self.rm.describe())

    def _rest_from(self, faces) -> None:
        """Draw the sketch from this performer's rest shape (``faces``: their most neutral
        frames, image-pixel landmarks) instead of the training performer's."""
        from lprr.engine.face.sketch import static_patch_points

        self.sketch_map = self._shipped_map.for_performer(
            np.stack([static_patch_points(f) for f in faces]))

    @property
    def backend_name(self) -> str:
        return self.rm.name

    def rm_feed(self, images: dict[str, np.ndarray], lm_patch: np.ndarray | None = None
                ) -> dict[str, np.ndarray]:
        """The RM's inputs from (N,128,128,3) BGR patches by name and, for models with a
        sketch channel, the (N,3,478,2) landmarks in patch pixels."""
        feed = {p: to_model_input(images[p]) for p in PATCH_NAMES}
        if self.sketch_channel:
            from lprr.engine.face.sketch import sketches

            if lm_patch is None:
                raise ValueError("these models read landmark sketches: pass the landmarks")
            sk = np.stack([sketches(pts, self.sketch_map)
                           for pts in lm_patch]).astype(np.float32) / 255.0
            feed = {p: np.concatenate([feed[p], sk[:, k, None]], axis=1)
                    for k, p in enumerate(PATCH_NAMES)}
        return feed

    def infer(self, patches: list[Patches], landmarks: list[np.ndarray] | None = None
              ) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
        """A batch of frames' patches (and landmarks, in image pixels) -> (reenacted patches
        per frame, (N,C) weights)."""
        from lprr.engine.face.sketch import to_patch

        images = {p: np.stack([q.images[p] for q in patches]) for p in PATCH_NAMES}
        lm_patch = None if landmarks is None else np.stack(
            [to_patch(lm, q.transforms) for q, lm in zip(patches, landmarks)])
        return self.infer_arrays(images, lm_patch)

    def infer_arrays(self, images: dict[str, np.ndarray], lm_patch: np.ndarray | None = None
                     ) -> tuple[list[dict[str, np.ndarray]], np.ndarray]:
        """``infer`` on arrays: (N,128,128,3) patches by name, (N,3,478,2) patch-space
        landmarks."""
        n = len(images[PATCH_NAMES[0]])
        with self.times.time("rm"):
            out = self.rm.run(self.rm_feed(images, lm_patch))
            outs = [out[f"{p}_out"] for p in PATCH_NAMES]
        with self.times.time("wem"):
            coeffs = self.wem.run({"patches": np.concatenate(outs, axis=1)})["coeffs"]
            weights = np.clip(self.pca.decode(coeffs), 0.0, 1.0).astype(np.float32)
        imgs = [from_model_output(o) for o in outs]
        reenacted = [{p: imgs[j][i] for j, p in enumerate(PATCH_NAMES)} for i in range(n)]
        return reenacted, weights

    def warmup(self) -> None:
        self.rm.warmup()  # one-off session costs stay out of the measured frames
        self.wem.warmup()

    def describe(self) -> str:
        return f"{self.manifest.name} models on {self.backend_name}"

    def infer_frames(self, batch: list[FrameResult]) -> None:
        """The pipeline's entry point (see engine/methods.py): fills reenacted and
        raw_weights on frames that have patches."""
        patches = [r.patches for r in batch if r.patches is not None]
        if len(patches) != len(batch):
            raise ValueError("infer_frames: a frame without patches (pass frames with a face)")
        landmarks = [r.landmarks for r in batch if r.landmarks is not None]
        if self.running is not None:
            updated = [self.running.add(lm) for lm in landmarks]
            # redrawn only once the selection has moved (a refit costs 3-7 ms here)
            if (any(updated) and self.running.seen >= MIN_REST_FRAMES
                    and (self._rest_ids is None or self.running.moved(self._rest_ids))):
                self._rest_from(self.running.faces)
                self._rest_ids = self.running.ids
        reenacted, weights = self.infer(patches,
                                        landmarks if len(landmarks) == len(batch) else None)
        for r, re_, w in zip(batch, reenacted, weights):
            r.reenacted, r.raw_weights = re_, w

    def close(self) -> None:
        self.rm.close()
        self.wem.close()


@dataclass
class FrontReading:
    """What the front end read from one frame (None throughout: no face)."""

    landmarks: np.ndarray | None
    patches: Patches | None
    blendshapes: np.ndarray | None = None  # MediaPipe's scores (tasks landmarker only)
    tongue: float | None = None  # the network's tongue-out score (onnx landmarker only)


class FrontEnd:
    """Landmarks + APEM, stateful for video (tracking mode and patch stabilisation).

    ``landmarker`` (one of ``LANDMARKERS``): "facemesh" (the legacy FaceMesh solution),
    "tasks" (MediaPipe's FaceLandmarker, which also scores 52 blendshapes; see
    engine/face/tasks.py) or "onnx" (the FaceLandmarker's landmark network in ONNX Runtime
    with lprr's own tracking, engine/face/onnx_landmarks.py: its landmarks at about twice its
    speed). A method says which it needs (``Method.landmarker``)."""

    def __init__(self, static: bool = False, times: StageTimes | None = None,
                 landmarker: str = "facemesh", config: LandmarkerConfig | None = None):
        # which face is followed, and the smallest one read (lprr.engine.face.landmarks)
        config = replace(config or LandmarkerConfig(), static_image_mode=static)
        self.landmarker: TaskLandmarker | FaceLandmarker | OnnxLandmarker = open_landmarker(
            landmarker, config)
        self.apem = Apem(stabilize=not static)
        self.times = times or StageTimes()

    def __call__(self, frame: np.ndarray, t: float) -> tuple[np.ndarray | None, Patches | None]:
        r = self.read([frame], [t])[0]
        return r.landmarks, r.patches

    def read(self, frames: Sequence[np.ndarray], ts: Sequence[float]) -> list[FrontReading]:
        """Several frames in order (the pipeline passes what has queued up): the onnx
        landmarker runs two at once (``OnnxLandmarker.detect_many``), the others one by one;
        the readings are the same either way."""
        t0 = time.perf_counter()
        many = getattr(self.landmarker, "detect_many", None)
        found: list[tuple[np.ndarray | None, float | None, np.ndarray | None]]
        if many is not None and len(frames) > 1:
            found = [(pts, tongue, None) for pts, tongue in many(frames)]
        else:
            found = []
            for frame, t in zip(frames, ts):
                pts = self.landmarker.detect(frame, t)
                found.append((pts, self.tongue, self.blendshapes))
        per_frame = (time.perf_counter() - t0) / max(len(frames), 1)
        out = []
        for frame, t, (pts, tongue, blendshapes) in zip(frames, ts, found):
            self.times.add("landmarks", per_frame)
            with self.times.time("apem"):
                patches = self.apem(frame, pts, t)
            face = pts is not None
            out.append(FrontReading(pts, patches, blendshapes if face else None,
                                    tongue if face else None))
        return out

    @property
    def note(self) -> str | None:
        """Why the last frame reads as no face though one was seen ("face too small"...)."""
        return self.landmarker.follower.note

    @property
    def blendshapes(self) -> np.ndarray | None:
        """The last face's blendshape scores (tasks landmarker only), else None."""
        return getattr(self.landmarker, "last_blendshapes", None)

    @property
    def tongue(self) -> float | None:
        """The last face's tongue-out score (onnx landmarker only), else None."""
        return getattr(self.landmarker, "last_tongue", None)

    def close(self) -> None:
        self.landmarker.close()
