"""The demo character: rig behaviour seen through its projected landmarks and its renders."""
from __future__ import annotations

import numpy as np
import pytest

from lprr.engine.controls import CONTROL_NAMES, INDEX
from lprr.engine.face import topology as T
from lprr.engine.world.character import CameraPose, DemoCharacter

C = len(CONTROL_NAMES)


@pytest.fixture(scope="module")
def ch():
    return DemoCharacter(256)


def w_of(**kw) -> np.ndarray:
    w = np.zeros(C)
    for k, v in kw.items():
        w[INDEX[k]] = v
    return w


def lid_gap(lm, side):
    up, lo = (T.EYE_UPPER_L, T.EYE_LOWER_L) if side == "Left" else (T.EYE_UPPER_R, T.EYE_LOWER_R)
    return np.linalg.norm(lm[list(up[1:-1]), :2] - lm[list(lo[1:-1]), :2], axis=1)


def poly_area(p):
    x, y = p[:, 0], p[:, 1]
    return 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def colour_mask(img, bgr, tol=40):
    return (np.abs(img.astype(int) - np.array(bgr)).max(axis=2) < tol)


def test_base_mesh_is_stylised(ch):
    b = ch.base
    # symmetric about u = 0
    assert abs(b[263, 0] + b[33, 0]) < 1e-4 and abs(b[T.NOSE_TIP, 0]) < 1e-6
    eye_w = np.linalg.norm(b[263, :2] - b[362, :2])
    mouth_w = np.linalg.norm(b[291, :2] - b[61, :2])
    # a human eye is ~0.45 IOD wide and a mouth ~0.9-1.0 IOD; ours are cartoon-sized
    assert eye_w > 0.6 and mouth_w > 1.05


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_lids_meet_at_blink(ch, side):
    open_ = ch.landmarks(w_of())
    assert lid_gap(open_, side).max() > 5.0  # pixels at 256
    for extra in ({}, {f"eyeSquint{side}": 1.0}, {f"eyeLookUp{side}": 1.0}):
        lm = ch.landmarks(w_of(**{f"eyeBlink{side}": 1.0}, **extra), CameraPose(yaw=6, roll=3))
        assert lid_gap(lm, side).max() < 1e-3
    other = "Right" if side == "Left" else "Left"
    assert lid_gap(ch.landmarks(w_of(**{f"eyeBlink{side}": 1.0})), other).max() > 5.0


def test_blink_hides_the_eyeball(ch):
    img_open, lm = ch.render(w_of())
    img_shut, _ = ch.render(w_of(eyeBlinkLeft=1.0))
    x0, y0 = lm[list(T.EYE_OPENING_L), :2].min(0).astype(int) - 3
    x1, y1 = lm[list(T.EYE_OPENING_L), :2].max(0).astype(int) + 3
    sclera = ch.look.sclera
    assert colour_mask(img_open[y0:y1, x0:x1], sclera).sum() > 30
    assert colour_mask(img_shut[y0:y1, x0:x1], sclera).sum() == 0
    assert colour_mask(img_shut[y0:y1, x0:x1], ch.look.iris).sum() == 0


def test_mouth_opening_grows_with_jaw(ch):
    areas = [poly_area(ch.landmarks(w_of(jawOpen=j))[list(T.MOUTH_OPENING), :2])
             for j in np.linspace(0, 1, 11)]
    assert areas[0] < 5.0
    assert np.all(np.diff(areas) > 0), areas
    assert areas[-1] > 400.0  # px^2 at 256


def test_open_jaw_shows_dark_mouth_and_teeth(ch):
    lm = ch.landmarks(w_of(jawOpen=1.0))
    x0, y0 = lm[list(T.LIP_OUTER_UPPER + T.LIP_OUTER_LOWER), :2].min(0).astype(int)
    x1, y1 = lm[list(T.LIP_OUTER_UPPER + T.LIP_OUTER_LOWER), :2].max(0).astype(int)
    closed, _ = ch.render(w_of())
    opened, _ = ch.render(w_of(jawOpen=1.0))
    for img, expect in ((closed, False), (opened, True)):
        crop = img[y0:y1, x0:x1]
        teeth = colour_mask(crop, ch.look.teeth, 25).sum()
        dark = colour_mask(crop, ch.look.mouth, 25).sum()
        assert (teeth > 40 and dark > 100) == expect, (teeth, dark)
    # both rows: teeth pixels above and below the middle of the opening
    mid = int(0.5 * (lm[13, 1] + lm[14, 1]))
    teeth = colour_mask(opened, ch.look.teeth, 25)
    assert teeth[y0:mid, x0:x1].sum() > 20 and teeth[mid:y1, x0:x1].sum() > 20


def test_every_control_changes_the_render(ch):
    neutral, _ = ch.render(w_of())
    for name in CONTROL_NAMES:
        img, _ = ch.render(w_of(**{name: 1.0}))
        diff = np.abs(img.astype(int) - neutral.astype(int)).max(axis=2) > 20
        assert diff.sum() > 30, name
        xs = np.nonzero(diff)[1]
        if name.endswith("Left"):  # the subject's left is the image right
            assert xs.mean() > 128, name
        elif name.endswith("Right"):
            assert xs.mean() < 128, name


