"""The landmark heuristic baseline (the MeFaMo / Kalidokit kind): no learning, no models.

Every control is one ratio or one landmark displacement read off the MediaPipe mesh,
taken relative to the performer's own neutral face and divided by a fixed full-scale
value: eye aspect ratio -> eyeBlink, inner-lip gap and chin drop -> jawOpen / mouthClose,
mouth-corner lift -> mouthSmile, and so on. It is the floor a learned method must beat.

Pose: each frame's 3D landmarks are aligned to the neutral ones by a similarity fitted on
points that barely move with expression (eye corners, nose, forehead, temples), so head
turns and distance change the measures little. Lengths are in inter-ocular distances
(IOD) of the neutral face, in its own frame: u from the subject's right eye to the left
eye, v down the face, w into the screen.

Neutral calibration: ``calibration`` names an unlabelled video or take folder of the
performer that starts with a neutral face (its first ``calib_frames`` face frames are
used; a take's weights.csv is never read). Without it, the method finds the neutral in
the stream itself (engine/neutral.py: the most neutral-looking frames seen so far,
re-estimated as it goes), so a stream that starts smiling or talking still reads.

The full-scale constants in ``HeuristicConfig`` were tuned once on grace_hopper
range-of-motion and natural takes (scripts/tune_heuristic.py); they are the same for
every performer.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.f2f.rigid import fit_similarity
from lprr.engine.face import topology as T
from lprr.engine.face.landmarks import DEFAULT_LANDMARKER, calibration_landmarks
from lprr.engine.face.topology import RIGID_POINTS
from lprr.engine.neutral import NeutralClip, NeutralConfig, RunningNeutral, clip_neutral
from lprr.engine.retarget import FrameResult
from lprr.engine.timing import StageTimes

log = logging.getLogger(__name__)

# --- landmark groups (MediaPipe indices) -----------------------------------------------
_EYE = {  # per side: upper-lid middle, lower-lid middle, corners (outer, inner), iris
    "Left": (T.EYE_UPPER_L[2:7], T.EYE_LOWER_L[2:7], T.EYE_CORNERS_L, T.IRIS_CENTER_L),
    "Right": (T.EYE_UPPER_R[2:7], T.EYE_LOWER_R[2:7], T.EYE_CORNERS_R, T.IRIS_CENTER_R),
}
_BROW = {  # per side: inner half, outer half (upper and lower brow contours)
    "Left": (T.BROW_UPPER_L[:2] + T.BROW_LOWER_L[:2], T.BROW_UPPER_L[3:] + T.BROW_LOWER_L[3:]),
    "Right": (T.BROW_UPPER_R[:2] + T.BROW_LOWER_R[:2], T.BROW_UPPER_R[3:] + T.BROW_LOWER_R[3:]),
}
_CORNER = {"Left": T.MOUTH_CORNER_L, "Right": T.MOUTH_CORNER_R}
_UPPER_MID = (T.LIP_OUTER_UPPER[4:7], T.LIP_INNER_UPPER[4:7])  # outer, inner (3 columns)
_LOWER_MID = (T.LIP_OUTER_LOWER[4:7], T.LIP_INNER_LOWER[4:7])
# lip columns half-way to each corner (outer, inner contour), for one-sided lip thinning
_SIDE_COLS = {"Left": (7, 8), "Right": (2, 3)}
_CHEEK = {"Left": (425, 411, 427, 436, 416, 434, 352, 280),
          "Right": (205, 187, 207, 216, 192, 214, 123, 50)}


# --- geometry --------------------------------------------------------------------------
@dataclass
class NeutralFrame:
    """The neutral face's frame: origin between the eye centres, axes u, v, w, IOD."""

    landmarks: np.ndarray  # (478, 3) neutral, pixels
    origin: np.ndarray
    axes: np.ndarray  # (3, 3) rows u, v, w
    iod: float

    @classmethod
    def from_landmarks(cls, lm: np.ndarray) -> NeutralFrame:
        lm = np.asarray(lm, np.float64)
        c_l = lm[list(T.EYE_CORNERS_L)].mean(0)
        c_r = lm[list(T.EYE_CORNERS_R)].mean(0)
        origin = 0.5 * (c_l + c_r)
        u = c_l - c_r
        iod = float(np.linalg.norm(u))
        if iod < 1e-6:
            raise ValueError("degenerate landmarks: the eye centres coincide")
        u /= iod
        down = lm[[T.MOUTH_CORNER_L, T.MOUTH_CORNER_R]].mean(0) - origin
        v = down - (down @ u) * u
        v /= max(np.linalg.norm(v), 1e-9)
        w = np.cross(u, v)
        return cls(lm, origin, np.stack([u, v, w]), iod)

    def local(self, lm: np.ndarray) -> np.ndarray:
        """A frame's (478, 3) pixel landmarks -> neutral-frame units (IOD), pose removed."""
        lm = np.asarray(lm, np.float64)
        idx = list(RIGID_POINTS)
        aligned = fit_similarity(lm[idx], self.landmarks[idx]).apply(lm)
        return (aligned - self.origin) @ self.axes.T / self.iod


