"""Webcam realism for the performer puppet: head motion, light and colour drift, sensor
noise, blur and JPEG compression. All of it seeded, so a take can be regenerated exactly.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class HeadPose:
    """Small rigid head motion relative to the photo's pose.

    Angles in degrees (roll in the image plane, yaw about the vertical axis, pitch about the
    horizontal one), ``scale`` as a factor, ``tx``/``ty`` as fractions of the frame size.
    """

    roll: float = 0.0
    yaw: float = 0.0
    pitch: float = 0.0
    scale: float = 1.0
    tx: float = 0.0
    ty: float = 0.0

    def apply(self, points: np.ndarray, center: np.ndarray, size: float) -> np.ndarray:
        """Move (P, 3) points (x, y, z pixels; z towards the camera negative) rigidly.

        Rotation is about ``center`` (x, y, z), then scale about it, then translation.
        Orthographic, like a webcam at arm's length.
        """
        p = np.asarray(points, np.float64) - center
        r = self.rotation()
        q = p @ r.T * self.scale
        q += center
        q[:, 0] += self.tx * size
        q[:, 1] += self.ty * size
        return q

    def rotation(self) -> np.ndarray:
        r, y, p = (math.radians(v) for v in (self.roll, self.yaw, self.pitch))
        rz = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
        ry = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
        rx = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
        return rz @ ry @ rx

    def is_identity(self) -> bool:
        return self == HeadPose()


@dataclass(frozen=True)
class HeadMotionConfig:
    """Peak amplitudes at amount=1 and how fast the head drifts."""

    roll: float = 4.0
    yaw: float = 7.0
    pitch: float = 5.0
    scale: float = 0.04
    tx: float = 0.03
    ty: float = 0.03
    period_s: float = 2.5  # typical time between direction changes


def _smooth_walk(rng: np.random.Generator, n: int, step: int) -> np.ndarray:
    """(n,) smooth noise in about [-1, 1]: cubic-ish interpolation of random knots."""
    knots = rng.uniform(-1, 1, n // step + 4)
    t = np.arange(n) / step
    i = np.floor(t).astype(int)
    f = t - i
    f = f * f * (3 - 2 * f)  # smoothstep between knots: continuous velocity at knots
    return knots[i] * (1 - f) + knots[i + 1] * f


def head_motion(n_frames: int, fps: float = 30.0, seed: int = 0, amount: float = 1.0,
                config: HeadMotionConfig | None = None) -> list[HeadPose]:
    """A smooth random head-motion trajectory (a performer swaying in front of a webcam)."""
    cfg = config or HeadMotionConfig()
    rng = np.random.default_rng(seed)
    step = max(2, int(cfg.period_s * fps))
    tracks = {}
    for name in ("roll", "yaw", "pitch", "scale", "tx", "ty"):
        slow = _smooth_walk(rng, n_frames, step)
        fast = _smooth_walk(rng, n_frames, max(2, step // 5))  # small quicker nods
        tracks[name] = amount * getattr(cfg, name) * (0.8 * slow + 0.2 * fast)
    return [HeadPose(roll=float(tracks["roll"][i]), yaw=float(tracks["yaw"][i]),
                     pitch=float(tracks["pitch"][i]), scale=1.0 + float(tracks["scale"][i]),
                     tx=float(tracks["tx"][i]), ty=float(tracks["ty"][i]))
            for i in range(n_frames)]


@dataclass
class Realism:
    """Webcam image degradations. ``Realism.off()`` gives clean frames."""

    light_drift: float = 0.10  # +- relative brightness, slowly varying
    light_gradient: float = 0.10  # +- side-light strength across the frame
    color_drift: float = 0.04  # +- per-channel gain (white balance)
    noise: tuple[float, float] = (1.5, 4.0)  # sensor noise sigma range (0..255)
    blur: tuple[float, float] = (0.0, 0.8)  # gaussian sigma range (pixels)
    jpeg: tuple[int, int] = (60, 92)  # JPEG quality range
    period_s: float = 4.0
    enabled: bool = True

    @classmethod
    def off(cls) -> Realism:
        return cls(enabled=False)

    @classmethod
    def mild(cls) -> Realism:
        return cls(light_drift=0.05, light_gradient=0.05, color_drift=0.02, noise=(0.5, 1.5),
                   blur=(0.0, 0.4), jpeg=(85, 95))


class WebcamEffects:
    """Per-frame degradations driven by smooth seeded drifts (one instance per take)."""

    def __init__(self, realism: Realism, n_frames: int, fps: float = 30.0, seed: int = 0):
        self.r = realism
        self.n = max(1, n_frames)
        rng = np.random.default_rng(seed)
        step = max(2, int(realism.period_s * fps))
        self._light = _smooth_walk(rng, self.n, step)
        self._grad = _smooth_walk(rng, self.n, step)
        self._grad_angle = _smooth_walk(rng, self.n, step * 2) * math.pi
        self._color = np.stack([_smooth_walk(rng, self.n, step) for _ in range(3)], 1)
        self._noise = rng.uniform(*realism.noise, self.n)
        self._blur = _smooth_walk(rng, self.n, step) * 0.5 + 0.5
        self._jpeg = rng.integers(realism.jpeg[0], realism.jpeg[1] + 1, self.n)
        self._frame_seeds = rng.integers(0, 2**31 - 1, self.n)
        self._grid: tuple[np.ndarray, np.ndarray] | None = None

    def apply(self, frame: np.ndarray, i: int) -> np.ndarray:
        if not self.r.enabled:
            return frame
        i = int(i) % self.n
        h, w = frame.shape[:2]
        if self._grid is None or self._grid[0].shape != (h, w):
            ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
            self._grid = ((xs - w / 2) / w, (ys - h / 2) / h)
        gx, gy = self._grid
        a = self._grad_angle[i]
        ramp = (math.cos(a) * gx + math.sin(a) * gy) * 2.0  # about -1..1 across the frame
        gain = 1.0 + self.r.light_drift * self._light[i] + \
            self.r.light_gradient * self._grad[i] * ramp
        col = 1.0 + self.r.color_drift * self._color[i]
        img = frame.astype(np.float32) * gain[..., None] * col[None, None, :].astype(np.float32)
        sigma_b = self.r.blur[0] + (self.r.blur[1] - self.r.blur[0]) * self._blur[i]
        if sigma_b > 0.05:
            img = cv2.GaussianBlur(img, (0, 0), float(sigma_b))
        rng = np.random.default_rng(int(self._frame_seeds[i]))
        s = float(self._noise[i])
        # luminance noise plus weaker chroma noise, as a webcam sensor gives
        lum = rng.standard_normal((h, w, 1), np.float32) * s
        chroma = rng.standard_normal((h, w, 3), np.float32) * (0.4 * s)
        img += lum + chroma
        out = np.clip(img + 0.5, 0, 255).astype(np.uint8)
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(self._jpeg[i])])
        return cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else out
