"""Faults a live session meets (issue 17): a wrong-shape model, signals, the display."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import ROOT, grace_hopper_path

DEMO = ROOT / "exported" / "demo"


def lprr(*args: str) -> list[str]:
    return [sys.executable, "-m", "lprr.app.cli", *args]


def _wrong_shape_wem(d: Path, size: int = 64) -> None:
    """A real ONNX graph with the manifest's tensor names but a size x size input."""
    import onnx
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [9, 20], np.zeros(180, np.float32))
    g = helper.make_graph(
        [helper.make_node("ReduceMean", ["patches"], ["m"], axes=[2, 3], keepdims=0),
         helper.make_node("MatMul", ["m", "w"], ["coeffs"])], "wem",
        [helper.make_tensor_value_info("patches", TensorProto.FLOAT, ["batch", 9, size, size])],
        [helper.make_tensor_value_info("coeffs", TensorProto.FLOAT, ["batch", 20])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]),
              str(d / "wem.onnx"))


def test_wrong_shape_wem_is_one_line_exit_2_and_leaves_no_file(tmp_path):
    from lprr.engine.manifest import write_manifest

    models = tmp_path / "models"
    shutil.copytree(DEMO, models)
    _wrong_shape_wem(models)
    data = json.loads((models / "manifest.json").read_text())
    data.pop("files")
    write_manifest(models, data)
    rec = tmp_path / "x.csv"
    r = subprocess.run(lprr("run", "--models", str(models), "--source", str(grace_hopper_path()),
                            "--record", str(rec), "--method", "lprr"), capture_output=True,
                            text=True, cwd=ROOT,
                       timeout=120, check=False)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1, r.stderr
    assert "wem.onnx" in lines[0] and "'patches'" in lines[0]
    assert "[-1, 9, 128, 128]" in lines[0] and "[-1, 9, 64, 64]" in lines[0]
    assert not rec.exists()


# ------------------------------------------------------------------------- stopping
def _rows(path: Path) -> int:
    return max(0, len(path.read_text().splitlines()) - 1) if path.exists() else 0


def _run_and_signal(tmp_path: Path, sig: int, after_s: float | None = None,
                    wait_rows: int = 0, name: str = "x.csv") -> tuple[subprocess.CompletedProcess,
                                                                      Path]:
    """A real ``lprr run`` on the puppet, signalled after ``after_s`` seconds or once its
    recording has ``wait_rows`` rows on disk."""
    import time

    rec = tmp_path / name
    p = subprocess.Popen(lprr("run", "--source", f"puppet:{grace_hopper_path()}",
                              "--record", str(rec)), cwd=ROOT, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 60 and p.poll() is None:
        if after_s is not None and time.monotonic() - t0 >= after_s:
            break
        if after_s is None and rec.exists() and _rows(rec) >= wait_rows:
            break
        time.sleep(0.01)
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err), rec


def test_sigterm_mid_run_keeps_every_processed_frame(tmp_path):
    import signal

    # the recorder flushes every 60 frames: wait for the first flush, then stop mid-block
    r, rec = _run_and_signal(tmp_path, signal.SIGTERM, wait_rows=60)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and not r.stderr.strip(), r.stderr
    n = int(r.stdout.split(" frames")[0])
    assert n >= 60
    assert _rows(rec) == n  # the summary counts exactly what the recording holds


def test_ctrl_c_at_random_moments_of_start_up_never_crashes(tmp_path):
    import random
    import signal

    rng = random.Random(17)
    for k in range(8):
        r, rec = _run_and_signal(tmp_path, signal.SIGINT, after_s=rng.uniform(0.0, 1.5),
                                 name=f"x{k}.csv")
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert r.returncode in (0, 130), r.stderr
        assert len(lines) <= 1 and "Traceback" not in r.stderr, r.stderr
        if r.returncode == 0:  # it had started: the summary matches the recording
            assert _rows(rec) == int(r.stdout.split(" frames")[0])
        else:  # stopped before the first frame: nothing is left behind
            assert not rec.exists()


def test_puppet_with_missing_photo_leaves_no_file(tmp_path):
    rec = tmp_path / "x.csv"
    r = subprocess.run(lprr("run", "--source", f"puppet:{tmp_path / 'nope.jpg'}",
                            "--record", str(rec)), capture_output=True, text=True, cwd=ROOT,
                       timeout=120, check=False)
    assert r.returncode == 2
    assert len([ln for ln in r.stderr.splitlines() if ln.strip()]) == 1, r.stderr
    assert not rec.exists()


