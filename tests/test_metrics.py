"""Accuracy metrics on tiny curves whose answers are known by hand."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lprr.engine.controls import REGIONS
from lprr.engine.metrics import (
    event_scores,
    events,
    jitter,
    mae,
    pearson,
    score,
    to_jsonable,
)

NAMES = ["jawOpen", "eyeBlinkLeft", "mouthSmileLeft"]


def _curves(n: int = 40) -> np.ndarray:
    t = np.arange(n)
    jaw = 0.5 + 0.4 * np.sin(t / 3.0)
    blink = np.zeros(n)
    blink[10:13] = [0.6, 1.0, 0.7]
    blink[30:32] = [0.8, 0.9]
    smile = np.clip((t - 15) / 10.0, 0, 1)
    return np.stack([jaw, blink, smile], 1)


def test_identical_curves_score_perfectly():
    true = _curves()
    s = score(true.copy(), true, NAMES)
    for n in NAMES:
        c = s["controls"][n]
        assert c["mae"] == 0.0
        assert c["r"] == pytest.approx(1.0)
        assert c["jitter_ratio"] == pytest.approx(1.0)
    assert s["overall"]["mae"] == 0.0
    assert s["overall"]["r"] == pytest.approx(1.0)
    assert s["blinks"]["eyeBlinkLeft"]["recall"] == 1.0
    assert s["blinks"]["eyeBlinkLeft"]["precision"] == 1.0
    assert s["blinks"]["both"]["true_events"] == 2


def test_shifted_curve_gives_the_hand_computed_mae():
    true = _curves()
    s = score(true + 0.1, true, NAMES)
    for n in NAMES:
        assert s["controls"][n]["mae"] == pytest.approx(0.1)
        assert s["controls"][n]["r"] == pytest.approx(1.0)  # a shift keeps the shape
        assert s["controls"][n]["jitter_ratio"] == pytest.approx(1.0)
    assert s["overall_mae"] == pytest.approx(0.1)
    # by hand: |0-0| + |0.5-0| + |1-1| + |0.5-1| + |0-0| over 5 frames = 0.2
    assert mae([0, 0.5, 1, 0.5, 0], [0, 0, 1, 1, 0]) == pytest.approx(0.2)


def test_constant_prediction_has_no_r_and_does_not_crash():
    true = _curves()
    pred = np.full_like(true, 0.3)
    s = score(pred, true, NAMES)
    assert all(math.isnan(s["controls"][n]["r"]) for n in NAMES)
    assert math.isnan(s["overall"]["r"])
    assert s["overall"]["r_defined"] == 0
    assert s["controls"]["jawOpen"]["jitter"] == 0.0
    assert s["blinks"]["eyeBlinkLeft"]["recall"] == 0.0
    assert math.isnan(s["blinks"]["eyeBlinkLeft"]["precision"])  # nothing predicted
    text = json.dumps(to_jsonable(s), allow_nan=False)  # NaN becomes null, not invalid JSON
    assert json.loads(text)["controls"]["jawOpen"]["r"] is None


def test_pearson_and_jitter_by_hand():
    assert pearson([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert pearson([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert math.isnan(pearson([1, 1, 1], [1, 2, 3]))
    # second differences of 0,1,0,1,0 are -2, 2, -2
    assert jitter([0, 1, 0, 1, 0]) == pytest.approx(2.0)
    assert jitter([0, 1]) == 0.0
    assert jitter(np.linspace(0, 1, 50)) == pytest.approx(0.0, abs=1e-12)


def test_blink_events_recall_and_precision():
    assert events([0, 0.6, 0.7, 0, 0, 0.5, 0]) == [(1, 3), (5, 6)]
    assert events([0.9, 0.9]) == [(0, 2)]
    true = np.zeros(100)
    true[10:13] = 1
    true[50:53] = 1
    pred = np.zeros(100)
    pred[11:13] = 0.8  # meets the first event
    pred[80:82] = 0.9  # a false alarm
    e = event_scores(pred, true)
    assert (e["true_events"], e["pred_events"], e["matched"]) == (2, 2, 1)
    assert e["recall"] == 0.5 and e["precision"] == 0.5
    late = np.zeros(100)
    late[14:16] = 1  # one frame after the true event ends: within the 2-frame slack
    assert event_scores(late, true)["matched"] == 1
    far = np.zeros(100)
    far[20:22] = 1
    assert event_scores(far, true)["matched"] == 0
    # an eye read as closed all along is one long event: it matches no blink
    always = event_scores(np.full(100, 0.8), true)
    assert (always["pred_events"], always["recall"], always["precision"]) == (1, 0.0, 0.0)
    # two predicted events on one true blink: only one can match it
    split = np.zeros(100)
    split[9:11] = split[12:14] = 1
    e = event_scores(split, true)
    assert (e["matched"], e["recall"], e["precision"]) == (1, 0.5, 0.5)
    quiet = event_scores(np.zeros(100), np.zeros(100))
    assert math.isnan(quiet["recall"]) and math.isnan(quiet["precision"])


def test_regions_average_the_defined_r_values():
    names = list(REGIONS["mouth"][:3]) + list(REGIONS["eyes"][:2])
    true = np.random.default_rng(0).uniform(0, 1, (30, len(names)))
    pred = true.copy()
    pred[:, 1] = 0.2  # one constant mouth control: its r is NaN and left out
    s = score(pred, true, names)
    mouth = s["regions"]["mouth"]
    assert mouth["r"] == pytest.approx(1.0)
    assert (mouth["r_defined"], mouth["controls"]) == (2, 3)
    assert mouth["mae"] == pytest.approx(np.abs(pred - true)[:, :3].mean())
    assert s["regions"]["eyes"]["mae"] == 0.0
    assert "brows" not in s["regions"]


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError):
        score(np.zeros((5, 3)), np.zeros((4, 3)), NAMES)
