"""``lprr demo`` on the bundled clip with the shipped default models."""
from __future__ import annotations

import csv

import cv2
import pytest

from app.cli import main
from engine.paths import ASSETS, DEFAULT_MODELS

pytestmark = pytest.mark.skipif(not (DEFAULT_MODELS / "manifest.json").is_file(),
                                reason="no shipped default models in exported/demo")


@pytest.mark.slow
def test_demo_runs_headless_and_writes_outputs(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--backend", "ort-cpu"]) == 0
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
    assert main(["demo", "--models", str(copy), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "sha256" in err[0]


@pytest.mark.slow
def test_demo_needs_no_torch(tmp_path):
    """The live app runs without torch: block the module and run the demo."""
    import subprocess
    import sys

    from engine.paths import ROOT

    code = ("import sys; sys.modules['torch'] = None; from app.cli import main; "
            f"sys.exit(main(['demo', '--out', {str(tmp_path)!r}, '--no-preview']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "sustained:" in r.stdout
