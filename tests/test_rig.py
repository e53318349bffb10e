"""The shared face rig, on real MediaPipe landmarks of grace_hopper.jpg."""
from __future__ import annotations

import numpy as np
import pytest

from lprr.engine.controls import CONTROL_NAMES, CONTROLS, INDEX
from lprr.engine.face import topology as T
from lprr.engine.face.frame import FaceFrame
from lprr.engine.face.landmarks import FaceLandmarker
from lprr.engine.world import rig

C = len(CONTROL_NAMES)


@pytest.fixture(scope="module")
def face(grace_hopper):
    with FaceLandmarker(static=True) as fl:
        lm = fl.detect(grace_hopper)
    assert lm is not None
    return lm.astype(np.float64)


@pytest.fixture(scope="module")
def deltas(face):
    return rig.control_deltas(face)


def w_of(**kw) -> np.ndarray:
    w = np.zeros(C)
    for k, v in kw.items():
        w[INDEX[k]] = v
    return w


def iod(lm):
    return float(np.linalg.norm(lm[T.EYE_OPENING_L, :2].mean(0) - lm[T.EYE_OPENING_R, :2].mean(0)))


def lid_gap(lm, side):
    up, lo = (T.EYE_UPPER_L, T.EYE_LOWER_L) if side == "Left" else (T.EYE_UPPER_R, T.EYE_LOWER_R)
    return np.linalg.norm(lm[list(up[1:-1]), :2] - lm[list(lo[1:-1]), :2], axis=1)


def test_topology_facts():
    assert T.TRIANGLES.shape == (852, 3) and T.TRIANGLES.max() == 467
    # the eye and mouth openings are holes of the tessellation
    assert not T.TRI_IN_EYE_L.any() and not T.TRI_IN_EYE_R.any() and not T.TRI_IN_MOUTH.any()
    # consistent winding: every interior edge is used once in each direction
    e = np.concatenate([T.TRIANGLES[:, [0, 1]], T.TRIANGLES[:, [1, 2]], T.TRIANGLES[:, [2, 0]]])
    directed = {tuple(x) for x in e}
    assert len(directed) == len(e)  # no directed edge twice
    boundary = [x for x in directed if (x[1], x[0]) not in directed]
    assert len(boundary) == 36 + 16 + 16 + 20  # face oval, two eyes, inner lips


def test_shapes_and_frontal_winding(face, deltas):
    assert deltas.shape == (C, 478, 3) and deltas.dtype == np.float32
    p = face[:, :2]
    a, b, c = (p[T.TRIANGLES[:, k]] for k in range(3))
    area = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]
    assert (area < 0).mean() > 0.97  # wound to face the viewer
    d2 = rig.control_deltas(face[:, :2])
    assert d2.shape == (C, 478, 2)


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_blink_closes_lids_exactly(face, deltas, side):
    assert lid_gap(face, side).max() > 0.05 * iod(face)
    for extra in ({}, {f"eyeSquint{side}": 1.0}, {f"eyeWide{side}": 1.0},
                  {f"eyeLookDown{side}": 1.0, f"eyeSquint{side}": 0.6}):
        lm = rig.deform(face, deltas, w_of(**{f"eyeBlink{side}": 1.0}, **extra))
        assert lid_gap(lm, side).max() < 1e-4, extra
    half = rig.deform(face, deltas, w_of(**{f"eyeBlink{side}": 0.5}))
    assert 0.2 < lid_gap(half, side).mean() / lid_gap(face, side).mean() < 0.8


def test_blink_leaves_iris_and_other_eye(face, deltas):
    lm = rig.deform(face, deltas, w_of(eyeBlinkLeft=1.0))
    assert np.abs(lm[468:] - face[468:]).max() < 1e-4
    assert np.abs(lm[list(T.EYE_OPENING_R)] - face[list(T.EYE_OPENING_R)]).max() < 1e-4