def measures(p: np.ndarray) -> dict[str, float]:
    """Raw measures of one face in neutral-frame units (from ``NeutralFrame.local``).

    Heights use v (down the face); ``_up`` measures are negated so that up is positive.
    """
    m: dict[str, float] = {}
    for side, (up, lo, corners, iris) in _EYE.items():
        out_sgn = 1.0 if side == "Left" else -1.0  # +u is outward for the left eye
        c = p[list(corners)]
        width = float(np.linalg.norm(c[0, :2] - c[1, :2]))
        cmid = c.mean(0)
        u_lid = float(p[list(up), 1].mean())
        l_lid = float(p[list(lo), 1].mean())
        m[f"eye_open_{side}"] = (l_lid - u_lid) / width  # eye aspect ratio
        m[f"lid_up_{side}"] = -(u_lid - cmid[1]) / width  # upper lid above the corner line
        m[f"lid_lo_{side}"] = -(l_lid - cmid[1]) / width  # lower lid (up positive)
        m[f"iris_out_{side}"] = out_sgn * float(p[iris, 0] - cmid[0]) / width
        m[f"iris_up_{side}"] = -float(p[iris, 1] - cmid[1]) / width
        inner, outer = _BROW[side]
        m[f"brow_inner_{side}"] = -float(p[list(inner), 1].mean())
        m[f"brow_outer_{side}"] = -float(p[list(outer), 1].mean())
        m[f"brow_in_x_{side}"] = out_sgn * float(p[list(inner), 0].mean())
        k = _CORNER[side]
        m[f"corner_out_{side}"] = out_sgn * float(p[k, 0])
        m[f"corner_up_{side}"] = -float(p[k, 1])
        o, i = _SIDE_COLS[side]
        m[f"upper_thick_{side}"] = float(p[T.LIP_INNER_UPPER[i], 1] - p[T.LIP_OUTER_UPPER[o], 1]
                                         + p[T.LIP_INNER_UPPER[o], 1]
                                         - p[T.LIP_OUTER_UPPER[i], 1]) / 2
        m[f"lower_thick_{side}"] = float(p[T.LIP_OUTER_LOWER[o], 1] - p[T.LIP_INNER_LOWER[i], 1]
                                         + p[T.LIP_OUTER_LOWER[i], 1]
                                         - p[T.LIP_INNER_LOWER[o], 1]) / 2
        m[f"cheek_out_{side}"] = out_sgn * float(p[list(_CHEEK[side]), 0].mean())
    uo, ui = (p[list(g)].mean(0) for g in _UPPER_MID)
    lo_, li = (p[list(g)].mean(0) for g in _LOWER_MID)
    m["lip_gap"] = float(li[1] - ui[1])  # inner-lip gap
    m["upper_thick"] = float(ui[1] - uo[1])
    m["lower_thick"] = float(lo_[1] - li[1])
    m["upper_lip_y"] = -float(uo[1])
    m["lower_lip_y"] = -float(lo_[1])
    m["chin_y"] = float(p[T.CHIN, 1])
    m["chin_x"] = float(p[T.CHIN, 0])
    m["lips_x"] = float(0.5 * (uo[0] + lo_[0]))
    m["upper_x"] = float(uo[0])
    m["mouth_w"] = float(np.linalg.norm(p[T.MOUTH_CORNER_L, :2] - p[T.MOUTH_CORNER_R, :2]))
    m["lips_z"] = float(0.5 * (uo[2] + lo_[2]))  # w: into the screen, so forward < 0
    return m


