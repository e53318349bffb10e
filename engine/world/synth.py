"""Generate demo-world takes: rig weights -> rendered frames + true landmarks on disk.

One seed drives everything in a take (the weight trajectory, head motion, camera jitter and
webcam noise), through independent child streams, so the same seed gives the same take.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.take import TakeWriter
from lprr.engine.world.sequences import natural_sequence, rom_sequence, webcam_sequence

log = logging.getLogger(__name__)

C = len(CONTROL_NAMES)
Progress = Callable[[Iterable], Iterable]


@dataclass
class TakeResult:
    out: Path
    frames: int
    seconds: float
    meta: dict = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / max(self.seconds, 1e-9)


def _streams(seed: int, n: int) -> list[int]:
    """``n`` independent child seeds of ``seed`` (weights, motion, effects, ...)."""
    ss = np.random.SeedSequence(int(seed))
    return [int(c.generate_state(1)[0]) for c in ss.spawn(n)]


def rom_frames_per_control(n_frames: int) -> int:
    """Frames per control so that neutral + every control fit in about ``n_frames``."""
    return max(6, int(n_frames) // (C + 1))


def take_weights(generator: str, n_frames: int, fps: float, seed: int) -> np.ndarray:
    """(N, C) weights: "natural" (seeded performance), "webcam" (the same after a neutral
    lead-in) or "rom" (each control alone)."""
    if generator == "natural":
        return natural_sequence(n_frames, fps=fps, seed=seed)
    if generator == "webcam":
        return webcam_sequence(n_frames, fps=fps, seed=seed)
    if generator == "rom":
        return rom_sequence(rom_frames_per_control(n_frames))
    raise ValueError(f"unknown generator {generator!r} (natural, webcam or rom)")


def _write(out: Path, fps: float, meta: dict, weights: np.ndarray,
           render: Callable[[int, np.ndarray], tuple[np.ndarray, np.ndarray]],
           progress: Progress | None) -> TakeResult:
    t0 = time.perf_counter()
    idx: Iterable[int] = range(len(weights))
    if progress is not None:
        idx = progress(idx)
    with TakeWriter(out, fps, CONTROL_NAMES, meta) as tw:
        for i in idx:
            frame, lm = render(i, weights[i])
            tw.add(frame, weights[i], lm)
    dt = time.perf_counter() - t0
    log.info("wrote %d frames to %s in %.1f s (%.1f frames/s)", len(weights), out, dt,
             len(weights) / max(dt, 1e-9))
    return TakeResult(Path(out), len(weights), dt, meta)


def performer_take(photo: str | Path, out: str | Path, n_frames: int, *, seed: int = 0,
                   generator: str = "natural", size: int = 256, fps: float = 30.0,
                   head: float = 1.0, realism: bool = True,
                   progress: Progress | None = None) -> TakeResult:
    """A performer take from a photo: puppet frames, true landmarks and the weights."""
    from lprr.engine.world.puppet import Puppet
    from lprr.engine.world.puppet_effects import Realism, head_motion

    s_weights, s_head, s_fx = _streams(seed, 3)
    weights = take_weights(generator, n_frames, fps, s_weights)
    puppet = Puppet(photo, size=size, seed=s_fx,
                    realism=Realism() if realism else Realism.off())
    poses = head_motion(len(weights), fps, seed=s_head, amount=head) if head > 0 else None
    meta = {"kind": "performer", "source": "puppet", "photo": str(puppet.source),
            "seed": int(seed), "generator": generator, "head_motion": float(head),
            "realism": bool(realism), "size_request": int(size)}

    def render(i: int, w: np.ndarray):
        return puppet.render(w, poses[i] if poses else None, frame_index=i)

    return _write(Path(out), fps, meta, weights, render, progress)


def character_take(out: str | Path, n_frames: int, *, seed: int = 0,
                   generator: str = "natural", size: int = 256, fps: float = 30.0,
                   jitter: float = 0.02, progress: Progress | None = None) -> TakeResult:
    """A demo-character take: rendered frames, projected landmarks and the weights."""
    from lprr.engine.world.character_adapter import CameraJitter, make_character

    s_weights, s_cam = _streams(seed, 2)
    weights = take_weights(generator, n_frames, fps, s_weights)
    character = make_character(size)
    cams = CameraJitter(len(weights), fps, seed=s_cam, amount=jitter)
    meta = {"kind": "character", "source": "demo_character", "seed": int(seed),
            "generator": generator, "jitter": float(jitter), "size_request": int(size)}

    def render(i: int, w: np.ndarray):
        return character.render(w, camera=cams.pose(i))

    return _write(Path(out), fps, meta, weights, render, progress)
