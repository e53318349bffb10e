"""``lprr eval``: methods side by side on a tiny labelled take, through the live pipeline."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lprr.app.cli import main
from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.errors import UserError
from lprr.engine.evaluate import (
    REFERENCE,
    MethodSpec,
    evaluate_methods,
    evaluate_take,
    markdown_report,
    write_report,
)
from lprr.engine.methods import METHODS
from lprr.engine.paths import DEFAULT_MODELS
from lprr.engine.take import Take, read_weights_csv
from lprr.engine.timing import StageTimes

FRAMES = 24


class _Fixed:
    """A test method: fills raw_weights from a function of the frame index."""

    name = "fixed"

    def __init__(self, models, backend="auto", options=None, times=None, *, values=None,
                 **_extra):
        self.controls = list(CONTROL_NAMES)
        self.times = times or StageTimes()
        self.values = values

    backend_name = "test"

    def describe(self) -> str:
        return "test method"

    def warmup(self) -> None:
        pass

    def infer_frames(self, batch) -> None:
        for r in batch:
            r.raw_weights = np.asarray(self.values(r.index), np.float32)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> Path:
    from conftest import grace_hopper_path

    from lprr.engine.world.synth import performer_take

    out = tmp_path_factory.mktemp("eval") / "take"
    performer_take(grace_hopper_path(), out, FRAMES, seed=5, size=256)
    return out


@pytest.fixture
def fixed(monkeypatch):
    monkeypatch.setitem(METHODS, "fixed", f"{__name__}:_Fixed")


def test_a_method_that_outputs_the_ground_truth_scores_perfectly(take, fixed):
    truth = Take(take).weights_for(CONTROL_NAMES)
    spec = MethodSpec("fixed", label="oracle", extra={"values": lambda i: truth[i]})
    rep = evaluate_methods(take, [spec], smoothing="off")
    s = rep.scores["oracle"]
    assert s["faces_found"] == FRAMES
    assert s["overall"]["mae"] < 1e-6
    moving = [n for n in CONTROL_NAMES if truth[:, CONTROL_NAMES.index(n)].std() > 1e-6]
    assert moving
    for n in moving:
        assert s["controls"][n]["r"] == pytest.approx(1.0, abs=1e-5)
        assert s["controls"][n]["jitter_ratio"] == pytest.approx(1.0, abs=1e-3)
    # the reference row is the all-zeros face: its MAE is the mean of the truth
    assert rep.scores[REFERENCE]["overall"]["mae"] == pytest.approx(np.abs(truth).mean())


def test_a_constant_method_reports_nan_r_instead_of_crashing(take, fixed, tmp_path):
    spec = MethodSpec("fixed", label="constant",
                      extra={"values": lambda i: np.full(len(CONTROL_NAMES), 0.3)})
    rep = evaluate_methods(take, [spec])
    s = rep.scores["constant"]
    assert all(math.isnan(c["r"]) for c in s["controls"].values())
    assert math.isnan(s["overall"]["r"])
    assert s["overall"]["mae"] > 0.1
    text = markdown_report(rep)
    assert "| constant |" in text and "NaN" in text
    paths = write_report(rep, tmp_path / "out")
    data = json.loads(paths["json"].read_text())
    assert data["methods"]["constant"]["overall"]["r"] is None
    assert paths["plot"].stat().st_size > 1000
    # the predictions are written as a weights.csv, like any take's
    names, w = read_weights_csv(tmp_path / "out" / "predictions" / "constant.csv")
    assert names == list(CONTROL_NAMES) and w.shape == (FRAMES, len(CONTROL_NAMES))
    assert np.allclose(w, 0.3, atol=1e-5)


def test_a_failing_method_is_reported_when_keep_going(take, fixed):
    def boom(i):
        raise RuntimeError("model exploded")

    rep = evaluate_methods(take, [MethodSpec("fixed", label="bad", extra={"values": boom})],
                           keep_going=True)
    assert "model exploded" in rep.errors["bad"]
    assert "bad" not in rep.scores
    with pytest.raises(RuntimeError):
        evaluate_methods(take, [MethodSpec("fixed", extra={"values": boom})])


def test_cli_compares_lprr_and_the_heuristic(take, tmp_path, capsys):
    out = tmp_path / "eval"
    rc = main(["eval", "--take", str(take), "--method", "lprr,heuristic", "--models",
               str(DEFAULT_MODELS), "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "| lprr |" in printed and "| heuristic |" in printed
    data = json.loads((out / "scores.json").read_text())
    assert list(data["methods"]) == ["lprr", "heuristic", REFERENCE]
    for name in ("lprr", "heuristic"):
        s = data["methods"][name]
        assert s["frames"] == FRAMES and s["faces_found"] == FRAMES
        assert s["overall"]["mae"] < {"lprr": 0.05, "heuristic": 0.03}[name]  # 0.029, 0.015
        assert set(s["regions"]) == {"eyes", "brows", "mouth"}
        assert {"jawOpen", "eyeBlinkLeft", "browInnerUp"} <= set(s["key"])
        assert (out / "predictions" / f"{name}.csv").is_file()
    assert (out / "curves.png").stat().st_size > 1000
    assert "Key controls" in (out / "accuracy.md").read_text()


@pytest.mark.slow
def test_the_shipped_models_beat_doing_nothing_on_the_demo_clip():
    """Guards the shipped models' accuracy: lprr on the bundled demo clip (300 frames with
    ground truth) against the all-zeros face. Measured with the 52-shape models: MAE 0.0792
    against 0.0866 (ratio 0.91), overall r 0.39; the 38-shape models scored 0.0696 (0.80):
    the same 20 PCA components now carry 52 controls (95.8% of their variance, not 98.4%)."""
    from lprr.engine.paths import ASSETS

    rep = evaluate_methods(ASSETS / "demo" / "clip", [MethodSpec("lprr")])
    s, zero = rep.scores["lprr"], rep.scores[REFERENCE]
    assert s["faces_found"] == s["frames"] == 300
    assert s["overall"]["mae"] < 0.95 * zero["overall"]["mae"], (s["overall"], zero["overall"])
    assert s["overall"]["r"] > 0.3
    for region in ("eyes", "mouth"):
        assert s["regions"][region]["mae"] < 0.9 * zero["regions"][region]["mae"], region
    assert s["key"]["jawOpen"]["r"] > 0.7
    assert s["key"]["jawOpen"]["mae"] < 0.5 * zero["key"]["jawOpen"]["mae"]
    for blink in ("eyeBlinkLeft", "eyeBlinkRight"):
        assert s["key"][blink]["r"] > 0.85, blink


def test_cli_is_backwards_compatible_and_checks_its_input(take, tmp_path, capsys):
    assert main(["eval", "--take", str(take)]) == 0  # lprr on the shipped models
    assert "| lprr |" in capsys.readouterr().out
    assert main(["eval", "--take", str(take), "--method", "nope"]) == 2
    assert "unknown method" in capsys.readouterr().err
    assert main(["eval", "--take", str(tmp_path / "missing")]) == 2
    s = evaluate_take(take, DEFAULT_MODELS, method="heuristic")
    assert s["faces_found"] == FRAMES and s["overall_mae"] == s["overall"]["mae"]


def test_an_option_a_method_does_not_take_is_an_error_not_ignored(take, capsys):
    from lprr.engine.methods import create_method, method_options

    assert "calibration" not in method_options("lprr")
    assert "calibration" in method_options("heuristic")
    with pytest.raises(UserError, match="--calibration does not apply to method lprr "
                                        r"\(it applies to heuristic, f2f\)"):
        create_method("lprr", DEFAULT_MODELS, "ort-cpu", calibration=take)
    with pytest.raises(UserError, match="--no-such does not apply to method heuristic"):
        create_method("heuristic", DEFAULT_MODELS, no_such=1)
    assert main(["eval", "--take", str(take), "--method", "lprr", "--calibration",
                 str(take)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--calibration does not apply to method lprr" in err[0], err


def test_with_several_methods_an_option_goes_to_those_that_take_it(take, tmp_path, caplog):
    import logging

    from lprr.engine.methods import METHODS, split_method_options

    with caplog.at_level(logging.WARNING, logger="lprr.engine.methods"):
        per = split_method_options(list(METHODS), {"calibration": take})
    assert per == {"lprr": {}, "heuristic": {"calibration": take},
                   "f2f": {"calibration": take}, "mediapipe": {}}
    assert [r.getMessage() for r in caplog.records] == [
        "--calibration applies to heuristic, f2f only; ignored by lprr, mediapipe"]
    with pytest.raises(UserError, match="applies to none of the methods chosen"):
        split_method_options(["lprr", "mediapipe"], {"calibration": take})
    # through the CLI: one warning line, and the run goes on
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="lprr.engine.methods"):
        assert main(["eval", "--take", str(take), "--method", "lprr,heuristic",
                     "--calibration", str(take), "--out", str(tmp_path / "o")]) == 0
    assert [r.getMessage() for r in caplog.records] == [
        "--calibration applies to heuristic only; ignored by lprr"]
    data = json.loads((tmp_path / "o" / "scores.json").read_text())
    assert list(data["methods"]) == ["lprr", "heuristic", REFERENCE]


def test_a_take_without_ground_truth_is_a_user_error(take, tmp_path):
    import shutil

    bare = tmp_path / "bare"
    shutil.copytree(take, bare)
    (bare / "weights.csv").unlink()
    with pytest.raises(UserError, match="weights.csv"):
        evaluate_methods(bare, [MethodSpec("heuristic")])


def _protocol():
    import importlib.util
    import sys

    from lprr.engine.paths import ROOT

    if "accuracy_protocol" not in sys.modules:
        spec = importlib.util.spec_from_file_location("accuracy_protocol",
                                                      ROOT / "scripts" / "accuracy.py")
        mod = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = mod  # dataclasses look their module up there
        spec.loader.exec_module(mod)
    return sys.modules["accuracy_protocol"]


def test_protocol_takes_unlabelled_ones_lose_their_weights(tmp_path):
    from conftest import grace_hopper_path

    acc = _protocol()
    t = acc.make_take(tmp_path / "calib", grace_hopper_path(), 7, "natural", 6, 128,
                      labelled=False)
    assert not (t / "weights.csv").exists() and (t / "frames.avi").is_file()
    mtime = (t / "meta.json").stat().st_mtime
    assert acc.make_take(t, grace_hopper_path(), 7, "natural", 6, 128, False) == t
    assert (t / "meta.json").stat().st_mtime == mtime  # same request: kept, not remade


def test_protocol_fine_tune_starts_from_the_shipped_models(tmp_path):
    """With no training steps, the exported model folder reproduces the shipped RM and
    keeps the WEM and PCA byte for byte."""
    pytest.importorskip("torch")
    import onnxruntime as ort

    from lprr.models.chain import export_run

    acc = _protocol()
    run, out = tmp_path / "run", tmp_path / "models"
    acc.init_run_from_models(DEFAULT_MODELS, run)
    export_run(run, out, name="copy")
    shipped = json.loads((DEFAULT_MODELS / "manifest.json").read_text())
    copied = json.loads((out / "manifest.json").read_text())
    assert copied["files"]["pca.npz"] == shipped["files"]["pca.npz"]
    if "sketch.npz" in shipped["files"]:
        assert copied["files"]["sketch.npz"] == shipped["files"]["sketch.npz"]
    c = int(next(iter(shipped["models"]["rm"]["inputs"].values()))[1])
    x = np.random.default_rng(0).uniform(0, 1, (2, c, 128, 128)).astype(np.float32)
    feed = {"lip": x, "eye_l": x, "eye_r": x}
    a = ort.InferenceSession(str(DEFAULT_MODELS / "rm.onnx")).run(None, feed)
    b = ort.InferenceSession(str(out / "rm.onnx")).run(None, feed)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, atol=1e-5)
    p = {"patches": np.random.default_rng(1).uniform(0, 1, (2, 9, 128, 128)).astype(np.float32)}
    a = ort.InferenceSession(str(DEFAULT_MODELS / "wem.onnx")).run(None, p)[0]
    b = ort.InferenceSession(str(out / "wem.onnx")).run(None, p)[0]
    np.testing.assert_allclose(a, b, atol=1e-5)
