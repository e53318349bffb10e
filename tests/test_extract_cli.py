"""``lprr extract`` end to end, through the installed console entry point."""
from __future__ import annotations

import json
import subprocess
import sys

import cv2
import numpy as np

from lprr.app.cli import main
from lprr.engine.face.apem import PATCH_NAMES, PATCH_SIZE


def _lprr(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lprr.app.cli", *args], capture_output=True,
                          text=True, timeout=120)


def test_missing_file_is_one_line_and_exit_2(tmp_path):
    r = _lprr("extract", str(tmp_path / "missing.mp4"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "missing.mp4" in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_corrupt_video_is_one_line_and_exit_2(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).bytes(4096))
    assert main(["extract", str(bad), "--out", str(tmp_path / "o")]) == 2


def test_folder_with_face_and_no_face(tmp_path, grace_hopper):
    from skimage import data

    folder = tmp_path / "imgs"
    folder.mkdir()
    cv2.imwrite(str(folder / "a_face.png"), grace_hopper)
    cv2.imwrite(str(folder / "b_coffee.png"), np.ascontiguousarray(data.coffee()[:, :, ::-1]))
    out = tmp_path / "out"
    assert main(["extract", str(folder), "--out", str(out), "--png"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary == {"source": str(folder), "frames": 2, "faces": 1, "skipped": 1}
    for name in PATCH_NAMES:
        arr = np.load(out / f"{name}.npy")
        assert arr.shape == (1, PATCH_SIZE, PATCH_SIZE, 3) and arr.std() > 5
        assert (out / "png" / name / "000000.png").is_file()
    lms = np.load(out / "landmarks.npy")
    assert lms.shape == (2, 478, 3) and np.isfinite(lms[0]).all() and np.isnan(lms[1]).all()


def test_video_tracks_every_frame(tmp_path, grace_hopper):
    video = tmp_path / "clip.avi"
    h, w = grace_hopper.shape[:2]
    vw = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 30, (w, h))
    for _ in range(8):
        vw.write(grace_hopper)
    vw.release()
    out = tmp_path / "out"
    assert main(["extract", str(video), "--out", str(out)]) == 0
    assert np.load(out / "index.npy").tolist() == list(range(8))