def test_jaw_open_lowers_lower_lip(face, deltas):
    lm = rig.deform(face, deltas, w_of(jawOpen=1.0))
    mw = np.linalg.norm(face[T.MOUTH_CORNER_L, :2] - face[T.MOUTH_CORNER_R, :2])
    assert lm[14, 1] - face[14, 1] > 0.3 * mw  # lower inner lip, y down
    assert lm[17, 1] - face[17, 1] > 0.3 * mw
    assert lm[T.CHIN, 1] - face[T.CHIN, 1] > 0.3 * mw
    assert abs(lm[13, 1] - face[13, 1]) < 0.05 * mw  # upper lip stays
    assert abs(lm[T.NOSE_TIP, 1] - face[T.NOSE_TIP, 1]) < 0.01 * mw


def test_smile_left_raises_image_right_corner(face, deltas):
    lm = rig.deform(face, deltas, w_of(mouthSmileLeft=1.0))
    right_img, left_img = T.MOUTH_CORNER_L, T.MOUTH_CORNER_R  # subject's left = image right
    assert face[right_img, 0] > face[left_img, 0]
    assert face[right_img, 1] - lm[right_img, 1] > 0.05 * iod(face)  # up
    assert lm[right_img, 0] > face[right_img, 0]  # outwards
    assert np.linalg.norm(lm[left_img] - face[left_img]) < 0.01 * iod(face)


def test_directions_follow_arkit(face, deltas):
    s = 0.02 * iod(face)

    def moved(name, idx):
        lm = rig.deform(face, deltas, w_of(**{name: 1.0}))
        return lm[idx, :2] - face[idx, :2]

    # gaze: subject's left eye is on the image right; the nose is image-left of it
    assert moved("eyeLookInLeft", T.IRIS_CENTER_L)[0] < -s
    assert moved("eyeLookOutLeft", T.IRIS_CENTER_L)[0] > s
    assert moved("eyeLookInRight", T.IRIS_CENTER_R)[0] > s
    assert moved("eyeLookOutRight", T.IRIS_CENTER_R)[0] < -s
    assert moved("eyeLookUpLeft", T.IRIS_CENTER_L)[1] < -s
    assert moved("eyeLookDownRight", T.IRIS_CENTER_R)[1] > s
    # mouth / jaw to the subject's left = image right
    mouth = list(T.LIP_INNER_UPPER)
    assert moved("mouthLeft", mouth)[:, 0].mean() > s
    assert moved("mouthRight", mouth)[:, 0].mean() < -s
    assert moved("jawLeft", T.CHIN)[0] > s
    assert moved("jawRight", T.CHIN)[0] < -s
    # brows
    assert moved("browInnerUp", [T.BROW_UPPER_L[0], T.BROW_UPPER_R[0]])[:, 1].max() < -s
    assert moved("browOuterUpLeft", T.BROW_UPPER_L[-1])[1] < -s
    assert moved("browDownRight", T.BROW_LOWER_R[0])[1] > s
    assert moved("eyeWideLeft", T.EYE_UPPER_L[4])[1] < -s
    assert moved("eyeSquintRight", T.EYE_LOWER_R[4])[1] < -s
    assert moved("mouthFrownLeft", T.MOUTH_CORNER_L)[1] > s
    assert moved("mouthStretchRight", T.MOUTH_CORNER_R)[0] < -s
    # cheek puff pushes the cheeks outwards
    assert moved("cheekPuff", T.CHEEK_L)[0] > s and moved("cheekPuff", T.CHEEK_R)[0] < -s
    # pucker narrows the mouth
    assert moved("mouthPucker", T.MOUTH_CORNER_L)[0] < -s
    assert moved("mouthPucker", T.MOUTH_CORNER_R)[0] > s


def test_rolls_thin_the_lips(face, deltas):
    def thick(lm, outer, inner):
        return abs(lm[outer, 1] - lm[inner, 1])

    lm = rig.deform(face, deltas, w_of(mouthRollLower=1.0))
    assert thick(lm, 17, 14) < 0.6 * thick(face, 17, 14)
    lm = rig.deform(face, deltas, w_of(mouthRollUpper=1.0))
    assert thick(lm, 0, 13) < 0.6 * thick(face, 0, 13)


