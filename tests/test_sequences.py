"""Expression sequences: reproducible, in range, exclusive pairs respected, blinks short."""
from __future__ import annotations

import numpy as np

from lprr.engine.controls import CONTROL_NAMES, EXCLUSIVE, INDEX
from lprr.engine.world.sequences import natural_sequence, rom_segments, rom_sequence

FPS = 30


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    d = np.diff(np.concatenate([[0], mask.astype(int), [0]]))
    return list(zip(np.nonzero(d == 1)[0], np.nonzero(d == -1)[0]))


def test_reproducible_and_seeded():
    a = natural_sequence(600, FPS, seed=7)
    b = natural_sequence(600, FPS, seed=7)
    c = natural_sequence(600, FPS, seed=8)
    assert a.dtype == np.float32 and a.shape == (600, len(CONTROL_NAMES))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 0.3


def test_range_and_exclusive_pairs():
    w = natural_sequence(9000, FPS, seed=1)
    assert w.min() >= 0.0 and w.max() <= 1.0
    for a, b in EXCLUSIVE:
        both = (w[:, INDEX[a]] > 0.1) & (w[:, INDEX[b]] > 0.1)
        assert not both.any(), (a, b, int(both.sum()))
    # every control is exercised, and the big ones reach a strong activation
    assert (w.max(0) > 0.25).all(), [n for n, m in zip(CONTROL_NAMES, w.max(0)) if m <= 0.25]
    for name in ("eyeBlinkLeft", "eyeBlinkRight", "jawOpen", "mouthSmileLeft",
                 "browInnerUp", "eyeLookOutLeft"):
        assert w[:, INDEX[name]].max() > 0.8, name


def test_blinks_are_short_events():
    w = natural_sequence(3000, FPS, seed=2)  # 100 s
    for side in ("Left", "Right"):
        runs = _runs(w[:, INDEX["eyeBlink" + side]] > 0.5)
        assert 12 <= len(runs) <= 55, len(runs)  # every 2-6 s
        lengths = np.array([e - s for s, e in runs])
        assert lengths.max() <= 0.35 * FPS, lengths.max()
        gaps = np.diff([s for s, _ in runs])
        assert gaps.min() >= 1.0 * FPS  # no machine-gun blinking
    # some blinks are one-sided (winks), most are both eyes together
    left = w[:, INDEX["eyeBlinkLeft"]] > 0.5
    right = w[:, INDEX["eyeBlinkRight"]] > 0.5
    both = _runs(left & right)
    assert len(both) >= 10
    ww = natural_sequence(9000, FPS, seed=4)
    l, r = ww[:, INDEX["eyeBlinkLeft"]] > 0.5, ww[:, INDEX["eyeBlinkRight"]] > 0.5
    assert len(_runs(l & ~r)) + len(_runs(r & ~l)) >= 2


def test_speech_and_co_activation():
    w = natural_sequence(9000, FPS, seed=5)
    jaw = w[:, INDEX["jawOpen"]]
    # speech: the jaw moves in syllables (several crossings of 0.2 per second while talking)
    crossings = np.abs(np.diff((jaw > 0.2).astype(int))).sum()
    assert crossings > 9000 / FPS  # > 1 per second on average
    # smiles bring squint along
    smile = w[:, INDEX["mouthSmileLeft"]]
    squint = w[:, INDEX["eyeSquintLeft"]]
    assert np.corrcoef(smile, squint)[0, 1] > 0.5


def test_rom_each_control_alone():
    fpc = 10
    w = rom_sequence(fpc)
    seg = rom_segments(fpc)
    assert w.shape == (fpc + fpc * len(CONTROL_NAMES), len(CONTROL_NAMES))
    assert not w[:fpc].any()  # neutral start
    for name, (s, e) in seg.items():
        block = w[s:e]
        j = INDEX[name]
        assert block[:, j].max() == 1.0 and block[0, j] == 0.0 and block[-1, j] == 0.0
        others = np.delete(block, j, axis=1)
        assert not others.any(), name
