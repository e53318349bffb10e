"""Measure a One Euro setting on synthetic weight curves: ``python -m lprr.engine.post.tuning``.

Signals (0-1 weight units, Gaussian noise of ``sigma`` added): a still face at 0.3, an 80 ms
blink (0 -> 1, hold 60 ms, 120 ms down), and 4 Hz "speech" (0.35 +- 0.3). Reported: jitter
(std of frame-to-frame change, filtered / raw), the blink's filtered peak and 50%-crossing lag,
and the speech amplitude ratio and lag (cross-correlation).
"""
from __future__ import annotations

import numpy as np

from lprr.engine.post.one_euro import SMOOTHING_PRESETS, OneEuroFilter


def _filter(mc: float, beta: float, signal: np.ndarray, fps: float, sigma: float,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    noisy = signal + rng.normal(0.0, sigma, len(signal))
    f = OneEuroFilter(mc, beta, 1.0, size=1)
    t = np.arange(len(signal)) / fps
    return np.array([f(np.array([v]), ti)[0] for v, ti in zip(noisy, t)]), noisy


def evaluate(min_cutoff: float, beta: float, fps: float = 60.0, sigma: float = 0.02) -> dict:
    n = int(4 * fps)
    t = np.arange(n) / fps
    still, noisy = _filter(min_cutoff, beta, np.full(n, 0.3), fps, sigma)
    s = slice(int(fps), None)
    jitter = float(np.std(np.diff(still[s])) / np.std(np.diff(noisy[s])))
    blink = np.interp(t, [1.0, 1.08, 1.14, 1.26], [0.0, 1.0, 1.0, 0.0])
    yb, _ = _filter(min_cutoff, beta, blink, fps, sigma)
    peak = float(yb[(t > 1.0) & (t < 1.6)].max())
    lag50 = float((np.argmax(yb > 0.5) - np.argmax(blink > 0.5)) / fps)
    speech = 0.35 + 0.3 * np.sin(2 * np.pi * 4.0 * t)
    ys, _ = _filter(min_cutoff, beta, speech, fps, sigma)
    seg = t > 1.0
    a, b = ys[seg] - ys[seg].mean(), speech[seg] - speech[seg].mean()
    amp = float(np.ptp(ys[seg]) / np.ptp(speech[seg]))
    lag = float((np.argmax(np.correlate(a, b, "full")) - (seg.sum() - 1)) / fps)
    return {"jitter": jitter, "blink_peak": peak, "blink_lag_s": lag50,
            "speech_amp": amp, "speech_lag_s": lag}


def main() -> None:
    for fps in (60.0, 30.0):
        print(f"-- {fps:.0f} fps")
        for name, groups in SMOOTHING_PRESETS.items():
            for group, (mc, beta) in groups.items():
                if mc <= 0:
                    continue
                r = evaluate(mc, beta, fps)
                print(f"{name:8s} {group:5s} ({mc}, {beta}): jitter x{r['jitter']:.2f} "
                      f"blink peak {r['blink_peak']:.2f} lag {r['blink_lag_s'] * 1e3:.0f} ms | "
                      f"speech amp {r['speech_amp']:.2f} lag {r['speech_lag_s'] * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