def test_mouth_close_closes_an_open_jaw(face, deltas):
    open_ = rig.deform(face, deltas, w_of(jawOpen=1.0))
    closed = rig.deform(face, deltas, w_of(jawOpen=1.0, mouthClose=1.0))
    gap_open = open_[14, 1] - open_[13, 1]
    gap_closed = closed[14, 1] - closed[13, 1]
    assert gap_open > 0.1 * iod(face) and abs(gap_closed) < 0.02 * gap_open
    assert closed[T.CHIN, 1] - face[T.CHIN, 1] > 0.5 * (open_[T.CHIN, 1] - face[T.CHIN, 1])


def test_every_control_moves_its_region_only(face, deltas):
    eye_pts = list(T.EYE_OPENING_L + T.EYE_OPENING_R + T.BROW_L + T.BROW_R + T.IRIS)
    mouth_pts = list(set(T.LIP_OUTER_UPPER + T.LIP_OUTER_LOWER + T.LIP_INNER_UPPER
                         + T.LIP_INNER_LOWER + (T.CHIN, T.CHEEK_L, T.CHEEK_R)))
    for c in CONTROLS:
        # jawForward moves towards the camera: in depth, barely in the image plane
        d = np.linalg.norm(deltas[INDEX[c.name], :, :3 if c.name == "jawForward" else 2],
                           axis=1)
        own, other = (eye_pts, mouth_pts) if c.region in ("eyes", "brows") else (mouth_pts,
                                                                                 eye_pts)
        assert d[own].max() > 0.03 * iod(face), c.name
        if c.name.startswith("mouthSmile"):
            continue  # a smile raises the cheek and lower lid a little, by design
        if c.name.startswith("cheekSquint"):  # by design it lifts the cheek as well
            other = [i for i in other if i not in (T.CHEEK_L, T.CHEEK_R)]
        if c.name.startswith("noseSneer"):  # ... and a sneer dips the inner brow
            other = [i for i in other if i not in T.BROW_L + T.BROW_R]
        assert d[other].max() < 0.01 * iod(face), c.name
    gaze = [INDEX[n] for n in CONTROL_NAMES if n.startswith("eyeLook")]
    others = [i for i in range(C) if i not in gaze]
    assert np.abs(deltas[others][:, 468:]).max() == 0.0  # irises move with gaze only


def test_random_weights_stay_physical(face, deltas):
    rng = np.random.default_rng(0)
    down = FaceFrame.from_landmarks(face).axes[1]
    for _ in range(200):
        w = rng.uniform(0, 1, C) * (rng.uniform(0, 1, C) < 0.4)
        lm = rig.deform(face, deltas, w)
        for up, lo in ((T.EYE_UPPER_L, T.EYE_LOWER_L), (T.EYE_UPPER_R, T.EYE_LOWER_R),
                       (T.LIP_INNER_UPPER, T.LIP_INNER_LOWER)):
            gap = (lm[list(lo[1:-1])] - lm[list(up[1:-1])]) @ down
            assert gap.min() > -1e-3
        for outer, inner, sign in ((T.LIP_OUTER_UPPER, T.LIP_INNER_UPPER, 1),
                                   (T.LIP_OUTER_LOWER, T.LIP_INNER_LOWER, -1)):
            d = sign * (lm[list(inner[1:-1])] - lm[list(outer[1:-1])]) @ down
            assert d.min() > -1e-3


def test_rolled_face_gives_rolled_fields(face):
    """The rig lives in the face's own frame: rolling the photo rolls the fields."""
    ang = np.deg2rad(12.0)
    rot = np.array([[np.cos(ang), -np.sin(ang)], [np.sin(ang), np.cos(ang)]])
    p2 = face[:, :2]
    c = p2.mean(0)
    rolled = (p2 - c) @ rot.T + c
    d0 = rig.control_deltas(p2)
    d1 = rig.control_deltas(rolled)
    assert np.abs(d0 @ rot.T - d1).max() < 1e-3 * iod(face)


def test_scale_invariant(face):
    d0 = rig.control_deltas(face)
    d1 = rig.control_deltas(face * 2.0)
    assert np.allclose(2.0 * d0, d1, atol=1e-3)