# ------------------------------------------------------------------------- native logs
def test_native_log_filter_drops_only_native_info_and_warning_lines():
    import os

    from lprr.app.native_logs import filter_stream

    text = (b"W0000 00:00:1796207215.832879    4946 inference_feedback_manager.cc:114] "
            b"Feedback manager requires a model\n"
            b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n"
            b"WARNING: All log messages before absl::InitializeLog() is called are written "
            b"to STDERR\n"
            b"lprr run: error: no such file or folder: x.mp4\n"
            b"E0000 00:00:1796207215.832879    4946 gl_context.cc:1] a real native error\n"
            b"WARNING lprr.engine.capture: 1 unreadable image\n"
            b"\r 30.0 fps | latency")  # a status line, no newline yet
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    os.write(w1, text)
    os.close(w1)
    filter_stream(r1, w2)
    os.close(w2)
    out = os.read(r2, 1 << 16)
    assert out == (b"lprr run: error: no such file or folder: x.mp4\n"
                   b"E0000 00:00:1796207215.832879    4946 gl_context.cc:1] a real native "
                   b"error\nWARNING lprr.engine.capture: 1 unreadable image\n\r 30.0 fps | latency")


def test_demo_output_has_no_native_log_lines_unless_verbose(tmp_path):
    clip = ROOT / "assets" / "demo" / "clip" / "frames.avi"
    quiet = subprocess.run(lprr("demo", "--no-preview", "--out", str(tmp_path / "q")),
                           capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert quiet.returncode == 0, quiet.stderr
    both = quiet.stdout + quiet.stderr
    assert "frames.avi" in both and clip.exists()
    for marker in ("W0000", "I0000", "INFO: Created TensorFlow Lite", "absl::InitializeLog"):
        assert marker not in both, both
    loud = subprocess.run(lprr("-v", "run", "--source", str(grace_hopper_path()),
                               "--smoothing", "off"), capture_output=True, text=True,
                          cwd=ROOT, timeout=300, check=False)
    assert loud.returncode == 0, loud.stderr
    assert "W0000" in loud.stderr or "INFO: Created TensorFlow Lite" in loud.stderr


# ------------------------------------------------------------------------- one face, kept
def _two_faces() -> np.ndarray:
    import cv2

    img = cv2.imread(str(grace_hopper_path()))
    return np.concatenate([img, img], axis=1)  # two identical faces side by side


def test_two_identical_faces_the_same_one_is_followed_and_weights_hold_still(tmp_path):
    import cv2

    two = _two_faces()
    clip = tmp_path / "two.avi"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, two.shape[1::-1])
    for _ in range(45):
        w.write(two)
    w.release()
    rec = tmp_path / "x.jsonl"
    r = subprocess.run(lprr("run", "--source", str(clip), "--record", str(rec)),
                       capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(s) for s in rec.read_text().splitlines()]
    assert len(rows) == 45 and all(d["face"] for d in rows)
    weights = np.array([list(d["weights"].values()) for d in rows])
    assert np.ptp(weights, axis=0).max() <= 0.15  # was 0.66 following the largest per frame


def test_follower_keeps_its_face_then_switches_only_when_it_is_lost_for_a_while():
    from lprr.engine.face.landmarks import FaceLandmarker, LandmarkerConfig

    two = _two_faces()
    half = two.shape[1] // 2
    only_left = two.copy()
    only_left[:, half:] = 0
    for pick, side in (("leftmost", 0), ("rightmost", 1)):
        with FaceLandmarker(LandmarkerConfig(pick=pick, lost_frames=5)) as fl:
            xs = [fl.detect(two)[:, 0].mean() for _ in range(20)]
            assert all((x > half) == bool(side) for x in xs), (pick, xs)
            if side:  # the followed (right) face leaves: no face for a while, then the other
                seen = [fl.detect(only_left) for _ in range(8)]
                assert all(p is None for p in seen[:4])
                assert fl.follower.note == "followed face lost" or seen[4] is not None
                assert seen[-1] is not None and seen[-1][:, 0].mean() < half


# ------------------------------------------------------------------------- a tiny face
def test_tiny_face_reads_as_no_face_once_said_and_min_face_0_reads_it(tmp_path):
    """A 64x48 video (11 px between the eyes): below lprr's measured 20 px, so the frames
    are no-face rows (held, then eased to neutral), with one warning; --min-face 0 reads it."""
    import cv2

    img = cv2.imread(str(grace_hopper_path()))[60:444]  # 512x384, 4:3 like 64x48
    tiny = cv2.resize(img, (64, 48), interpolation=cv2.INTER_AREA)
    clip = tmp_path / "tiny.avi"
    w = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for _ in range(30):
        w.write(tiny)
    w.release()
    faces = {}
    for extra in ((), ("--min-face", "0")):
        rec = tmp_path / f"x{len(extra)}.jsonl"
        r = subprocess.run(lprr("run", "--source", str(clip), "--record", str(rec),
                                "--method", "lprr", *extra),
                           capture_output=True, text=True, cwd=ROOT, timeout=300, check=False)
        assert r.returncode == 0, r.stderr
        rows = [json.loads(s) for s in rec.read_text().splitlines()]
        assert [d["frame"] for d in rows] == list(range(30))
        faces[extra] = [d["face"] for d in rows]
        if not extra:
            assert r.stderr.count("too small to read") == 1, r.stderr
    assert not any(faces[()])
    assert all(faces[("--min-face", "0")])
