"""``lprr demo`` on the bundled clip with the shipped default models."""
from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from lprr.app.cli import main
from lprr.engine.paths import ASSETS, DEFAULT_MODELS
from lprr.engine.sinks import read_recording
from lprr.engine.take import read_weights_csv

pytestmark = pytest.mark.skipif(not (DEFAULT_MODELS / "manifest.json").is_file(),
                                reason="no shipped default models in exported/demo")


@pytest.mark.slow
def test_demo_runs_headless_and_writes_outputs(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--backend", "ort-cpu", "--method", "lprr"]) == 0
    report = capsys.readouterr().out
    for stage in ("landmarks", "apem", "rm", "wem", "post", "latency"):
        assert f"| {stage}" in report, report
    assert "sustained:" in report and "fps" in report
    clip = cv2.VideoCapture(str(ASSETS / "demo" / "clip" / "frames.avi"))
    n_frames = int(clip.get(cv2.CAP_PROP_FRAME_COUNT))
    clip.release()
    with open(tmp_path / "weights.csv", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) - 1 == n_frames  # every frame in, every frame out
    assert "jawOpen" in rows[0] and "eyeBlinkLeft" in rows[0]
    # the weights move with the clip: its mouth opens and its eyes blink, and the output
    # follows the clip's own ground truth (all-zero or frozen weights fail here)
    names, w = read_recording(tmp_path / "weights.csv")
    truth_names, truth = read_weights_csv(ASSETS / "demo" / "clip" / "weights.csv")
    assert w.shape == (n_frames, len(names)) and np.isfinite(w).all()
    for ctl in ("jawOpen", "eyeBlinkLeft", "eyeBlinkRight"):
        out, ref = w[:, names.index(ctl)], truth[:, truth_names.index(ctl)]
        assert out.max() - out.min() > 0.3, (ctl, out.min(), out.max())
        assert np.corrcoef(out, ref)[0, 1] > 0.7, ctl
    prev = cv2.VideoCapture(str(tmp_path / "preview.avi"))
    ok, img = prev.read()
    assert ok and img.shape[0] == 256 and img.shape[1] > 256 * 3
    assert int(prev.get(cv2.CAP_PROP_FRAME_COUNT)) == n_frames
    prev.release()


def test_corrupt_model_is_one_clear_line(tmp_path, capsys):
    import shutil

    copy = tmp_path / "models"
    shutil.copytree(DEFAULT_MODELS, copy)
    blob = bytearray((copy / "rm.onnx").read_bytes())
    blob[100] ^= 0xFF
    (copy / "rm.onnx").write_bytes(bytes(blob))
    assert main(["demo", "--models", str(copy), "--out", str(tmp_path / "o"),
                 "--method", "lprr"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sha256" in err[0]


@pytest.mark.slow
def test_demo_needs_no_torch(tmp_path):
    """The live app runs without torch: block the module and run the demo."""
    import subprocess
    import sys

    from lprr.engine.paths import ROOT

    code = ("import sys; sys.modules['torch'] = None; from lprr.app.cli import main; "
            f"sys.exit(main(['demo', '--out', {str(tmp_path)!r}, '--no-preview']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "sustained:" in r.stdout