@pytest.mark.parametrize("side", ["Left", "Right"])
def test_gaze_moves_the_iris(ch, side):
    iris = T.IRIS_CENTER_L if side == "Left" else T.IRIS_CENTER_R
    toward_nose = -1.0 if side == "Left" else 1.0  # image x direction of the nose
    base = ch.landmarks(w_of())[iris]
    neutral_img, _ = ch.render(w_of())

    def iris_centroid(img):
        m = colour_mask(img, ch.look.iris, 40)
        half = (slice(None), slice(128, None)) if side == "Left" else (slice(None), slice(0, 128))
        ys, xs = np.nonzero(m[half])
        return np.array([xs.mean() + (128 if side == "Left" else 0), ys.mean()])

    c0 = iris_centroid(neutral_img)
    for look, axis, sign in (("In", 0, toward_nose), ("Out", 0, -toward_nose),
                             ("Up", 1, -1.0), ("Down", 1, 1.0)):
        w = w_of(**{f"eyeLook{look}{side}": 1.0})
        moved = ch.landmarks(w)[iris] - base
        assert sign * moved[axis] > 2.0, (look, moved)
        img, _ = ch.render(w)
        c = iris_centroid(img) - c0
        assert sign * c[axis] > 1.0, (look, c)
    # the iris does not move with the blink
    lm = ch.landmarks(w_of(**{f"eyeBlink{side}": 1.0}))
    assert np.allclose(lm[iris], base, atol=1e-4)


def test_export_obj(ch, tmp_path):
    paths = ch.export_obj(tmp_path)
    assert len(paths) == 1 + C
    assert paths[0].name == "neutral.obj"
    counts, shapes = set(), {}
    for p in paths:
        lines = p.read_text().splitlines()
        v = np.array([[float(x) for x in ln.split()[1:]] for ln in lines if ln.startswith("v ")])
        f = [ln for ln in lines if ln.startswith("f ")]
        counts.add((len(v), len(f)))
        shapes[p.stem] = v
    assert len(counts) == 1
    n_v, n_f = counts.pop()
    assert n_v >= 478 and n_f >= len(T.TRIANGLES)
    assert np.abs(shapes["eyeBlinkLeft"] - shapes["neutral"]).max() > 0.05
    assert np.abs(shapes["eyeBlinkRight"] - shapes["neutral"])[:468].max() > 0.05
    assert np.allclose(shapes["eyeBlinkLeft"][list(T.EYE_OPENING_R)],
                       shapes["neutral"][list(T.EYE_OPENING_R)])


def test_deterministic(ch):
    rng = np.random.default_rng(3)
    w = rng.uniform(0, 1, C)
    cam = CameraPose.jitter(np.random.default_rng(5), 1.0)
    a, la = ch.render(w, cam)
    b, lb = ch.render(w.copy(), cam)
    c, lc = DemoCharacter(256).render(w, cam)
    assert np.array_equal(a, b) and np.array_equal(a, c)
    assert np.array_equal(la, lb) and np.array_equal(la, lc)
    assert np.allclose(la, ch.landmarks(w, cam), atol=1e-3)
    assert a.shape == (256, 256, 3) and a.dtype == np.uint8 and la.shape == (478, 3)


def test_camera_moves_landmarks(ch):
    lm0 = ch.landmarks(w_of())
    lm1 = ch.landmarks(w_of(), CameraPose(tx=0.05))
    assert np.allclose(lm1[:, 0] - lm0[:, 0], 0.05 * 256, atol=1e-3)
    lm2 = ch.landmarks(w_of(), CameraPose(yaw=10))
    # turning towards the image right moves the nose tip right of the eyes' midpoint
    mid = 0.5 * (lm2[T.IRIS_CENTER_L, 0] + lm2[T.IRIS_CENTER_R, 0])
    assert lm2[T.NOSE_TIP, 0] > mid + 2
    poses = [CameraPose.jitter(np.random.default_rng(i), 1.0) for i in range(20)]
    assert all(abs(p.yaw) < 25 and abs(p.roll) < 15 and 0.8 < p.scale < 1.25 for p in poses)
    # the face stays in the frame
    for p in poses:
        lm = ch.landmarks(w_of(jawOpen=1.0), p)
        assert lm[:, :2].min() > 0 and lm[:, :2].max() < 256


def test_render_speed(ch):
    from conftest import cost_ratio, remap_256

    rng = np.random.default_rng(0)
    ws = rng.uniform(0, 1, (10, C)) * (rng.uniform(0, 1, (10, C)) < 0.3)
    ch.render(ws[0])

    def render() -> None:
        for w in ws:
            ch.render(w, CameraPose.jitter(rng, 1.0))

    # a 256x256 frame costs about 12 bilinear remaps of the same size (3.5 ms when
    # written): measured against the same machine, not the wall clock
    assert cost_ratio(render, remap_256(len(ws))) < 80
