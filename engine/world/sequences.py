"""Rig-weight trajectories for the demo world: natural performances and a range-of-motion take.

All generators are seeded and reproducible and return (N, C) float32 weights in [0, 1], with
columns in ``lprr.engine.controls.CONTROL_NAMES`` order.

The natural sequence is built from events on a few latent tracks, so that co-activation is
sensible and opposite controls come from one signed signal (they can never both be on):

- blinks: short events (150-300 ms, every 2-6 s), sometimes one-sided, slower to open;
- gaze: saccades (2-3 frames) to a new target, then a hold with small fixational drift;
- speech: utterances of syllables (~4-5 Hz), each a viseme (open, ee, oo, o, m/b/p, f/v);
- held smiles (with squint) and frowns (with brow down), brow raises (often with wide eyes);
- occasional one-off mouth shapes so every control is seen.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lprr.engine.controls import CONTROL_NAMES, EXCLUSIVE, INDEX

C = len(CONTROL_NAMES)

# A control whose exclusive partner is "dominant" is zeroed as soon as the partner starts
# (an eye cannot be both closing and wide open).
_DOMINANT = {"eyeWideLeft": "eyeBlinkLeft", "eyeWideRight": "eyeBlinkRight"}
_EXCL_THRESHOLD = 0.1


@dataclass
class NaturalConfig:
    """Rates and durations (seconds) of the natural-sequence events."""

    blink_interval: tuple[float, float] = (2.0, 6.0)
    blink_duration: tuple[float, float] = (0.15, 0.30)
    one_sided_blink: float = 0.15  # share of blinks that are winks
    gaze_hold: tuple[float, float] = (0.4, 2.5)
    speech_share: float = 0.5  # rough share of time spent talking
    utterance: tuple[float, float] = (1.0, 4.0)
    pause: tuple[float, float] = (0.4, 3.0)
    syllable_rate: tuple[float, float] = (3.5, 5.5)  # per second
    expression_gap: tuple[float, float] = (1.0, 5.0)
    expression_hold: tuple[float, float] = (0.8, 4.0)


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


def _envelope(n: int, start: float, attack: float, hold: float, release: float) -> np.ndarray:
    """(n,) 0..1 envelope in frame units: smooth rise, hold, smooth fall."""
    t = np.arange(n, dtype=np.float64)
    up = _smoothstep((t - start) / max(attack, 1e-6))
    down = 1.0 - _smoothstep((t - start - attack - hold) / max(release, 1e-6))
    return up * down


def _smooth_noise(rng: np.random.Generator, n: int, fps: float, cutoff_s: float) -> np.ndarray:
    """(n,) smooth zero-mean noise of unit-ish amplitude, correlated over ``cutoff_s``."""
    step = max(1, round(cutoff_s * fps))
    knots = rng.standard_normal(n // step + 3)
    xs = np.arange(len(knots)) * step
    return np.interp(np.arange(n), xs, knots) / 1.0


def _events(rng: np.random.Generator, total_s: float, gap: tuple[float, float],
            first: tuple[float, float] | None = None) -> list[float]:
    """Event start times (s) with uniformly random gaps."""
    t = rng.uniform(*(first or (0.0, gap[1])))
    out = []
    while t < total_s:
        out.append(t)
        t += rng.uniform(*gap)
    return out


class _Tracks:
    def __init__(self, n: int):
        self.n = n
        self.w = np.zeros((n, C), np.float64)

    def add(self, name: str, values: np.ndarray) -> None:
        self.w[:, INDEX[name]] += values

    def maximum(self, name: str, values: np.ndarray) -> None:
        j = INDEX[name]
        self.w[:, j] = np.maximum(self.w[:, j], values)

    def signed(self, pos: str, neg: str, values: np.ndarray) -> None:
        self.add(pos, np.clip(values, 0, None))
        self.add(neg, np.clip(-values, 0, None))


def _blinks(tr: _Tracks, rng, fps, cfg: NaturalConfig) -> None:
    n = tr.n
    for t0 in _events(rng, n / fps, cfg.blink_interval, first=(0.3, 2.5)):
        dur = rng.uniform(*cfg.blink_duration) * fps
        # closing is faster than opening; a short hold at the bottom
        attack, hold = 0.3 * dur, 0.15 * dur
        release = dur - attack - hold
        env = _envelope(n, t0 * fps, attack, hold, release)
        amp = 1.0 if rng.random() < 0.85 else rng.uniform(0.55, 0.9)
        if rng.random() < cfg.one_sided_blink:
            side = "Left" if rng.random() < 0.5 else "Right"
            tr.maximum("eyeBlink" + side, amp * env)
        else:
            a = rng.uniform(0.9, 1.0, size=2) if amp < 1 else (1.0, 1.0)
            tr.maximum("eyeBlinkLeft", amp * a[0] * env)
            tr.maximum("eyeBlinkRight", amp * a[1] * env)


def _gaze(tr: _Tracks, rng, fps, cfg: NaturalConfig) -> np.ndarray:
    """Returns the vertical gaze track (>0 up) for lid co-activation."""
    n = tr.n
    h = np.zeros(n)
    v = np.zeros(n)
    cur = np.zeros(2)
    t = 0
    while t < n:
        hold = int(rng.uniform(*cfg.gaze_hold) * fps)
        # half the time return near centre; otherwise a random target
        if rng.random() < 0.35:
            tgt = rng.normal(0, 0.08, 2)
        else:
            tgt = np.array([rng.uniform(-1, 1), rng.uniform(-0.8, 0.8)]) * rng.uniform(0.3, 1.0)
        sac = int(rng.integers(2, 4))
        ramp = _smoothstep(np.linspace(0, 1, sac + 1)[1:])
        seg = np.concatenate([cur + (tgt - cur) * ramp[:, None],
                              np.repeat(tgt[None], max(hold, 1), 0)])
        seg = seg[: n - t]
        h[t:t + len(seg)] = seg[:, 0]
        v[t:t + len(seg)] = seg[:, 1]
        cur = tgt
        t += len(seg)
    # fixational drift
    h += 0.03 * _smooth_noise(rng, n, fps, 0.3)
    v += 0.03 * _smooth_noise(rng, n, fps, 0.3)
    h, v = np.clip(h, -1, 1), np.clip(v, -1, 1)
    # h > 0: looking towards the subject's left: left eye out, right eye in.
    tr.signed("eyeLookOutLeft", "eyeLookInLeft", h)
    tr.signed("eyeLookInRight", "eyeLookOutRight", h)
    for side in ("Left", "Right"):
        tr.signed("eyeLookUp" + side, "eyeLookDown" + side, v)
    return v


# viseme -> {control: amount}; jaw is scaled by syllable stress
_VISEMES: dict[str, dict[str, float]] = {
    "open": {"jawOpen": 0.55},
    "ah": {"jawOpen": 0.8, "mouthStretchLeft": 0.1, "mouthStretchRight": 0.1,
           "mouthLowerDownLeft": 0.3, "mouthLowerDownRight": 0.3},
    "ee": {"jawOpen": 0.2, "mouthStretchLeft": 0.45, "mouthStretchRight": 0.45,
           "mouthUpperUpLeft": 0.25, "mouthUpperUpRight": 0.25},
    "oo": {"jawOpen": 0.15, "mouthPucker": 0.75, "mouthFunnel": 0.3},
    "o": {"jawOpen": 0.4, "mouthFunnel": 0.7, "mouthPucker": 0.2},
    "mbp": {"jawOpen": 0.05, "mouthPressLeft": 0.5, "mouthPressRight": 0.5,
            "mouthClose": 0.3},
    "fv": {"jawOpen": 0.12, "mouthRollLower": 0.6},
    "th": {"jawOpen": 0.25, "mouthRollUpper": 0.25},
}
_VISEME_P = np.array([0.24, 0.14, 0.16, 0.1, 0.12, 0.12, 0.06, 0.06])


def _speech(tr: _Tracks, rng, fps, cfg: NaturalConfig) -> np.ndarray:
    """Returns the talking mask (0..1) so other events can yield to speech."""
    n = tr.n
    talking = np.zeros(n)
    names = list(_VISEMES)
    t = rng.uniform(0.2, 2.0)
    total = n / fps
    while t < total:
        if rng.random() < cfg.speech_share:
            dur = rng.uniform(*cfg.utterance)
            rate = rng.uniform(*cfg.syllable_rate)
            loud = rng.uniform(0.6, 1.1)
            ts = t
            while ts < t + dur:
                syl = 1.0 / rate * rng.uniform(0.7, 1.3)
                vis = _VISEMES[names[rng.choice(len(names), p=_VISEME_P)]]
                stress = loud * rng.uniform(0.6, 1.15)
                env = _envelope(n, ts * fps, 0.45 * syl * fps, 0.1 * syl * fps,
                                0.45 * syl * fps)
                for ctl, amt in vis.items():
                    tr.maximum(ctl, np.clip(amt * stress, 0, 1) * env)
                ts += syl
            talking += _envelope(n, t * fps, 0.1 * fps, dur * fps, 0.2 * fps)
            t += dur
        t += rng.uniform(*cfg.pause)
    # a slow sideways jaw/mouth drift while talking
    tr.signed("jawLeft", "jawRight", 0.12 * _smooth_noise(rng, n, fps, 0.8) * talking)
    tr.signed("mouthLeft", "mouthRight", 0.15 * _smooth_noise(rng, n, fps, 0.7) * talking)
    return np.clip(talking, 0, 1)


def _expressions(tr: _Tracks, rng, fps, cfg: NaturalConfig, talking: np.ndarray,
                 gaze_v: np.ndarray) -> None:
    n = tr.n
    total = n / fps
    valence = {"Left": np.zeros(n), "Right": np.zeros(n)}  # >0 smile, <0 frown
    brow = {"Left": np.zeros(n), "Right": np.zeros(n)}  # >0 outer up, <0 down
    for t0 in _events(rng, total, cfg.expression_gap, first=(0.0, 3.0)):
        hold = rng.uniform(*cfg.expression_hold) * fps
        att = rng.uniform(0.15, 0.5) * fps
        rel = rng.uniform(0.2, 0.7) * fps
        env = _envelope(n, t0 * fps, att, hold, rel)
        kind = rng.choice(["smile", "frown", "surprise", "brow", "concern", "smirk", "puff",
                           "shape", "shift", "disgust", "doubt", "tongue"],
                          p=[0.22, 0.10, 0.09, 0.10, 0.06, 0.07, 0.05, 0.13, 0.07, 0.05, 0.04,
                             0.02])
        amp = rng.uniform(0.35, 1.0)
        if kind in ("smile", "smirk"):
            if kind == "smile":
                a = amp * rng.uniform(0.85, 1.0, 2)
            else:
                a = amp * (np.array([1.0, 0.1]) if rng.random() < 0.5 else np.array([0.1, 1.0]))
            for s, ai in zip(("Left", "Right"), a):
                valence[s] += ai * env
                tr.add("eyeSquint" + s, 0.3 * ai * env)
                tr.add("cheekSquint" + s, 0.4 * ai * env)  # cheeks push the lower lids up
                tr.add("mouthStretch" + s, 0.1 * ai * env)
                tr.add("mouthDimple" + s, 0.15 * ai * env)
            if kind == "smile" and amp > 0.7 and rng.random() < 0.5:
                tr.add("jawOpen", 0.25 * env)  # open smile / laugh
        elif kind == "frown":
            for s in ("Left", "Right"):
                valence[s] -= amp * rng.uniform(0.8, 1.0) * env
                brow[s] -= 0.6 * amp * env
            tr.add("mouthPressLeft", 0.2 * amp * env)
            tr.add("mouthPressRight", 0.2 * amp * env)
        elif kind == "surprise":
            for s in ("Left", "Right"):
                brow[s] += amp * env
                tr.add("eyeWide" + s, 0.8 * amp * env)
            tr.add("browInnerUp", amp * env)
            tr.add("jawOpen", 0.5 * amp * env * (1 - talking))
        elif kind == "brow":
            a = amp * (rng.uniform(0.8, 1.0, 2) if rng.random() < 0.8
                       else np.array([1.0, 0.15])[rng.permutation(2)])
            for s, ai in zip(("Left", "Right"), a):
                brow[s] += ai * env
            tr.add("browInnerUp", float(a.mean()) * env)
        elif kind == "concern":
            tr.add("browInnerUp", amp * env)
            for s in ("Left", "Right"):
                brow[s] -= 0.3 * amp * env
                valence[s] -= 0.3 * amp * env
        elif kind == "puff":
            tr.add("cheekPuff", amp * env)
            tr.add("mouthClose", 0.3 * amp * env)
        elif kind == "shape":
            ctl = rng.choice(["mouthPucker", "mouthFunnel", "mouthRollLower", "mouthRollUpper",
                              "mouthPressLeft", "mouthPressRight", "mouthStretchLeft",
                              "mouthStretchRight", "mouthClose", "eyeSquintLeft",
                              "eyeSquintRight", "browInnerUp", "mouthDimpleLeft",
                              "mouthDimpleRight", "jawForward", "mouthUpperUpLeft",
                              "mouthUpperUpRight", "mouthLowerDownLeft", "mouthLowerDownRight",
                              "mouthShrugUpper", "mouthShrugLower", "cheekSquintLeft",
                              "cheekSquintRight", "noseSneerLeft", "noseSneerRight"])
            tr.add(str(ctl), amp * env)
        elif kind == "disgust":
            a = amp * (rng.uniform(0.8, 1.0, 2) if rng.random() < 0.75
                       else np.array([1.0, 0.2])[rng.permutation(2)])
            for s, ai in zip(("Left", "Right"), a):
                tr.add("noseSneer" + s, ai * env)
                tr.add("mouthUpperUp" + s, 0.6 * ai * env)
                tr.add("cheekSquint" + s, 0.3 * ai * env)
                brow[s] -= 0.4 * ai * env
        elif kind == "doubt":
            tr.add("mouthShrugLower", amp * env)
            tr.add("mouthShrugUpper", 0.4 * amp * env)
            tr.add("jawForward", 0.5 * amp * env)  # the chin juts with the pout
            for s in ("Left", "Right"):
                valence[s] -= 0.3 * amp * env
        elif kind == "tongue":
            tr.add("tongueOut", amp * env)
            tr.add("jawOpen", 0.3 * amp * env * (1 - talking))
        elif kind == "shift":
            sgn = 1.0 if rng.random() < 0.5 else -1.0
            pair = (("jawLeft", "jawRight") if rng.random() < 0.5
                    else ("mouthLeft", "mouthRight"))
            tr.signed(*pair, sgn * amp * env)
    for s in ("Left", "Right"):
        valence[s] += 0.05 * _smooth_noise(rng, n, fps, 1.0)
        brow[s] += 0.05 * _smooth_noise(rng, n, fps, 1.0)
        tr.signed("mouthSmile" + s, "mouthFrown" + s, valence[s])
        tr.signed("browOuterUp" + s, "browDown" + s, brow[s])
        # looking down lowers the upper lids a little; no extra blink event
        tr.add("eyeBlink" + s, 0.25 * np.clip(-gaze_v - 0.3, 0, None))
    # a puffed cheek keeps the jaw shut
    puff = np.clip(tr.w[:, INDEX["cheekPuff"]], 0, 1)
    tr.w[:, INDEX["jawOpen"]] *= 1 - puff


def _enforce_exclusive(w: np.ndarray) -> None:
    for weak, strong in _DOMINANT.items():
        s = w[:, INDEX[strong]]
        w[:, INDEX[weak]] *= 1 - _smoothstep(s / _EXCL_THRESHOLD)
    for a, b in EXCLUSIVE:
        ia, ib = INDEX[a], INDEX[b]
        both = (w[:, ia] > _EXCL_THRESHOLD) & (w[:, ib] > _EXCL_THRESHOLD)
        if both.any():
            weaker = np.where(w[:, ia] < w[:, ib], ia, ib)
            rows = np.nonzero(both)[0]
            w[rows, weaker[rows]] = np.minimum(w[rows, weaker[rows]], _EXCL_THRESHOLD)


def natural_sequence(n_frames: int, fps: float = 30, seed: int = 0,
                     config: NaturalConfig | None = None) -> np.ndarray:
    """(n_frames, C) float32 weights of a natural-looking performance."""
    if n_frames <= 0:
        return np.zeros((0, C), np.float32)
    cfg = config or NaturalConfig()
    rng = np.random.default_rng(seed)
    # independent streams per track, so changing one generator leaves the others alone
    r_blink, r_gaze, r_speech, r_expr = (np.random.default_rng(s)
                                         for s in rng.integers(0, 2**63 - 1, 4))
    tr = _Tracks(n_frames)
    _blinks(tr, r_blink, fps, cfg)
    gaze_v = _gaze(tr, r_gaze, fps, cfg)
    talking = _speech(tr, r_speech, fps, cfg)
    _expressions(tr, r_expr, fps, cfg, talking, gaze_v)
    w = np.clip(tr.w, 0.0, 1.0)
    _enforce_exclusive(w)
    return np.clip(w, 0.0, 1.0).astype(np.float32)


def webcam_sequence(n_frames: int, fps: float = 30, seed: int = 0, lead_s: float = 1.5,
                    ramp_s: float = 0.5, config: NaturalConfig | None = None) -> np.ndarray:
    """A natural performance that starts like a webcam session: ``lead_s`` seconds of a
    neutral face (every weight 0), then the performance fades in over ``ramp_s``. Real
    footage has such a rest stretch, and benchmarks give it to every method as its neutral;
    the plain natural sequence is never at rest (some control is always above 0.05)."""
    w = natural_sequence(n_frames, fps, seed, config)
    t = np.arange(n_frames) / fps
    env = _smoothstep((t - lead_s) / max(ramp_s, 1e-6))
    return (w * env[:, None].astype(np.float32)).astype(np.float32)


def rom_ramp(frames: int) -> np.ndarray:
    """(frames,) 0 -> 1 -> 0, reaching exactly 1 in the middle."""
    up = int(np.ceil(frames / 2))
    return np.concatenate([np.linspace(0, 1, up), np.linspace(1, 0, frames - up)])


def rom_sequence(frames_per_control: int = 20, neutral_frames: int | None = None,
                 controls: tuple[str, ...] | list[str] | None = None) -> np.ndarray:
    """Range of motion: neutral frames, then each control alone 0 -> 1 -> 0 in turn."""
    if frames_per_control < 2:
        raise ValueError("frames_per_control must be >= 2")
    names = list(controls) if controls is not None else list(CONTROL_NAMES)
    n0 = frames_per_control if neutral_frames is None else neutral_frames
    ramp = rom_ramp(frames_per_control)
    w = np.zeros((n0 + len(names) * frames_per_control, C), np.float32)
    for k, name in enumerate(names):
        s = n0 + k * frames_per_control
        w[s:s + frames_per_control, INDEX[name]] = ramp
    return w


def rom_segments(frames_per_control: int = 20, neutral_frames: int | None = None,
                 controls: tuple[str, ...] | list[str] | None = None
                 ) -> dict[str, tuple[int, int]]:
    """Frame range [start, end) of each control in ``rom_sequence`` with the same arguments."""
    names = list(controls) if controls is not None else list(CONTROL_NAMES)
    n0 = frames_per_control if neutral_frames is None else neutral_frames
    return {name: (n0 + k * frames_per_control, n0 + (k + 1) * frames_per_control)
            for k, name in enumerate(names)}
