"""The ``mediapipe`` method: Google's FaceLandmarker blendshapes through lprr's pipeline,
checked against direct FaceLandmarker calls on the same frames (the real tasks model)."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from conftest import demo_frames

from lprr.engine.controls import CONTROL_NAMES, INDEX
from lprr.engine.face.tasks import BLENDSHAPE_NAMES, TASK_MODEL, TaskLandmarker, task_model_path
from lprr.engine.mediapipe_method import MediaPipeMethod, blendshape_index


def _recorded_run(tmp_path, frames: list[np.ndarray], *extra: str) -> list[dict]:
    """``lprr run --method mediapipe`` (smoothing off) on ``frames`` as an image folder,
    recorded to JSON lines: the rows."""
    from lprr.app.cli import main

    folder = tmp_path / "clip"
    folder.mkdir()
    for i, f in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:03d}.png"), f)
    out = tmp_path / "out.jsonl"
    rc = main(["run", "--method", "mediapipe", *extra, "--source", str(folder), "--record",
               str(out), "--smoothing", "off"])
    assert rc == 0
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_vendored_model_is_checked(tmp_path):
    assert task_model_path() == TASK_MODEL
    bad = tmp_path / "face_landmarker.task"
    data = bytearray(TASK_MODEL.read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    # the vendored path is checked by digest; a changed byte there would fail the same way
    import lprr.engine.face.tasks as ft

    old = ft.TASK_MODEL
    try:
        ft.TASK_MODEL = bad
        with pytest.raises(ft.UserError, match="sha256"):
            ft.task_model_path()
    finally:
        ft.TASK_MODEL = old


def test_every_control_has_a_blendshape():
    idx, missing = blendshape_index(list(CONTROL_NAMES))
    assert missing == ["tongueOut"]  # the one ARKit shape MediaPipe lacks
    assert [BLENDSHAPE_NAMES[i] if i >= 0 else "tongueOut" for i in idx] == list(CONTROL_NAMES)
    idx, missing = blendshape_index(["blink_L", "jawOpen", "tongueOut"],
                                    rename={"blink_L": "eyeBlinkLeft"})
    assert BLENDSHAPE_NAMES[idx[0]] == "eyeBlinkLeft" and missing == ["tongueOut"]


def test_run_records_mediapipe_scores(tmp_path):
    """`lprr run --method mediapipe --landmarker tasks --record out.jsonl` writes, for every
    frame it kept, the scores a direct FaceLandmarker call gives on the same frames
    (smoothing off)."""
    frames = demo_frames(24)
    rows = _recorded_run(tmp_path, frames, "--landmarker", "tasks")
    assert len(rows) >= 6 and all(r["face"] for r in rows)
    # A direct call on the frames lprr kept, with the same timestamps (index / 30 fps).
    direct = {}
    with TaskLandmarker(static=False) as lm:
        for r in rows:
            assert lm.detect(frames[r["frame"]], r["frame"] / 30.0) is not None
            direct[r["frame"]] = lm.last_blendshapes
    scored = [n for n in CONTROL_NAMES if n in BLENDSHAPE_NAMES]
    for r in rows:
        got = np.array([r["weights"][n] for n in scored])
        want = direct[r["frame"]][[BLENDSHAPE_NAMES.index(n) for n in scored]]
        np.testing.assert_allclose(got, want, atol=2e-6)
        assert r["weights"]["tongueOut"] == 0.0
    assert len(rows) == len(frames)  # a folder: every frame, none dropped
    assert max(max(r["weights"].values()) for r in rows) > 0.2  # real scores, not zeros


def test_left_is_the_subjects_left(grace_hopper):
    """One-sided puppet expressions on a real photo: MediaPipe's Left is the subject's left
    (image right), as in ARKit and in lprr's controls."""
    from lprr.engine.world.puppet import Puppet

    puppet = Puppet(grace_hopper, size=256)
    method = MediaPipeMethod()

    def read(control: str) -> np.ndarray:
        w = np.zeros(len(CONTROL_NAMES), np.float32)
        w[INDEX[control]] = 1.0
        img = puppet.render(w, effects=False)[0]
        with TaskLandmarker(static=True) as lm:
            assert lm.detect(img) is not None
            return method.weights(lm.last_blendshapes)

    blink_l = read("eyeBlinkLeft")
    # MediaPipe reads the puppet's painted lids as a squint more than as a blink
    lid = lambda w, s: w[INDEX[f"eyeBlink{s}"]] + w[INDEX[f"eyeSquint{s}"]]
    assert lid(blink_l, "Left") > lid(blink_l, "Right") + 0.2
    smile_l = read("mouthSmileLeft")
    assert smile_l[INDEX["mouthSmileLeft"]] > smile_l[INDEX["mouthSmileRight"]] + 0.1


def test_onnx_network_gives_the_tasks_landmarkers_own_scores(grace_hopper):
    """assets/mediapipe/face_blendshapes.onnx, fed the tasks landmarker's landmarks, gives
    the scores the tasks landmarker itself gives: on a real photo and on the demo clip's
    frames (tracking mode)."""
    from lprr.engine.face.blendshapes import BlendshapeModel

    model = BlendshapeModel()
    with TaskLandmarker(static=True) as lm:
        pts = lm.detect(grace_hopper)
        assert pts is not None
        np.testing.assert_allclose(model(pts), lm.last_blendshapes, atol=1e-4)
    with TaskLandmarker(static=False) as lm:
        got, want = [], []
        for i, f in enumerate(demo_frames(30)):
            pts = lm.detect(f, i / 30.0)
            if pts is not None:
                got.append(model(pts))
                want.append(lm.last_blendshapes)
    assert len(got) >= 25
    np.testing.assert_allclose(np.array(got), np.array(want), atol=1e-4)
    assert np.array(want).max() > 0.3  # scores that say something, not all near 0


