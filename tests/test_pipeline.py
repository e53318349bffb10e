"""The threaded pipeline and ``lprr run`` on real clips, real MediaPipe and real ORT."""
from __future__ import annotations

import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from lprr.engine.capture import Capture, capture_frames
from lprr.engine.pipeline import Pipeline
from lprr.engine.post.postprocess import PostConfig, PostProcessor
from lprr.engine.retarget import Retargeter


def _clip(path, frames):
    h, w = frames[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (w, h))
    for f in frames:
        vw.write(f)
    vw.release()
    return path


@pytest.fixture(scope="module")
def face_clip_with_gap(tmp_path_factory, grace_hopper):
    """30 face frames, 30 blank frames, 30 face frames."""
    face = cv2.resize(grace_hopper, (256, 300))
    blank = np.full_like(face, 90)
    frames = [face] * 30 + [blank] * 30 + [face] * 30
    return _clip(tmp_path_factory.mktemp("clips") / "gap.avi", frames)


def _run(models, source, **post_kw):
    rt = Retargeter(models, "ort-cpu")
    cap = Capture(str(source), drop=False).start()
    post = PostProcessor(PostConfig(**post_kw), names=rt.controls)
    results = []
    pipe = Pipeline(rt, capture_frames(cap), post=post.process, on_result=results.append)
    pipe.start()
    assert pipe.wait(60)
    t0 = time.monotonic()
    assert pipe.stop(1.0)
    assert time.monotonic() - t0 < 1.0
    cap.stop()
    return results, pipe


def test_lost_face_eases_to_neutral_and_resumes(tiny_models, face_clip_with_gap):
    results, pipe = _run(tiny_models, face_clip_with_gap, hold_s=0.1, ease_s=0.3,
                         smoothing="off")
    assert pipe.error is None
    assert [r.index for r in results] == list(range(90))  # frame count in == out
    faces = [r.face for r in results]
    assert all(faces[:30]) and not any(faces[30:60]) and all(faces[62:])
    w = np.stack([r.weights for r in results])
    assert np.abs(w[29]).max() > 0.05  # tracking: the random model says something
    # Held briefly, then eased to neutral (zeros) well before the face returns.
    assert np.allclose(w[31], w[29], atol=1e-6)
    assert np.abs(w[55:60]).max() < 1e-6
    assert np.abs(w[-1]).max() > 0.05  # tracking resumed
    # The front end really cut patches, and the RM drew something of the right shape.
    assert results[0].reenacted["lip"].shape == (128, 128, 3)


def test_stop_mid_stream_is_quick(tiny_models, grace_hopper):
    rt = Retargeter(tiny_models, "ort-cpu")
    frame = cv2.resize(grace_hopper, (256, 300))

    def endless():
        i = 0
        while True:
            yield i, i / 30, frame
            i += 1

    pipe = Pipeline(rt, endless()).start()
    time.sleep(1.0)
    assert pipe.frames_out > 0
    t0 = time.monotonic()
    assert pipe.stop(1.0)
    assert time.monotonic() - t0 < 1.0
    assert not pipe.running


def _lprr(*args):
    from lprr.engine.paths import ROOT

    return subprocess.run([sys.executable, "-m", "lprr.app.cli", *args], capture_output=True,
                          text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize("args, needle", [
    (["--source", "missing.mp4"], "missing.mp4"),
    (["--source", "assets/photos/grace_hopper.jpg", "--osc", "no-such-host.invalid:9000"],
     "no-such-host"),
])
def test_run_errors_are_one_line(tiny_models, args, needle):
    r = _lprr("run", "--models", str(tiny_models), "--method", "lprr", *args)
    assert r.returncode == 2, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_missing_models_is_one_line(tmp_path):
    r = _lprr("run", "--models", str(tmp_path / "nothing"), "--source",
              "assets/photos/grace_hopper.jpg",
              "--method", "lprr")
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "nothing" in lines[0], r.stderr


def test_run_records_every_frame_on_the_source_clock(tmp_path, grace_hopper):
    """A 24 fps file through `lprr run --record`: one row per video frame, in order, timed by
    the source (row 100 is 00:00:04:04), frames without a face kept as rows."""
    import json

    import cv2

    from lprr.app.cli import main

    clip = tmp_path / "clip24.avi"
    face = cv2.resize(grace_hopper, (200, 240))
    vw = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 24, (200, 240))
    for i in range(110):
        vw.write(np.zeros_like(face) if 50 <= i < 60 else face)  # 10 frames with no face
    vw.release()
    csv_out, jl_out = tmp_path / "x.csv", tmp_path / "x.jsonl"
    for out in (csv_out, jl_out):
        assert main(["run", "--method", "heuristic", "--source", str(clip),
                     "--record", str(out)]) == 0
    rows = csv_out.read_text().splitlines()[1:]
    assert len(rows) == 110
    assert rows[100].split(",")[0] == "00:00:04:04.000"
    assert rows[0].split(",")[0] == "00:00:00:00.000"
    lines = [json.loads(s) for s in jl_out.read_text().splitlines()]
    assert [d["frame"] for d in lines] == list(range(110))
    assert abs(lines[100]["time"] - 100 / 24) < 1e-6
    assert [d["face"] for d in lines[50:60]] == [False] * 10 and lines[49]["face"]


def test_folder_with_a_corrupt_image_keeps_the_timeline(tmp_path, grace_hopper, caplog):
    """20 images, one corrupt: 19 rows, each with its file's own index, and one warning."""
    import json
    import logging

    import cv2

    from lprr.app.cli import main

    folder = tmp_path / "frames"
    folder.mkdir()
    face = cv2.resize(grace_hopper, (200, 240))
    for i in range(20):
        cv2.imwrite(str(folder / f"{i:02d}.png"), face)
    (folder / "07.png").write_bytes(b"not a png")
    out = tmp_path / "x.jsonl"
    with caplog.at_level(logging.WARNING):
        assert main(["run", "--method", "heuristic", "--source", str(folder),
                     "--record", str(out)]) == 0
    frames = [json.loads(s)["frame"] for s in out.read_text().splitlines()]
    assert frames == [i for i in range(20) if i != 7]
    warned = [r.getMessage() for r in caplog.records if "unreadable" in r.getMessage()]
    assert len(warned) == 1 and "07.png" in warned[0]


def test_front_end_two_at_once_reads_what_one_at_a_time_reads(face_clip_with_gap):
    """``front_batch=2`` (the onnx landmarker reading two frames on two threads) gives every
    frame, in order, the same landmarks and MediaPipe scores as one frame at a time, through a
    lost face and its return."""
    from lprr.engine.mediapipe_method import MediaPipeMethod
    from lprr.engine.pipeline import PipelineConfig

    runs = []
    for batch in (1, 2):
        cap = Capture(str(face_clip_with_gap), drop=False).start()
        results: list = []
        pipe = Pipeline(MediaPipeMethod(), capture_frames(cap), on_result=results.append,
                        config=PipelineConfig(front_batch=batch)).start()
        assert pipe.wait(60) and pipe.error is None
        # the second run did read frames two at once (its helper thread was started)
        assert (pipe.front.landmarker._pool is not None) == (batch == 2)
        pipe.stop(1.0)
        cap.stop()
        runs.append(results)
    one, two = runs
    assert [r.index for r in two] == list(range(90))
    for a, b in zip(one, two):
        assert a.face == b.face
        if a.face:
            np.testing.assert_array_equal(a.landmarks, b.landmarks)
            np.testing.assert_allclose(a.raw_weights, b.raw_weights, atol=1e-6)
    assert sum(r.face for r in two) >= 58