# --- measures -> weights ----------------------------------------------------------------
# Full-scale change of each control's measure (neutral-frame units, or a share of the
# neutral eye aspect ratio for eyeBlink / eyeWide) and the share of it read as 0 (the
# landmark noise floor). They start from the slope of each measure against the true weight
# while the control moves alone (a grace_hopper range-of-motion take), then
# scripts/tune_heuristic.py fits them by least squares over grace_hopper ROM and natural
# takes. A big scale with a big dead zone means MediaPipe barely sees that control.
DEFAULT_SCALE: dict[str, float] = {
    "eyeBlink": 0.51, "eyeWide": 0.96, "eyeSquint": 0.084, "eyeLookIn": 0.168,
    "eyeLookOut": 0.1224, "eyeLookUp": 0.108, "eyeLookDown": 0.0828, "browInnerUp": 0.0432,
    "browOuterUp": 0.0588, "browDown": 0.0648, "jawOpen": 0.23, "jawSide": 0.06,
    "mouthClose": 0.078, "mouthSmile": 0.0951, "mouthFrown": 0.08, "mouthStretch": 0.252,
    "mouthPucker": 0.15, "mouthFunnel": 0.215, "mouthShift": 0.2, "mouthRollLower": 0.315,
    "mouthRollUpper": 0.0714, "mouthPress": 0.18, "cheekPuff": 0.114,
}
DEFAULT_DEAD: dict[str, float] = {
    "eyeBlink": 0.45, "eyeWide": 0.05, "eyeSquint": 0.05, "eyeLookIn": 0.1,
    "eyeLookOut": 0.05, "eyeLookUp": 0.05, "eyeLookDown": 0.05, "browInnerUp": 0.05,
    "browOuterUp": 0.05, "browDown": 0.05, "jawOpen": 0.05, "jawSide": 0.6,
    "mouthClose": 0.45, "mouthSmile": 0.1, "mouthFrown": 0.2, "mouthStretch": 0.05,
    "mouthPucker": 0.2, "mouthFunnel": 0.2, "mouthShift": 0.1, "mouthRollLower": 0.05,
    "mouthRollUpper": 0.6, "mouthPress": 0.6, "cheekPuff": 0.1,
}
# How much one movement shows in another control's measure (same source), so that the
# obvious couplings cancel: the jaw drops the mouth corners, a blink drags the iris down...
DEFAULT_COUPLING: dict[str, float] = {
    "corner_up_per_jaw": 0.113 / 0.231, "corner_out_per_jaw": 0.049 / 0.231,
    "gap_per_jaw": 0.442 / 0.231, "lower_lip_per_jaw": 0.333 / 0.231,
    "upper_thick_per_jaw": 0.043 / 0.231, "lower_thick_per_jaw": 0.049 / 0.231,
    "width_per_jaw": 0.046 / 0.231, "width_per_smile": 0.07,
    "corner_out_per_smile": 0.048, "corner_out_per_shift": 0.6, "chin_per_shift": 0.3,
    "iris_up_per_blink": 0.03, "lid_lo_per_blink": 0.04, "cheek_per_smile": 0.025,
}


@dataclass
class HeuristicConfig:
    calib_frames: int = 30  # face frames of the neutral (a calibration clip's first ones)
    running: NeutralConfig = field(default_factory=NeutralConfig)  # without a calibration
    scale: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_SCALE))
    # share of each full scale read as 0: the landmark noise floor of that measure
    dead: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_DEAD))
    coupling: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_COUPLING))


