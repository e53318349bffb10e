"""APEM: align and crop the three local patches (lip, eye_l, eye_r), 128x128 each.

Every patch is a fixed box in a canonical *face frame*, so head roll and distance do not
move the patch content:

- origin: the midpoint of the two eye centres (each the mean of its two corners);
- x axis: from the subject's right eye to the left eye (image left to right);
- unit: the inter-ocular distance (IOD) between the eye centres.

Eye corners and the eye line are used because they barely move with expression; the
mouth corners, lids and brows, which do move, are what the patches must show, so they
never define the frame.

Brows belong in the eye patches. The brow controls (browDown*, browInnerUp,
browOuterUp*) have to be read from some patch, the paper's eye patches include the brows,
and lid and brow motion are coupled (a squint lowers the brow, a wide eye raises it), so
one patch sees both.

A box is big enough for its region's full range: the eye box reaches from below the lower
lid to above a fully raised brow; the lip box spans a wide smile and reaches below the
chin of a wide-open jaw.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from lprr.engine.face.topology import EYE_CORNERS_L, EYE_CORNERS_R, RIGID_POINTS
from lprr.engine.post.one_euro import OneEuroFilter

PATCH_SIZE = 128
PATCH_NAMES: tuple[str, ...] = ("lip", "eye_l", "eye_r")

# The patch frame stands on the eye corners (topology.EYE_CORNERS_L/R); on video it is
# fitted to all of topology.RIGID_POINTS, which halves the jitter of four corners.


@dataclass(frozen=True)
class PatchSpec:
    """A square box in face-frame units (IOD), y pointing down the face."""

    name: str
    center: tuple[float, float]
    side: float
    landmarks: tuple[int, ...]  # the region's own points (for checks and overlays)


# Landmark indices of each region (MediaPipe face mesh).
_LIP_POINTS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267,
               269, 270, 409, 78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81,
               82, 13, 312, 311, 310, 415)
_EYE_R_POINTS = (33, 7, 163, 144, 145, 153, 154, 155, 133, 246, 161, 160, 159, 158, 157,
                 173, 468, 469, 470, 471, 472, 70, 63, 105, 66, 107, 46, 53, 52, 65, 55)
_EYE_L_POINTS = (263, 249, 390, 373, 374, 380, 381, 382, 362, 466, 388, 387, 386, 385, 384,
                 398, 473, 474, 475, 476, 477, 300, 293, 334, 296, 336, 276, 283, 282, 295,
                 285)

# Typical human geometry in IOD units: eye width ~0.5, brow ~0.35 above the eye centre
# (+0.15 raised), mouth ~1.05 below the eye line, ~0.8 wide (~1.05 smiling), chin ~1.65
# (~2.0 with the jaw wide open).
PATCH_SPECS: dict[str, PatchSpec] = {
    "lip": PatchSpec("lip", (0.0, 1.33), 1.5, _LIP_POINTS),
    # Subject's left eye lies at +x (image right) in an unmirrored frame.
    "eye_l": PatchSpec("eye_l", (0.5, -0.15), 1.1, _EYE_L_POINTS),
    "eye_r": PatchSpec("eye_r", (-0.5, -0.15), 1.1, _EYE_R_POINTS),
}


@dataclass(frozen=True)
class PatchFrame:
    """Where the patches are cut: a 2D similarity in image pixels, on the eye corners (its
    unit is their distance). Not the face's own 3D frame (engine.face.frame.FaceFrame,
    unit the eye-opening centroids): the shipped models were trained on these patches."""

    cx: float
    cy: float
    scale: float  # pixels per IOD
    angle: float  # radians, rotation of the frame's x axis in the image

    @staticmethod
    def from_landmarks(landmarks: np.ndarray) -> PatchFrame:
        p = np.asarray(landmarks, dtype=np.float64)[:, :2]
        right = p[list(EYE_CORNERS_R)].mean(axis=0)
        left = p[list(EYE_CORNERS_L)].mean(axis=0)
        d = left - right
        c = 0.5 * (left + right)
        return PatchFrame(float(c[0]), float(c[1]), float(np.hypot(*d)),
                         float(math.atan2(d[1], d[0])))

    def to_local(self, pts: np.ndarray) -> np.ndarray:
        """Image pixels -> face-frame units."""
        c, s = math.cos(self.angle), math.sin(self.angle)
        d = np.asarray(pts, dtype=np.float64)[:, :2] - (self.cx, self.cy)
        return np.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]], 1) / self.scale

    @staticmethod
    def fit(template: np.ndarray, pts: np.ndarray) -> PatchFrame:
        """Least-squares similarity taking face-frame ``template`` onto image ``pts``."""
        x = np.asarray(template, dtype=np.float64)
        y = np.asarray(pts, dtype=np.float64)[:, :2]
        mx, my = x.mean(0), y.mean(0)
        xc, yc = x - mx, y - my
        a = float((xc * yc).sum())
        b = float((xc[:, 0] * yc[:, 1] - xc[:, 1] * yc[:, 0]).sum())
        angle = math.atan2(b, a)
        scale = math.hypot(a, b) / float((xc**2).sum())
        c, s = math.cos(angle), math.sin(angle)
        t = my - scale * np.array([c * mx[0] - s * mx[1], s * mx[0] + c * mx[1]])
        return PatchFrame(float(t[0]), float(t[1]), scale, angle)

    def as_array(self) -> np.ndarray:
        return np.array([self.cx, self.cy, math.log(self.scale), self.angle])

    @staticmethod
    def from_array(a: np.ndarray) -> PatchFrame:
        return PatchFrame(float(a[0]), float(a[1]), float(math.exp(a[2])), float(a[3]))


def patch_transform(frame: PatchFrame, spec: PatchSpec, size: int = PATCH_SIZE) -> np.ndarray:
    """The 2x3 similarity matrix mapping image pixels to patch pixels."""
    cos, sin = math.cos(frame.angle), math.sin(frame.angle)
    # Patch centre in the image: face origin + R * (scale * spec.center).
    ux, uy = spec.center
    px = frame.cx + frame.scale * (cos * ux - sin * uy)
    py = frame.cy + frame.scale * (sin * ux + cos * uy)
    k = size / (spec.side * frame.scale)  # patch pixels per image pixel
    # Rotate by -angle, scale by k, move (px, py) to the patch centre.
    m = np.array([[cos * k, sin * k, 0.0], [-sin * k, cos * k, 0.0]])
    m[:, 2] = np.array([size / 2.0, size / 2.0]) - m[:, :2] @ np.array([px, py])
    return m


def invert_transform(m: np.ndarray) -> np.ndarray:
    """Patch -> image (2x3)."""
    return cv2.invertAffineTransform(np.asarray(m, dtype=np.float64))


def map_points(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine to (N,2+) points."""
    p = np.asarray(pts, dtype=np.float64)[:, :2]
    return p @ m[:, :2].T + m[:, 2]


