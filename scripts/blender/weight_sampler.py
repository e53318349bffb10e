"""Rig-weight sequences for character renders: a range of motion (ROM) plus natural random
trajectories. Pure Python (Blender's Python here has no numpy), seeded and reproducible.

Works on any list of shape-key names. ARKit names get more structure where it matters:
blinks are short and mostly both-sided, and opposite pairs (eyeLookUp/Down, jawLeft/Right,
mouthSmile/Frown, ...) come from one signed signal, so both are never on at once.
"""
from __future__ import annotations

import math
import random

# Opposite pairs (the same list as lprr's lprr.engine.controls.EXCLUSIVE, plus a few).
EXCLUSIVE = (
    ("eyeBlinkLeft", "eyeWideLeft"), ("eyeBlinkRight", "eyeWideRight"),
    ("eyeLookUpLeft", "eyeLookDownLeft"), ("eyeLookUpRight", "eyeLookDownRight"),
    ("eyeLookInLeft", "eyeLookOutLeft"), ("eyeLookInRight", "eyeLookOutRight"),
    ("jawLeft", "jawRight"), ("mouthLeft", "mouthRight"),
    ("mouthSmileLeft", "mouthFrownLeft"), ("mouthSmileRight", "mouthFrownRight"),
    ("browDownLeft", "browOuterUpLeft"), ("browDownRight", "browOuterUpRight"),
    ("jawOpen", "mouthClose"),
)


def _smoothstep(x: float) -> float:
    x = min(max(x, 0.0), 1.0)
    return x * x * (3.0 - 2.0 * x)


def rom(names: list[str], frames_per_key: int = 5, order_seed: int | None = None
        ) -> list[list[float]]:
    """Each key alone rises to 1 and falls back (a triangle of ``frames_per_key`` frames).

    ``order_seed`` shuffles the key order, so that a ROM cut short covers different keys for
    different seeds.
    """
    order = list(range(len(names)))
    if order_seed is not None:
        random.Random(order_seed).shuffle(order)
    L = max(1, frames_per_key)
    pulse = [1.0 - abs(2.0 * (j + 1) / (L + 1) - 1.0) for j in range(L)]
    rows = []
    for k in order:
        for v in pulse:
            row = [0.0] * len(names)
            row[k] = v
            rows.append(row)
    return rows


def _envelope_events(rng: random.Random, n: int, fps: float, gap_s: float,
                     attack_s: tuple[float, float], hold_s: tuple[float, float],
                     release_s: tuple[float, float], amp: tuple[float, float]) -> list[float]:
    """Sparse smooth events: rise, hold, fall, separated by exponential gaps (max of all)."""
    out = [0.0] * n
    t = -rng.uniform(0.0, gap_s + hold_s[1])  # events may already be under way at frame 0
    total = n / fps
    while t < total:
        a, h, r = rng.uniform(*attack_s), rng.uniform(*hold_s), rng.uniform(*release_s)
        peak = rng.uniform(*amp)
        i0 = max(0, math.floor(t * fps))
        i1 = min(n, math.ceil((t + a + h + r) * fps) + 1)
        for i in range(i0, i1):
            x = i / fps - t
            v = peak * _smoothstep(x / a) * (1.0 - _smoothstep((x - a - h) / r))
            out[i] = max(out[i], v)
        t += a + h + r + rng.expovariate(1.0 / gap_s)
    return out


def natural(names: list[str], n: int, fps: float = 30.0, seed: int = 0,
            active: float = 4.0) -> list[list[float]]:
    """``n`` frames of smooth random activity, about ``active`` keys on at a time."""
    rng = random.Random(seed)
    K = len(names)
    cols: dict[str, list[float]] = {}
    mean_event = 0.25 + 0.85 + 0.32  # attack + hold + release, seconds
    gap = mean_event * max(K / max(active, 0.5) - 1.0, 0.5)
    blinks = [nm for nm in names if "blink" in nm.lower()]
    if blinks:  # one shared blink track, so both eyes close together (mostly)
        both = _envelope_events(rng, n, fps, 3.0, (0.05, 0.08), (0.0, 0.05), (0.1, 0.2),
                                (0.9, 1.0))
        for nm in blinks:
            wink = _envelope_events(rng, n, fps, 20.0, (0.05, 0.08), (0.0, 0.1), (0.1, 0.2),
                                    (0.8, 1.0))
            cols[nm] = [max(a, b) for a, b in zip(both, wink)]
    for nm in names:
        if nm not in cols:
            cols[nm] = _envelope_events(rng, n, fps, gap, (0.1, 0.4), (0.2, 1.5), (0.15, 0.5),
                                        (0.3, 1.0))
    for a, b in EXCLUSIVE:
        if a in cols and b in cols:  # one signed signal: continuous, never both on
            s = [x - y for x, y in zip(cols[a], cols[b])]
            cols[a] = [max(0.0, v) for v in s]  # 0.0 first: never "-0.0"
            cols[b] = [-v if v < 0.0 else 0.0 for v in s]
    return [[min(max(cols[nm][i], 0.0), 1.0) for nm in names] for i in range(n)]


def sample(names: list[str], frames: int, fps: float = 30.0, seed: int = 0,
           rom_share: float = 0.5, frames_per_key: int = 5, decimals: int = 6
           ) -> list[list[float]]:
    """A ROM segment (at most ``rom_share`` of the frames) followed by natural trajectories.

    Values are rounded to ``decimals`` so that the weights written to CSV are exactly the
    values the shape keys were rendered with.
    """
    n_rom = min(round(frames * rom_share), len(names) * frames_per_key)
    rows = rom(names, frames_per_key, order_seed=seed)[:n_rom]
    rows += natural(names, frames - n_rom, fps, seed + 1)
    return [[round(v, decimals) for v in r] for r in rows]
