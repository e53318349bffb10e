"""The onnx landmarker (engine/face/onnx_landmarks.py): MediaPipe's FaceLandmarker network in
ONNX Runtime, tracked by lprr. Real frames, the real converted network, the real tasks
landmarker to compare against."""
from __future__ import annotations

import numpy as np
from conftest import demo_frames

from lprr.engine.face.landmarks import LandmarkerConfig, face_size
from lprr.engine.face.onnx_landmarks import OnnxLandmarker
from lprr.engine.face.tasks import TaskLandmarker


def _gap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean landmark distance over the eye distance."""
    return float(np.linalg.norm(a[:, :2] - b[:, :2], axis=1).mean() / face_size(b))


def test_tracks_a_clip_with_one_detection_and_the_tasks_landmarks():
    """On video, a full detection finds the face once; every later frame is the network on
    the crop the last landmarks place, and lands where MediaPipe's own graph does."""
    frames = demo_frames(40)
    gaps = []
    with OnnxLandmarker() as ol, TaskLandmarker(static=False) as tl:
        for i, f in enumerate(frames):
            ours, theirs = ol.detect(f, i / 30), tl.detect(f, i / 30)
            assert ours is not None and theirs is not None
            assert ours.shape == (478, 3) and ours.dtype == np.float32
            gaps.append(_gap(ours, theirs))
            assert ol.last_presence > 0.9
        assert ol.finds == 1
    assert np.mean(gaps) < 0.015 and max(gaps) < 0.03


def test_a_lost_face_is_found_again():
    """Frames with no face read as no face (the network's presence score falls, then the
    detector finds nothing); when the face comes back it is found and tracked again."""
    frames = demo_frames(20)
    blank = np.zeros_like(frames[0])
    seq = frames[:8] + [blank] * 4 + frames[8:]
    with OnnxLandmarker() as ol:
        got = [ol.detect(f, i / 30) for i, f in enumerate(seq)]
        finds = ol.finds
    assert all(p is not None for p in got[:8])
    assert all(p is None for p in got[8:12])
    assert all(p is not None for p in got[13:])
    # one at the start, one per blank frame (nothing to track), the face again: then tracked
    assert finds <= 1 + 4 + 2


def test_still_image_and_which_face_is_followed(grace_hopper):
    """On a photo the face is found afresh each call and lands where the tasks landmarker
    puts it; of two faces, --face leftmost / rightmost chooses which one is read."""
    with OnnxLandmarker(static=True) as ol, TaskLandmarker(static=True) as tl:
        ours, theirs = ol.detect(grace_hopper), tl.detect(grace_hopper)
        assert ours is not None and theirs is not None
        assert _gap(ours, theirs) < 0.03
        assert ol.detect(np.zeros_like(grace_hopper)) is None
    pair = np.hstack([grace_hopper, grace_hopper])
    w = grace_hopper.shape[1]
    for pick, left in (("leftmost", True), ("rightmost", False)):
        with OnnxLandmarker(LandmarkerConfig(pick=pick)) as ol:
            for i in range(3):  # the pick holds while the face is tracked
                pts = ol.detect(pair, i / 30)
                assert pts is not None
                assert (pts[:, 0].mean() < w) == left
            assert ol.finds == 1


def test_two_at_once_reads_what_one_at_a_time_reads():
    """The pipeline hands the landmarker two frames at once when they queue up; it runs them
    on two threads and must read exactly what it reads frame by frame, through a lost face
    too (the blank frames fall on both halves of a pair)."""
    frames = demo_frames(24)
    blank = np.zeros_like(frames[0])
    seq = frames[:9] + [blank] * 3 + frames[9:]
    with OnnxLandmarker() as one:
        alone = [one.detect(f) for f in seq]
    with OnnxLandmarker() as two:
        # a ragged split: singles and pairs that start on either frame of a pair
        sizes, got, i = [1, 2, 2, 3, 1, 2, 4, 2, 2, 2, 3, 3], [], 0
        for n in sizes:
            got += [pts for pts, _ in two.detect_many(seq[i:i + n])]
            i += n
        assert i == len(seq)
        assert two._pool is not None  # pairs did run on the helper thread
    for a, b in zip(alone, got):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_array_equal(a, b)
    assert sum(p is None for p in got) == 3
