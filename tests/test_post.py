"""Post-processing: One Euro, mapping TOML, neutral calibration, blink link, face loss."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from lprr.engine.controls import CONTROL_NAMES, EYELID_CONTROLS, INDEX
from lprr.engine.errors import UserError
from lprr.engine.paths import ASSETS
from lprr.engine.post import (
    SMOOTHING_PRESETS,
    NeutralCalibration,
    OneEuroFilter,
    PostConfig,
    PostProcessor,
    WeightMapping,
)
from lprr.engine.post.tuning import evaluate

C = len(CONTROL_NAMES)
FPS = 60.0


# -- One Euro -------------------------------------------------------------------------------

def test_one_euro_reduces_jitter_but_follows_fast_moves():
    rng = np.random.default_rng(0)
    f = OneEuroFilter(1.0, 5.0, size=C)
    still = [f(0.3 + rng.normal(0, 0.02, C), i / FPS) for i in range(120)]
    raw_jitter = 0.02 * np.sqrt(2)
    assert np.std(np.diff(np.array(still[30:]), axis=0)) < 0.3 * raw_jitter
    # a step 0 -> 1 is followed closely within 3 frames thanks to beta
    f.reset()
    out = [f(np.full(C, 0.0 if i < 10 else 1.0), i / FPS) for i in range(20)]
    assert out[13].min() > 0.8


def test_one_euro_passthrough_and_bad_time():
    f = OneEuroFilter(np.array([0.0, 1.0]), 0.0)
    f(np.array([0.0, 0.0]), 0.0)
    y = f(np.array([1.0, 1.0]), 1 / FPS)
    assert y[0] == 1.0 and 0 < y[1] < 0.2  # control 0 is unfiltered ("off")
    assert np.array_equal(f(np.array([5.0, 5.0]), 1 / FPS), y)  # repeated timestamp: hold


def test_one_euro_starts_over_when_time_goes_backwards():
    rng = np.random.default_rng(3)
    xs = rng.random((20, C))
    f = OneEuroFilter(1.0, 5.0, size=C)
    for i in range(10):  # a first timeline, up to t = 9/FPS
        f(xs[i], i / FPS)
    assert f.value is not None
    # a seek or a looped file: t = 0 again; the output is that sample, and from there on
    # the filter matches a fresh one fed the new timeline (no state carried over)
    fresh = OneEuroFilter(1.0, 5.0, size=C)
    for j, i in enumerate(range(10, 20)):
        a, b = f(xs[i], j / FPS), fresh(xs[i], j / FPS)
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(OneEuroFilter(1.0, 5.0, size=C)(xs[3], 0.0), xs[3])


def test_presets_measured_properties():
    # the tuning documented in engine/post/one_euro.py holds
    for name in ("light", "default", "heavy"):
        eyes = evaluate(*SMOOTHING_PRESETS[name]["eyes"], fps=FPS)
        assert eyes["blink_peak"] > 0.95, name  # blinks survive every preset
        assert eyes["jitter"] < 0.3, name
    d = evaluate(*SMOOTHING_PRESETS["default"]["mouth"], fps=FPS)
    h = evaluate(*SMOOTHING_PRESETS["heavy"]["mouth"], fps=FPS)
    assert d["speech_amp"] > 0.9 and h["jitter"] < d["jitter"]


# -- mapping --------------------------------------------------------------------------------

def test_mapping_toml_round_trip_and_values(tmp_path):
    p = tmp_path / "map.toml"
    p.write_text(
        "[default]\ngain = 1.0\n\n[regions.mouth]\ngain = 2.0\n\n"
        "[controls.jawOpen]\nexponent = 2.0\nmax = 0.9\n\n[controls.eyeBlinkLeft]\noffset = 0.1\n")
    m = WeightMapping.load(p)
    x = np.full(C, 0.4, np.float32)
    y = m.apply(x)
    assert y[INDEX["jawOpen"]] == pytest.approx(min(2.0 * 0.4**2, 0.9))  # inherits mouth gain
    assert y[INDEX["mouthPucker"]] == pytest.approx(0.8)
    assert y[INDEX["eyeBlinkLeft"]] == pytest.approx(0.5)
    assert y[INDEX["browInnerUp"]] == pytest.approx(0.4)
    assert m.apply(np.full(C, 0.9))[INDEX["mouthPucker"]] == 1.0  # clamped at max
    m2 = WeightMapping.load(m.save(tmp_path / "saved.toml"))
    np.testing.assert_allclose(m2.apply(x), y)


def test_default_mapping_asset_is_identity():
    m = WeightMapping.load(ASSETS / "mapping_default.toml")
    assert m.identity
    x = np.linspace(0, 1, C).astype(np.float32)
    np.testing.assert_array_equal(m.apply(x), x)


@pytest.mark.parametrize("text, msg", [
    ("[controls.jawOpenn]\ngain = 1\n", "unknown control 'jawOpenn'"),
    ("[controls.jawOpen]\ngian = 1\n", "unknown key"),
    ("[controls.jawOpen]\nexponent = 0\n", "exponent must be > 0"),
    ("[default\n", "not valid TOML"),
])
def test_mapping_errors(tmp_path, text, msg):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(UserError, match=msg):
        WeightMapping.load(p)


# -- calibration ----------------------------------------------------------------------------

def test_calibration_leaves_eyelids_alone(tmp_path):
    cal = NeutralCalibration()
    cal.start(seconds=0.5)
    rest = np.full(C, 0.2, np.float32)
    done = [cal.add(rest, i / FPS) for i in range(40)]
    assert any(done) and not cal.collecting and cal.calibrated
    for n in EYELID_CONTROLS:
        assert cal.offsets[INDEX[n]] == 0
    assert cal.offsets[INDEX["jawOpen"]] == pytest.approx(0.2)
    out = cal.apply(rest)
    assert out[INDEX["jawOpen"]] == pytest.approx(0.0, abs=1e-6)
    assert out[INDEX["eyeBlinkLeft"]] == pytest.approx(0.2)  # untouched
    assert cal.apply(np.ones(C))[INDEX["jawOpen"]] == pytest.approx(1.0)  # rescaled: full range
    cal2 = NeutralCalibration()
    cal2.load(cal.save(tmp_path / "cal.json"))
    np.testing.assert_allclose(cal2.offsets, cal.offsets)


# -- the whole processor --------------------------------------------------------------------

def test_processor_calibrates_then_subtracts_and_blinks_still_work():
    pp = PostProcessor(PostConfig(smoothing="off", calibrate_frames=10))
    rest = np.full(C, 0.25, np.float32)
    for i in range(10):
        pp.process(rest, i / FPS)
    assert pp.calibration.calibrated and not pp.calibrating
    y = pp.process(rest, 11 / FPS)
    assert y[INDEX["mouthSmileLeft"]] == pytest.approx(0.0, abs=1e-6)
    blink = rest.copy()
    blink[INDEX["eyeBlinkLeft"]] = blink[INDEX["eyeBlinkRight"]] = 1.0
    assert pp.process(blink, 12 / FPS)[INDEX["eyeBlinkLeft"]] == pytest.approx(1.0)


def test_blink_link_averages_both_eyes():
    pp = PostProcessor(PostConfig(smoothing="off", blink_link=True))
    w = np.zeros(C, np.float32)
    w[INDEX["eyeBlinkLeft"]] = 1.0
    y = pp.process(w, 0.0)
    assert y[INDEX["eyeBlinkLeft"]] == y[INDEX["eyeBlinkRight"]] == pytest.approx(0.5)


def test_face_lost_holds_eases_to_neutral_then_resumes():
    pp = PostProcessor(PostConfig(smoothing="default", hold_s=0.25, ease_s=0.5))
    pose = np.full(C, 0.6, np.float32)
    t = 0.0
    for _ in range(60):
        last = pp.process(pose, t)
        t += 1 / FPS
    assert pp.state == "tracking" and last.min() > 0.55
    seen = []
    for _ in range(int(1.0 * FPS)):  # one second without a face
        seen.append((t, pp.process(None, t).copy(), pp.state))
        t += 1 / FPS
    t0 = seen[0][0]
    held = [w for tt, w, s in seen if tt - t0 <= 0.25]
    assert all(np.allclose(w, last) for w in held)
    assert {s for _, _, s in seen} == {"holding", "easing", "neutral"}
    means = [w.mean() for _, w, _ in seen]
    assert all(a >= b - 1e-7 for a, b in itertools.pairwise(means))  # monotone ease, no bounce
    assert np.all(seen[-1][1] == 0) and seen[-1][2] == "neutral"
    # the face returns: output starts near neutral (no jump) and converges to the pose
    first = pp.process(pose, t)
    assert pp.state == "tracking" and first.max() < 0.45
    for _ in range(30):
        t += 1 / FPS
        y = pp.process(pose, t)
    assert np.allclose(y, pose, atol=0.02)


def test_no_face_before_tracking_gives_zeros_and_decode_callable():
    basis = np.eye(3, C, dtype=np.float32)
    pp = PostProcessor(PostConfig(smoothing="off"), decode=lambda z: 0.5 + z @ basis)
    assert np.all(pp.process(None, 0.0) == 0) and pp.state == "waiting"
    y = pp.process(np.array([0.2, -0.9, 0.0], np.float32), 0.1)
    assert y[0] == pytest.approx(0.7) and y[1] == 0.0 and y[5] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="unknown smoothing preset"):
        PostProcessor(PostConfig(smoothing="silky"))


def test_processor_cost_per_frame():
    from conftest import cost_ratio

    pp = PostProcessor(PostConfig(blink_link=True, calibrate_frames=5))
    rng = np.random.default_rng(1)
    frames = rng.random((300, C), dtype=np.float32)
    v = frames[0]

    def post() -> None:
        for i, w in enumerate(frames):
            pp.process(w if i % 50 else None, i / FPS)

    def one_numpy_op_per_frame() -> None:
        for _ in frames:
            np.clip(v * 1.5 - 0.1, 0.0, 1.0)

    # a frame costs a handful of small numpy calls (9-13x one np.clip when written, about
    # 35 us): a bound relative to the same machine, not the wall clock
    assert cost_ratio(post, one_numpy_op_per_frame) < 60


def test_processor_names_override_for_other_rigs():
    pp = PostProcessor(PostConfig(smoothing="off", blink_link=True),
                       names=["jawOpen", "eyeBlinkLeft", "eyeBlinkRight"])
    y = pp.process(np.array([0.5, 1.0, 0.0], np.float32), 0.0)
    assert y.shape == (3,) and y[0] == pytest.approx(0.5) and y[1] == y[2] == pytest.approx(0.5)