def _ramp(x, full: float, dead: float):
    """0 below ``dead * full``, 1 at ``full``, linear between (floats or arrays)."""
    return np.clip((x / full - dead) / (1.0 - dead), 0.0, 1.0)


def weights_from_measures(m: dict, n0: dict[str, float], cfg: HeuristicConfig) -> dict:
    """Control weights from measures ``m`` (floats, or arrays over frames) and the
    neutral's ``n0``."""
    k = cfg.coupling
    d = {key: m[key] - n0[key] for key in m}
    w: dict = {}

    def ramp(x, key: str):
        return _ramp(x, cfg.scale[key], cfg.dead.get(key, 0.1))

    jaw = np.maximum(d["chin_y"], 0.0)
    w["jawOpen"] = ramp(d["chin_y"], "jawOpen")
    shift = d["upper_x"]
    w["mouthLeft"] = ramp(shift, "mouthShift")
    w["mouthRight"] = ramp(-shift, "mouthShift")
    jx = d["chin_x"] - k["chin_per_shift"] * shift
    w["jawLeft"] = ramp(jx, "jawSide")
    w["jawRight"] = ramp(-jx, "jawSide")
    for side in ("Left", "Right"):
        sgn = 1.0 if side == "Left" else -1.0
        ear0 = max(n0[f"eye_open_{side}"], 1e-3)
        ear = d[f"eye_open_{side}"] / ear0  # relative change of the eye aspect ratio
        blink = ramp(-ear, "eyeBlink")
        w[f"eyeBlink{side}"] = blink
        w[f"eyeWide{side}"] = ramp(ear, "eyeWide")
        w[f"eyeSquint{side}"] = ramp(d[f"lid_lo_{side}"] - k["lid_lo_per_blink"] * blink,
                                     "eyeSquint")
        w[f"eyeLookIn{side}"] = ramp(-d[f"iris_out_{side}"], "eyeLookIn")
        w[f"eyeLookOut{side}"] = ramp(d[f"iris_out_{side}"], "eyeLookOut")
        iris_up = d[f"iris_up_{side}"] + k["iris_up_per_blink"] * blink
        w[f"eyeLookUp{side}"] = ramp(iris_up, "eyeLookUp")
        w[f"eyeLookDown{side}"] = ramp(-iris_up, "eyeLookDown")
        w[f"browOuterUp{side}"] = ramp(d[f"brow_outer_{side}"], "browOuterUp")
        brow = 0.5 * (d[f"brow_inner_{side}"] + d[f"brow_outer_{side}"])
        w[f"browDown{side}"] = ramp(-brow, "browDown")
        up = d[f"corner_up_{side}"] + k["corner_up_per_jaw"] * jaw
        smile = ramp(up, "mouthSmile")
        w[f"mouthSmile{side}"] = smile
        w[f"mouthFrown{side}"] = ramp(-up, "mouthFrown")
        out = (d[f"corner_out_{side}"] - k["corner_out_per_jaw"] * jaw
               - sgn * k["corner_out_per_shift"] * shift - k["corner_out_per_smile"] * smile)
        w[f"mouthStretch{side}"] = ramp(out, "mouthStretch")
        thin = -(d[f"upper_thick_{side}"] + d[f"lower_thick_{side}"])
        w[f"mouthPress{side}"] = ramp(thin, "mouthPress")
    w["browInnerUp"] = ramp(0.5 * (d["brow_inner_Left"] + d["brow_inner_Right"]),
                            "browInnerUp")
    smiles = 0.5 * (w["mouthSmileLeft"] + w["mouthSmileRight"])
    width = d["mouth_w"] - k["width_per_jaw"] * jaw - k["width_per_smile"] * smiles
    w["mouthPucker"] = ramp(-width, "mouthPucker")
    w["mouthFunnel"] = ramp(d["lip_gap"] - k["gap_per_jaw"] * jaw, "mouthFunnel")
    w["mouthClose"] = ramp(d["lower_lip_y"] + k["lower_lip_per_jaw"] * jaw, "mouthClose")
    w["mouthRollLower"] = ramp(-(d["lower_thick"] + k["lower_thick_per_jaw"] * jaw),
                               "mouthRollLower")
    w["mouthRollUpper"] = ramp(-(d["upper_thick"] + k["upper_thick_per_jaw"] * jaw),
                               "mouthRollUpper")
    cheek = 0.5 * sum(d[f"cheek_out_{sd}"] - k["cheek_per_smile"] * w[f"mouthSmile{sd}"]
                      for sd in ("Left", "Right"))
    w["cheekPuff"] = ramp(cheek, "cheekPuff")
    return w


