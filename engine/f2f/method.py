"""The Face2Face-style retargeting method (``lprr run --method f2f``): no training, any face.

Per frame, from MediaPipe's 478 landmarks: robust rigid alignment and expression fitting
in the performer's subspace (``lprr.engine.f2f.expression``), then subspace deformation
transfer to the character's rig (``lprr.engine.f2f.transfer``). The performer's neutral comes
from a calibration take (``calibration=``: an unlabelled video or take folder that starts
with a neutral face, e.g. a ROM take), or, without one, from the stream itself: the most
neutral-looking face frames seen so far (engine/neutral.py), so a stream that starts
smiling or talking still reads once a neutral face has been seen. The method sends zeros
for its first ``self_calibration_frames`` face frames, and redoes the (costly) setup only
when the running estimate has moved.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.errors import UserError
from lprr.engine.f2f.blas import blas_threads
from lprr.engine.f2f.calibrate import CalibrationConfig, calibrate, estimate_neutral
from lprr.engine.f2f.expression import (
    ExpressionBasis,
    ExpressionTracker,
    TrackerConfig,
    generic_basis,
)
from lprr.engine.f2f.mouth import MouthRetrieval
from lprr.engine.f2f.transfer import CharacterTarget, SubspaceTransfer, TransferConfig
from lprr.engine.face.landmarks import DEFAULT_LANDMARKER, calibration_landmarks
from lprr.engine.neutral import NeutralClip, NeutralConfig, RunningNeutral, clip_neutral
from lprr.engine.timing import StageTimes
from lprr.engine.world import rig

log = logging.getLogger(__name__)


@dataclass
class F2FConfig:
    # expression subspace: "generic" (the demo rig's HUMAN fields on the performer's
    # neutral) or "pca" (principal modes of the calibration take; needs one)
    basis: str = "generic"
    self_calibration_frames: int = 5  # face frames before a first neutral without a take
    running: NeutralConfig = field(default_factory=NeutralConfig)  # the neutral in the stream
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)


class F2FMethod:
    """Landmarks -> rig weights by expression fitting and subspace deformation transfer.

    ``calibration``: a take folder, video or image folder (or an (F, 478, 3) landmark
    array) of the performer that starts with a neutral face; its labels are never read.
    ``character``: the target rig, a folder of OBJs with a correspondence (see
    ``CharacterTarget.from_obj_dir``) or a ``CharacterTarget``; default the demo character.
    ``mouth_renders``: a character take to retrieve mouth patches from, ``"demo"`` to
    render the demo character's, or None (off); the patch goes to
    ``FrameResult.mouth_retrieved``. ``models`` and ``backend`` are not used.
    """

    name = "f2f"
    landmarker = DEFAULT_LANDMARKER
    # what a live preview (the GUI) adds: the character's nearest rendered mouth
    preview_options: ClassVar[dict[str, str]] = {"mouth_renders": "demo"}
    min_face_px = 6.0  # px between the eyes; smaller reads badly (README, "Small faces")
    max_gap_s = 0.5  # frames further apart than this start tracking afresh

    def __init__(self, models=None, backend: str = "auto", options=None,
                 times: StageTimes | None = None,
                 calibration: str | Path | np.ndarray | None = None,
                 character: str | Path | CharacterTarget | None = None,
                 mouth_renders: str | Path | None = None,
                 config: F2FConfig | None = None, neutral_clip: NeutralClip | None = None):
        self.cfg = config or F2FConfig()
        if self.cfg.basis not in ("generic", "pca"):
            raise UserError(f"f2f: basis must be 'generic' or 'pca', got {self.cfg.basis!r}")
        self.controls = list(CONTROL_NAMES)
        self.times = times or StageTimes()
        if isinstance(character, CharacterTarget):
            self.target = character
        elif character is not None:
            self.target = CharacterTarget.from_obj_dir(character)
        else:
            self.target = CharacterTarget.demo()
        self.mouth: MouthRetrieval | None = None
        if mouth_renders is not None:
            self.mouth = (MouthRetrieval.from_demo() if str(mouth_renders) == "demo"
                          else MouthRetrieval.from_take(mouth_renders))
        self.tracker: ExpressionTracker | None = None
        self.transfer: SubspaceTransfer | None = None
        self.basis: ExpressionBasis | None = None
        self.running: RunningNeutral | None = None  # the neutral found in the stream
        self._installed: set[int] = set()  # running-neutral frames of the installed setup
        self._last_t: float | None = None
        self.calibration_source = "stream"
        if calibration is not None:
            # the generic basis needs only the neutral: the first second of the take
            cc = self.cfg.calibration
            limit = cc.neutral_window if self.cfg.basis == "generic" else cc.max_frames
            frames = (np.asarray(calibration, np.float64) if isinstance(calibration, np.ndarray)
                      else calibration_landmarks(calibration, limit, self.landmarker))
            self.calibration_source = ("landmarks" if isinstance(calibration, np.ndarray)
                                       else Path(calibration).name)
            with blas_threads(1):
                self._setup(frames)
        elif self.cfg.basis == "pca":
            raise UserError("f2f: the 'pca' basis needs a calibration take (--calibration)")
        elif neutral_clip is not None:  # the most neutral frames of the whole clip
            frames = clip_neutral(neutral_clip, self.cfg.running,
                                  landmarker=self.landmarker).astype(np.float64)
            self.calibration_source = "the most neutral frames of the whole clip"
            with blas_threads(1):
                self._setup(frames)
        else:
            self.running = RunningNeutral(self.cfg.running)

    # -- calibration --------------------------------------------------------------------
    def _setup(self, frames: np.ndarray) -> None:
        """Neutral, subspace and the precomputed transfer from performer face frames."""
        t0 = time.perf_counter()
        if self.cfg.basis == "pca":
            basis = calibrate(frames, self.cfg.calibration, self.cfg.tracker)
        else:
            basis = generic_basis(estimate_neutral(frames, self.cfg.calibration))
        self.install(basis)
        log.info("f2f: %s basis (%d), neutral from %s, ready in %.2f s", basis.kind, basis.k,
                 self.calibration_source, time.perf_counter() - t0)

    def _update_neutral(self, rn: RunningNeutral, landmarks: np.ndarray) -> None:
        """Feed the running neutral ``rn``; (re)do the setup once enough frames were seen and
        whenever the estimate has moved (about 0.5 s each, so not on every update)."""
        if not rn.add(landmarks) or rn.seen < self.cfg.self_calibration_frames:
            return
        if self.ready and not rn.moved(self._installed):
            return
        with self.times.time("f2f_calibrate"):
            self.calibration_source = f"the most neutral of {rn.seen} face frames"
            self._setup(np.stack(rn.faces).astype(np.float64))
        self._installed = rn.ids

    def install(self, basis: ExpressionBasis) -> None:
        """Use ``basis`` from now on (precomputes the transfer once)."""
        ref = (basis.basis.T.reshape(-1, *basis.neutral.shape)
               if basis.kind == "generic" else None)
        if ref is not None and ref.shape[0] != len(CONTROL_NAMES):
            ref = None
        if ref is None and self.cfg.transfer.normalize:
            ref = rig.control_deltas(basis.neutral, rig.HUMAN)
        self.basis = basis
        self.tracker = ExpressionTracker(basis, self.cfg.tracker)
        self.transfer = SubspaceTransfer(self.target, basis.neutral, basis.basis,
                                         self.cfg.transfer, reference=ref)

    def reset(self) -> None:
        """Forget the previous frame (the tracking warm start); calibration is kept."""
        if self.tracker is not None and self.transfer is not None:  # set together (install)
            self.tracker.reset()
            self.transfer.reset()

    @property
    def ready(self) -> bool:
        return self.transfer is not None

    # -- per frame ------------------------------------------------------------------------
    def process(self, landmarks: np.ndarray | None) -> np.ndarray:
        """Rig weights (C,) float32 for one frame's (478, 3) pixel landmarks (None: no face).

        Run it inside ``blas_threads(1)`` when calling it in a loop (``infer_frames`` does).
        """
        if landmarks is None:
            self.reset()
            return np.zeros(len(self.controls), np.float32)
        if self.running is not None:
            self._update_neutral(self.running, landmarks)
        tracker, transfer = self.tracker, self.transfer
        if tracker is None or transfer is None:  # not ready: install sets both
            return np.zeros(len(self.controls), np.float32)
        delta = tracker.fit(landmarks).delta
        return np.clip(transfer(delta), 0.0, 1.0).astype(np.float32)

    def infer_frames(self, batch) -> None:
        with blas_threads(1):
            self._infer(batch)

    def _infer(self, batch) -> None:
        for r in batch:
            # the pipeline only hands over frames with a face: a long gap means it was lost,
            # and the previous frame's pose and weights are no start for this one
            if self._last_t is not None and abs(r.t - self._last_t) > self.max_gap_s:
                self.reset()
            self._last_t = r.t
            calibrating = not self.ready
            if calibrating:
                r.raw_weights = self.process(r.landmarks)
            else:
                with self.times.time("f2f"):
                    r.raw_weights = self.process(r.landmarks)
            r.calibrating = calibrating
            if self.mouth is not None and r.landmarks is not None:
                with self.times.time("mouth"):
                    r.mouth_retrieved = self.mouth.query(r.raw_weights)

    # -- Method protocol ------------------------------------------------------------------
    @property
    def backend_name(self) -> str:
        return "numpy"

    def describe(self) -> str:
        basis = self.basis  # install sets it with the transfer (ready)
        state = (f"{basis.kind} basis ({basis.k}), neutral from "
                 f"{self.calibration_source}" if self.ready and basis is not None else
                 f"finding the neutral in the first {self.cfg.self_calibration_frames} face "
                 "frames")
        return f"f2f (training-free) -> {self.target.name} character; {state}"

    def warmup(self) -> None:
        pass  # nothing lazy to build: everything is precomputed at calibration

    def close(self) -> None:
        pass
