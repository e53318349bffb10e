"""The performer puppet: a real photo of a face whose expression we set.

Landmarks are found once on the photo (MediaPipe, static mode). Each frame, the rig moves
them (human proportions), the photo is warped piecewise-affinely over the face mesh plus
two anchor rings (the head outline, which moves rigidly with the head, and the frame
border, which stays put), and what warping cannot make is painted: eyeballs with moving
irises, lids covering the eye, and the mouth interior with teeth. Webcam realism (head
motion, light and colour drift, noise, blur, JPEG) is optional and seeded.

The returned landmarks are the *true* moved points, in output pixels (z scaled like x).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from lprr.engine.controls import CONTROL_NAMES, INDEX
from lprr.engine.errors import UserError
from lprr.engine.face import topology as topo
from lprr.engine.world import rig
from lprr.engine.world.puppet_effects import HeadPose, Realism, WebcamEffects
from lprr.engine.world.puppet_paint import (paint_eye, paint_mouth, paint_tongue, sample_eye,
                                           sample_mouth)
from lprr.engine.world.puppet_warp import TriangleWarp, border_ring, delaunay

log = logging.getLogger(__name__)

C = len(CONTROL_NAMES)
_LID_CONTROLS = [INDEX[f"eye{k}{s}"] for k in ("Blink", "Wide", "Squint")
                 for s in ("Left", "Right")]


@dataclass
class PuppetConfig:
    size: int = 256  # output frames are size x size
    face_fraction: float = 0.5  # forehead-to-chin height / frame height (webcam-like)
    face_offset: float = -0.03  # face centre above (-) the frame centre, in frame heights
    head_ring: float = 1.45  # the head-outline ring, as a multiple of the face oval
    effects_period_frames: int = 36000  # realism drifts repeat after this many frames


def load_photo(photo: str | Path | np.ndarray) -> tuple[np.ndarray, str]:
    """(BGR image, description) from a path or an array; UserError when unreadable."""
    if isinstance(photo, np.ndarray):
        img = photo
        if img.ndim == 2:
            img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
        if img.ndim != 3 or img.shape[2] not in (3, 4):
            raise UserError(f"expected an HxWx3 BGR image, got shape {img.shape}")
        return np.ascontiguousarray(img[:, :, :3].astype(np.uint8)), "<array>"
    path = Path(photo)
    if not path.is_file():
        raise UserError(f"photo not found: {path}")
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise UserError(f"cannot read {path} as an image")
    return img, str(path)


class Puppet:
    """A photo you can puppeteer with rig weights (CONTROL_NAMES order).

    ``size``: output frames are size x size (None: the photo's shorter side). ``seed``
    drives the webcam realism; ``realism=None`` means clean frames. ``landmarks`` skips
    detection (photo pixels, (478, 3)).
    """

    def __init__(self, photo: str | Path | np.ndarray, size: int | None = 256, seed: int = 0,
                 realism: Realism | None = None, config: PuppetConfig | None = None,
                 landmarks: np.ndarray | None = None):
        self.config = config or PuppetConfig()
        img, self.source = load_photo(photo)
        # size=None keeps the photo's resolution (its shorter side, square frames)
        self.config.size = int(size) if size is not None else int(min(img.shape[:2]))
        if landmarks is None:
            from lprr.engine.face.landmarks import FaceLandmarker

            with FaceLandmarker(static=True) as fl:
                landmarks = fl.detect(img)
            if landmarks is None:
                raise UserError(f"no face found in {self.source}; use a frontal face photo")
        self.photo_landmarks = np.asarray(landmarks, np.float32)
        self.canvas, self.neutral = self._crop(img, self.photo_landmarks)
        self.size = self.canvas.shape[0]
        self.deltas = rig.control_deltas(self.neutral, rig.HUMAN)
        self._build_mesh()
        self.eyes = [sample_eye(self.canvas, self.neutral, s) for s in ("L", "R")]
        self.mouth = sample_mouth(self.canvas, self.neutral)
        self.realism = realism if realism is not None else Realism.off()
        self.seed = seed
        self.effects = WebcamEffects(self.realism, self.config.effects_period_frames,
                                     seed=seed)
        self._frame = 0

    # -- set-up ------------------------------------------------------------------------
    def _crop(self, img: np.ndarray, lm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scale and crop the photo so the face fills ``face_fraction`` of a square frame."""
        cfg = self.config
        oval = lm[list(topo.FACE_OVAL), :2]
        centre = 0.5 * (oval.min(0) + oval.max(0))
        face_h = float(np.linalg.norm(lm[topo.FOREHEAD_TOP, :2] - lm[topo.CHIN, :2]))
        if face_h < 8:
            raise UserError(f"the face in {self.source} is too small ({face_h:.0f} px)")
        s = cfg.face_fraction * cfg.size / face_h
        # the frame centre sits below the face centre by face_offset
        tx = cfg.size / 2 - s * centre[0]
        ty = cfg.size / 2 + cfg.face_offset * cfg.size - s * centre[1]
        m = np.array([[s, 0, tx], [0, s, ty]], np.float32)
        interp = cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC
        canvas = cv2.warpAffine(img, m, (cfg.size, cfg.size), flags=interp,
                                borderMode=cv2.BORDER_REFLECT101)
        out = lm.astype(np.float64).copy()
        out[:, 0] = lm[:, 0] * s + tx
        out[:, 1] = lm[:, 1] * s + ty
        out[:, 2] = lm[:, 2] * s
        return canvas, out.astype(np.float32)

    def _build_mesh(self) -> None:
        """Point set = 478 landmarks + head ring + border ring; triangles in draw order."""
        n = self.neutral
        oval_idx = np.array(topo.FACE_OVAL)
        oval = n[oval_idx, :2].astype(np.float64)
        self.centre3 = np.array([*(0.5 * (oval.min(0) + oval.max(0))), 0.0])
        ring = self.centre3[:2] + (oval - self.centre3[:2]) * self.config.head_ring
        border = border_ring(self.size, self.size, per_side=6, margin=2.0)
        self.head_ring = np.concatenate([ring, np.zeros((len(ring), 1))], 1)  # z = head centre
        self.border = border
        self.n_lm = len(n)
        i_ring = self.n_lm + np.arange(len(ring))
        i_border = self.n_lm + len(ring) + np.arange(len(border))
        # background: Delaunay of oval + rings, outside the oval
        pts = np.concatenate([oval, ring, border])
        ids = np.concatenate([oval_idx, i_ring, i_border])
        tri = delaunay(pts)
        cent = pts[tri].mean(1)
        inside_oval = np.array([cv2.pointPolygonTest(oval.astype(np.float32),
                                                     (float(x), float(y)), False) > 0
                                for x, y in cent])
        background = ids[tri[~inside_oval]]
        # holes of the mesh (eyes, mouth): filled so every face pixel has a source; the
        # painter covers them anyway
        holes = []
        for poly in (topo.EYE_OPENING_L, topo.EYE_OPENING_R, topo.MOUTH_OPENING):
            p = np.array(poly)
            k = len(p)
            # a fan from the polygon's first point is enough (they are near-convex)
            holes.append(np.stack([np.full(k - 2, p[0]), p[1:-1], p[2:]], 1))
        self.triangles = np.concatenate([background, *holes, topo.TRIANGLES]).astype(np.int32)
        self.src_points = np.concatenate([n[:, :2], ring, border]).astype(np.float64)
        self.warper = TriangleWarp(self.triangles, (self.size, self.size))

    # -- per frame ---------------------------------------------------------------------
    def landmarks(self, weights: np.ndarray, head: HeadPose | None = None) -> np.ndarray:
        """The true (478, 3) landmarks for ``weights`` and ``head``, in output pixels."""
        w = self._weights(weights)
        lm = rig.deform(self.neutral, self.deltas, w).astype(np.float64)
        return self._move(lm, head).astype(np.float32)

    def _weights(self, weights: np.ndarray) -> np.ndarray:
        w = np.asarray(weights, np.float32).reshape(-1)
        if w.shape != (C,):
            raise ValueError(f"expected {C} weights in CONTROL_NAMES order, got {w.shape}")
        return np.clip(w, 0.0, 1.0)

    def _move(self, pts: np.ndarray, head: HeadPose | None) -> np.ndarray:
        if head is None or head.is_identity():
            return pts
        return head.apply(pts, self.centre3, self.size)

    def render(self, weights: np.ndarray, head: HeadPose | None = None,
               frame_index: int | None = None, effects: bool = True
               ) -> tuple[np.ndarray, np.ndarray]:
        """(BGR frame, true landmarks (478, 3)) for rig ``weights`` (C,) and a head pose.

        ``frame_index`` picks the realism drift state (default: a running counter).
        """
        w = self._weights(weights)
        lm = self._move(rig.deform(self.neutral, self.deltas, w).astype(np.float64), head)
        w_rest = w.copy()
        w_rest[_LID_CONTROLS] = 0.0
        lm_rest = self._move(rig.deform(self.neutral, self.deltas, w_rest).astype(np.float64),
                             head)
        ring = self._move(self.head_ring, head)[:, :2]
        dst = np.concatenate([lm[:, :2], ring, self.border])
        warped = self.warper.warp(self.canvas, self.src_points, dst)
        img = warped.astype(np.float32)
        for look in self.eyes:
            paint_eye(img, lm, lm_rest, look)
        paint_mouth(img, lm, self.mouth)
        paint_tongue(img, lm, float(w[INDEX["tongueOut"]]), self.mouth.tongue * 1.25)
        frame = np.clip(img + 0.5, 0, 255).astype(np.uint8)
        i = self._frame if frame_index is None else int(frame_index)
        self._frame = i + 1
        if effects and self.realism.enabled:
            frame = self.effects.apply(frame, i)
        return frame, lm.astype(np.float32)