@dataclass
class Patches:
    images: dict[str, np.ndarray]  # name -> (size,size,3) uint8 BGR
    transforms: dict[str, np.ndarray]  # name -> 2x3 image->patch
    frame: PatchFrame

    def stacked(self) -> np.ndarray:
        """(3, size, size, 3) in PATCH_NAMES order."""
        return np.stack([self.images[n] for n in PATCH_NAMES])


def crop(image: np.ndarray, frame: PatchFrame, size: int = PATCH_SIZE,
         specs: dict[str, PatchSpec] | None = None) -> Patches:
    specs = specs or PATCH_SPECS
    images, transforms = {}, {}
    for name in PATCH_NAMES:
        m = patch_transform(frame, specs[name], size)
        images[name] = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REPLICATE)
        transforms[name] = m
    return Patches(images, transforms, frame)


def extract_patches(image: np.ndarray, landmarks: np.ndarray,
                    size: int = PATCH_SIZE) -> dict[str, np.ndarray]:
    """Static (single image) extraction: name -> (size,size,3) uint8 BGR."""
    return crop(image, PatchFrame.from_landmarks(landmarks), size).images


@dataclass
class StabilizerConfig:
    """One Euro filter on the frame parameters (cx, cy, log-scale, angle).

    Units are pixels / log-units / radians per second. A still face's landmarks jitter by
    a fraction of a pixel; a 1 Hz cutoff removes that, and beta lets a moving head through
    with little lag.
    """

    min_cutoff: float = 0.5
    beta: tuple[float, float, float, float] = (0.01, 0.01, 0.5, 0.5)
    d_cutoff: float = 1.0


@dataclass
class Apem:
    """Stateful APEM for video: the face frame is stabilised over time."""

    size: int = PATCH_SIZE
    stabilize: bool = True
    config: StabilizerConfig = field(default_factory=StabilizerConfig)
    specs: dict[str, PatchSpec] = field(default_factory=lambda: dict(PATCH_SPECS))

    def __post_init__(self) -> None:
        self._filter = self._new_filter()
        self._template: np.ndarray | None = None

    def _new_filter(self) -> OneEuroFilter:
        c = self.config
        return OneEuroFilter(c.min_cutoff, np.asarray(c.beta, dtype=np.float64), c.d_cutoff,
                             size=4)

    def reset(self) -> None:
        """Forget the motion history (call when the face is lost)."""
        self._filter = self._new_filter()
        self._template = None

    def __call__(self, image: np.ndarray, landmarks: np.ndarray | None,
                 t: float) -> Patches | None:
        if landmarks is None:
            self.reset()
            return None
        frame = PatchFrame.from_landmarks(landmarks)
        rigid = np.asarray(landmarks)[list(RIGID_POINTS)]
        if self.stabilize:
            if self._template is None:
                self._template = frame.to_local(rigid)  # this track's own rigid face shape
            else:
                frame = PatchFrame.fit(self._template, rigid)
            a = frame.as_array()
            prev = self._filter.value
            if prev is not None:  # keep the angle continuous across +-pi
                a[3] = prev[3] + (a[3] - prev[3] + math.pi) % (2 * math.pi) - math.pi
            frame = PatchFrame.from_array(self._filter(a, t))
        return crop(image, frame, self.size, self.specs)