def test_converted_networks_are_checked_and_reproducible(tmp_path):
    """The vendored ONNX files are what scripts/export_mediapipe.py makes from the vendored
    .task, byte for byte; a changed byte is refused with one readable line."""
    pytest.importorskip("tflite")
    pytest.importorskip("onnx")
    import subprocess
    import sys

    import lprr.engine.face.blendshapes as fb
    import lprr.engine.face.onnx_landmarks as fl
    from lprr.engine.errors import UserError
    from lprr.engine.paths import ROOT

    subprocess.run([sys.executable, str(ROOT / "scripts" / "export_mediapipe.py"),
                    "--out", str(tmp_path)], check=True, capture_output=True)
    for module, attr, build in ((fb, "BLENDSHAPE_MODEL", fb.BlendshapeModel),
                                (fl, "LANDMARK_MODEL", fl.OnnxLandmarker)):
        vendored = getattr(module, attr)
        out = tmp_path / vendored.name
        assert out.read_bytes() == vendored.read_bytes()
        data = bytearray(out.read_bytes())
        data[-100] ^= 0xFF
        out.write_bytes(bytes(data))
        try:
            setattr(module, attr, out)
            with pytest.raises(UserError, match="not the converted model"):
                build()
        finally:
            setattr(module, attr, vendored)


def test_run_on_facemesh_scores_facemeshs_landmarks(tmp_path):
    """`lprr run --method mediapipe --landmarker facemesh` records, for every frame, the
    network's scores on the legacy FaceMesh's landmarks of that frame (smoothing off); they
    track the tasks landmarker's own scores but are not them."""
    from lprr.engine.face.blendshapes import BlendshapeModel
    from lprr.engine.face.landmarks import FaceLandmarker

    frames = demo_frames(24)
    rows = _recorded_run(tmp_path, frames, "--landmarker", "facemesh")
    assert len(rows) == len(frames) and all(r["face"] for r in rows)
    model = BlendshapeModel()
    scored = [n for n in CONTROL_NAMES if n in BLENDSHAPE_NAMES]
    cols = [BLENDSHAPE_NAMES.index(n) for n in scored]
    mesh, tasks = [], []
    with FaceLandmarker() as fm, TaskLandmarker(static=False) as tl:
        for r in rows:
            f, t = frames[r["frame"]], r["frame"] / 30.0
            mesh.append(model(fm.detect(f, t))[cols])
            assert tl.detect(f, t) is not None
            tasks.append(tl.last_blendshapes[cols])
    got = np.array([[r["weights"][n] for n in scored] for r in rows])
    np.testing.assert_allclose(got, np.array(mesh), atol=2e-6)
    diff = np.abs(got - np.array(tasks)).mean()
    assert 1e-4 < diff < 0.1  # another landmark model: close, not the same


def test_run_by_default_scores_the_onnx_landmarkers_landmarks(tmp_path):
    """By default `lprr run --method mediapipe` finds the face with the FaceLandmarker's own
    network in ONNX Runtime (engine/face/onnx_landmarks.py) and scores those landmarks with
    the blendshape network: every frame's record is that, and it is nearer to what
    MediaPipe's whole tasks graph scores on the same frames than FaceMesh's landmarks are."""
    from lprr.engine.face.blendshapes import BlendshapeModel
    from lprr.engine.face.landmarks import FaceLandmarker
    from lprr.engine.face.onnx_landmarks import OnnxLandmarker

    frames = demo_frames(24)
    rows = _recorded_run(tmp_path, frames)
    assert len(rows) == len(frames) and all(r["face"] for r in rows)
    model = BlendshapeModel()
    scored = [n for n in CONTROL_NAMES if n in BLENDSHAPE_NAMES]
    cols = [BLENDSHAPE_NAMES.index(n) for n in scored]
    ours, mesh, tasks = [], [], []
    with OnnxLandmarker() as ol, FaceLandmarker() as fm, TaskLandmarker(static=False) as tl:
        for r in rows:
            f, t = frames[r["frame"]], r["frame"] / 30.0
            ours.append(model(ol.detect(f, t))[cols])
            # tongueOut, which MediaPipe's blendshapes lack: the landmark network's own score
            assert ol.last_tongue is not None and 0.0 <= ol.last_tongue <= 1.0
            assert r["weights"]["tongueOut"] == pytest.approx(ol.last_tongue, abs=1e-5)
            mesh.append(model(fm.detect(f, t))[cols])
            assert tl.detect(f, t) is not None
            tasks.append(tl.last_blendshapes[cols])
    got = np.array([[r["weights"][n] for n in scored] for r in rows])
    np.testing.assert_allclose(got, np.array(ours), atol=1e-5)
    # the same network on a crop lprr places, not MediaPipe's graph: near its scores, not
    # equal to them, and nearer than another landmark model
    diff = np.abs(got - np.array(tasks)).mean()
    assert 1e-5 < diff < 0.8 * np.abs(np.array(mesh) - np.array(tasks)).mean()