# --- neutral calibration and the method ----------------------------------------------------
@dataclass
class Neutral:
    """A performer's neutral face: the alignment reference and its measures."""

    frame: NeutralFrame
    measures: dict[str, float]
    frames: int

    @classmethod
    def from_landmarks(cls, faces: list[np.ndarray]) -> Neutral:
        if not faces:
            raise ValueError("no face frames to calibrate on")
        ref = NeutralFrame.from_landmarks(np.median(np.stack(faces), axis=0))
        ms = [measures(ref.local(lm)) for lm in faces]
        return cls(ref, {k: float(np.median([m[k] for m in ms])) for k in ms[0]}, len(faces))


class HeuristicMethod:
    """The ``heuristic`` method (engine/methods.py): landmarks in, control weights out."""

    name = "heuristic"
    landmarker = DEFAULT_LANDMARKER
    min_face_px = 15.0  # px between the eyes; smaller reads badly (README, "Small faces")

    def __init__(self, models: str | Path | None = None, backend: str = "auto", options=None,
                 times: StageTimes | None = None, *, calibration: str | Path | None = None,
                 neutral_clip: NeutralClip | None = None,
                 config: HeuristicConfig | None = None):
        """``calibration``: a clip that starts neutral (its first face frames are the
        neutral). ``neutral_clip``: a clip read whole first, its most neutral-looking frames
        the neutral (engine.neutral.clip_neutral). Neither: found in the stream as it comes."""
        self.config = config or HeuristicConfig()
        self.controls = list(CONTROL_NAMES)
        self.times = times or StageTimes()
        self.calibration = calibration
        self.neutral: Neutral | None = None
        self.running: RunningNeutral | None = None  # the neutral found in the stream
        if calibration is not None:
            faces = list(calibration_landmarks(calibration, self.config.calib_frames,
                                               self.landmarker))
            self.neutral = Neutral.from_landmarks(faces)
            log.info("heuristic: neutral from %d frames of %s", len(faces), calibration)
        elif neutral_clip is not None:
            self.neutral = Neutral.from_landmarks(list(clip_neutral(
                neutral_clip, self.config.running, landmarker=self.landmarker)))
            self.calibration = "the most neutral frames of the whole clip"
        else:
            self.running = RunningNeutral(self.config.running)

    @property
    def backend_name(self) -> str:
        return "numpy"

    def describe(self) -> str:
        src = self.calibration or "the most neutral face frames seen so far"
        return f"landmark heuristic, neutral from {src}"

    def warmup(self) -> None:
        pass

    def weights(self, landmarks: np.ndarray) -> np.ndarray:
        """(C,) float32 weights of one face (landmarks (478, 3) pixels)."""
        if self.running is not None and self.running.add(landmarks):
            self.neutral = Neutral.from_landmarks(self.running.faces)
        neutral = self.neutral
        assert neutral is not None  # the calibration's, or the running one's from frame one
        w = weights_from_measures(measures(neutral.frame.local(landmarks)), neutral.measures,
                                  self.config)
        # controls it has no measure for (the new ARKit shapes, LANDMARK_BLIND) stay at 0
        return np.array([w.get(n, 0.0) for n in self.controls], np.float32)

    def infer_frames(self, batch: list[FrameResult]) -> None:
        with self.times.time("heuristic"):
            for r in batch:
                if r.landmarks is not None:
                    r.raw_weights = self.weights(r.landmarks)

    def close(self) -> None:
        pass
