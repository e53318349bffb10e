"""The landmark heuristic on real MediaPipe landmarks of demo-world puppet frames."""
from __future__ import annotations

import numpy as np
import pytest

from lprr.engine.controls import CONTROL_NAMES, INDEX
from lprr.engine.errors import UserError
from lprr.engine.f2f.rigid import fit_similarity
from lprr.engine.face.landmarks import FaceLandmarker
from lprr.engine.heuristic import HeuristicConfig, HeuristicMethod, NeutralFrame
from lprr.engine.methods import create_method
from lprr.engine.take import TakeWriter

C = len(CONTROL_NAMES)
EXPRESSIONS = ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight", "mouthSmileLeft",
               "mouthSmileRight", "eyeLookOutLeft", "mouthPucker")
NEUTRAL_FRAMES = 12


def _performance(photo) -> tuple[list[np.ndarray], dict[str, list[np.ndarray]]]:
    """Puppet frames: a neutral start, then each expression ramped in, held and released.
    Returns (frames, {expression: landmarks of its held frames}) from MediaPipe tracking."""
    from lprr.engine.world.puppet import Puppet

    puppet = Puppet(photo, size=256)
    plan: list[tuple[str | None, float]] = [(None, 0.0)] * NEUTRAL_FRAMES
    for name in EXPRESSIONS:
        plan += [(name, a) for a in (0.25, 0.5, 0.75, 1.0, 1.0, 1.0, 0.5, 0.0, 0.0)]
    frames, held = [], {n: [] for n in EXPRESSIONS}
    with FaceLandmarker(static=False) as fl:
        for i, (name, a) in enumerate(plan):
            w = np.zeros(C, np.float32)
            if name:
                w[INDEX[name]] = a
            frame, _ = puppet.render(w, frame_index=i)
            frames.append(frame)
            lm = fl.detect(frame)
            assert lm is not None
            if name and a == 1.0:
                held[name].append(lm)
            elif name is None:
                held.setdefault("neutral", []).append(lm)
    return frames, held


@pytest.fixture(scope="module")
def gh():
    from conftest import grace_hopper_path

    return _performance(grace_hopper_path())


@pytest.fixture(scope="module")
def astro(request):
    return _performance(request.getfixturevalue("astronaut"))


def _weights(m: HeuristicMethod, lms: list[np.ndarray]) -> np.ndarray:
    return np.mean([m.weights(lm) for lm in lms], axis=0)


def _check_expressions(held: dict[str, list[np.ndarray]], relaxed: bool = False) -> None:
    m = HeuristicMethod(config=HeuristicConfig(calib_frames=NEUTRAL_FRAMES))
    for lm in held["neutral"]:  # the running neutral finds it among the first face frames
        m.weights(lm)
    assert m.neutral is not None and m.running.seen == NEUTRAL_FRAMES
    rest = _weights(m, held["neutral"])
    assert rest.max() < 0.15, dict(zip(CONTROL_NAMES, rest.round(2)))
    for name in EXPRESSIONS:
        w = _weights(m, held[name])
        got = w[INDEX[name]]
        floor = 0.35 if relaxed else 0.5
        assert got > floor, f"{name}: {got:.2f}"
        others = np.delete(w, INDEX[name])
        assert got > others.max(), (name, CONTROL_NAMES[int(np.argmax(w))], w.max())
    # sidedness: the subject's left blink does not read as the right one
    w = _weights(m, held["eyeBlinkLeft"])
    assert w[INDEX["eyeBlinkRight"]] < 0.3
    w = _weights(m, held["mouthSmileRight"])
    assert w[INDEX["mouthSmileLeft"]] < 0.5 * w[INDEX["mouthSmileRight"]]


def test_reads_each_expression_on_the_tuning_identity(gh):
    _check_expressions(gh[1])


def test_reads_expressions_on_an_unseen_face(astro):
    # the astronaut was never used to tune the constants
    _check_expressions(astro[1], relaxed=True)


def test_pose_is_removed_before_measuring(gh):
    lm = gh[1]["neutral"][0].astype(np.float64)
    ref = NeutralFrame.from_landmarks(lm)
    a = np.deg2rad(12.0)
    rot = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
    moved = 1.3 * (lm - lm.mean(0)) @ rot.T + [40.0, -25.0, 5.0]
    s = fit_similarity(moved, lm).s
    assert s == pytest.approx(1 / 1.3, rel=1e-6)
    np.testing.assert_allclose(ref.local(moved), ref.local(lm), atol=1e-6)


def test_calibration_take_weights_are_never_read(gh, tmp_path):
    frames = gh[0][:NEUTRAL_FRAMES]
    with TakeWriter(tmp_path / "calib", 30.0, CONTROL_NAMES, {"kind": "performer"}) as tw:
        for f in frames:
            tw.add(f, np.zeros(C), None)
    # a weights.csv that cannot be parsed: opening it would fail the take
    (tmp_path / "calib" / "weights.csv").write_text("not,a,weights,file\n")
    m = create_method("heuristic", "unused", "auto", calibration=tmp_path / "calib")
    try:
        assert m.neutral is not None and m.neutral.frames == NEUTRAL_FRAMES
        assert "calib" in m.describe()
        w = _weights(m, gh[1]["jawOpen"])
        assert w[INDEX["jawOpen"]] > 0.5
    finally:
        m.close()


def test_calibration_without_a_face_is_a_user_error(tmp_path):
    with TakeWriter(tmp_path / "blank", 30.0, CONTROL_NAMES) as tw:
        for _ in range(5):
            tw.add(np.full((128, 128, 3), 90, np.uint8), None, None)
    with pytest.raises(UserError, match="no face"):
        HeuristicMethod(calibration=tmp_path / "blank")
    with pytest.raises(UserError, match="no such"):
        HeuristicMethod(calibration=tmp_path / "missing")
