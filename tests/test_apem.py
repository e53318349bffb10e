"""APEM on real photos: the patches hold their region, upright and steady."""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from lprr.engine.face import topology as L
from lprr.engine.face.apem import PATCH_NAMES, PATCH_SIZE, Apem, PatchFrame, crop, map_points
from lprr.engine.face.landmarks import FaceLandmarker


@pytest.fixture(scope="module")
def static_lm():
    with FaceLandmarker(static=True) as lm:
        yield lm


def _patches(lm, img):
    pts = lm.detect(img)
    assert pts is not None, "expected a face"
    return pts, crop(img, PatchFrame.from_landmarks(pts))


def _in_middle_third(p: np.ndarray) -> bool:
    lo, hi = PATCH_SIZE / 3, 2 * PATCH_SIZE / 3
    return bool(lo <= p[0] <= hi and lo <= p[1] <= hi)


@pytest.mark.parametrize("photo", ["grace_hopper", "astronaut"])
def test_patches_hold_their_regions(request, static_lm, photo):
    img = request.getfixturevalue(photo)
    pts, res = _patches(static_lm, img)
    for name in PATCH_NAMES:
        assert res.images[name].shape == (PATCH_SIZE, PATCH_SIZE, 3)
        assert res.images[name].dtype == np.uint8
    iris_l = map_points(res.transforms["eye_l"], pts[[L.IRIS_CENTER_L]])[0]
    iris_r = map_points(res.transforms["eye_r"], pts[[L.IRIS_CENTER_R]])[0]
    assert _in_middle_third(iris_l), iris_l
    assert _in_middle_third(iris_r), iris_r
    corners = map_points(res.transforms["lip"], pts[[L.MOUTH_CORNER_L, L.MOUTH_CORNER_R]])
    assert np.all((corners > 4) & (corners < PATCH_SIZE - 4)), corners
    # Subject's left corner sits on the image right of an unmirrored patch.
    assert corners[0, 0] > corners[1, 0]


def _rotate(img: np.ndarray, deg: float) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), deg, 1.0)
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)


@pytest.mark.parametrize("deg", [20, -20])
def test_rotated_photo_gives_upright_patch(static_lm, grace_hopper, deg):
    rotated = _rotate(grace_hopper, deg)
    pts, res = _patches(static_lm, rotated)
    # The frame really turned: the eye line is about `deg` off horizontal in the image.
    assert abs(abs(math.degrees(res.frame.angle)) - abs(deg)) < 5
    for name in ("eye_l", "eye_r", "lip"):
        a, b = map_points(res.transforms[name], pts[[L.EYE_OUTER_R, L.EYE_OUTER_L]])
        tilt = math.degrees(math.atan2(b[1] - a[1], b[0] - a[0]))
        assert abs(tilt) < 3.0, (name, tilt)


def test_half_scale_photo_gives_the_same_patch(static_lm, grace_hopper):
    pts, full = _patches(static_lm, grace_hopper)
    small_img = cv2.resize(grace_hopper, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    pts2, half = _patches(static_lm, small_img)
    for name in PATCH_NAMES:
        # Geometry: the region's landmarks land on the same patch pixels (< 2 px of 128).
        a = map_points(full.transforms[name], pts)
        b = map_points(half.transforms[name], pts2)
        assert np.median(np.linalg.norm(a - b, axis=1)) < 2.0, name
        # Appearance: the same picture; the half-size source is only blurrier.
        diff = np.abs(full.images[name].astype(float) - half.images[name].astype(float))
        assert diff.mean() < 12.0, (name, diff.mean())


def test_no_face_is_a_normal_result():
    from skimage import data

    coffee = np.ascontiguousarray(data.coffee()[:, :, ::-1])
    with FaceLandmarker(static=True) as lm:
        assert lm.detect(coffee) is None
    assert Apem()(coffee, None, 0.0) is None


def _patch_motion_px(transforms: list[np.ndarray]) -> float:
    """Mean frame-to-frame motion of the patch's corners, in patch pixels."""
    corners = np.array([[0, 0], [PATCH_SIZE, 0], [0, PATCH_SIZE], [PATCH_SIZE, PATCH_SIZE]])
    inv = [cv2.invertAffineTransform(m) for m in transforms]
    moves = []
    for a, b, m in zip(inv[1:], inv[:-1], transforms[1:]):
        k = float(np.hypot(*m[0, :2]))  # patch pixels per image pixel
        moves.append(np.linalg.norm(map_points(a, corners) - map_points(b, corners), axis=1)
                     .mean() * k)
    return float(np.mean(moves))


def test_still_video_gives_still_patches(grace_hopper):
    """30 noisy copies of one photo, tracked as a video, must give a still patch.

    Thresholds:
    - geometry: the patch window moves by under 0.2 patch pixels a frame on average. A
      fifth of a pixel is below what bilinear resampling shows, and it is well under the
      unstabilised crop, which the test also measures.
    - pixels: sensor noise alone (sigma 3 grey levels) changes a patch between frames; we
      measure that floor with ONE fixed crop, and allow 25% + 0.3 levels above it (the
      slow settling drift of MediaPipe's tracker over the first frames).
    """
    rng = np.random.default_rng(0)
    frames = [
        np.clip(grace_hopper + rng.normal(0, 3, grace_hopper.shape), 0, 255).astype(np.uint8)
        for _ in range(30)
    ]
    apem = Apem()
    tracked, fixed, moved = [], [], []
    with FaceLandmarker(static=False) as lm:
        first = None
        for i, f in enumerate(frames):
            pts = lm.detect(f)
            assert pts is not None
            res = apem(f, pts, i / 30.0)
            first = first or res.frame
            tracked.append(res.stacked().astype(np.float32))
            moved.append(res.transforms["lip"])
            fixed.append(crop(f, first).stacked().astype(np.float32))

    def motion(seq):
        return float(np.mean([np.abs(a - b).mean() for a, b in zip(seq[1:], seq[:-1])]))

    floor, still = motion(fixed), motion(tracked)
    assert still < 1.25 * floor + 0.3, (still, floor)
    assert _patch_motion_px(moved) < 0.2

    # Without stabilisation the raw per-frame transform is measurably shakier.
    raw, raw_moved = [], []
    with FaceLandmarker(static=False) as lm:
        for f in frames:
            res = crop(f, PatchFrame.from_landmarks(lm.detect(f)))
            raw.append(res.stacked().astype(float))
            raw_moved.append(res.transforms["lip"])
    assert motion(raw) > still
    assert _patch_motion_px(raw_moved) > 2 * _patch_motion_px(moved)


def test_stabiliser_holds_a_repeated_time_and_starts_over_when_time_goes_back(static_lm,
                                                                              grace_hopper):
    """APEM smooths the face frame with the post-processing's One Euro filter, so both
    treat time alike: a repeated timestamp holds, an earlier one starts over."""
    pts = static_lm.detect(grace_hopper)
    assert pts is not None
    moved = pts.copy()
    moved[:, 0] += 20.0  # the head moves 20 px right
    apem = Apem()
    x0 = apem(grace_hopper, pts, 1.0).frame.cx
    lag = apem(grace_hopper, moved, 1.0 + 1 / 30).frame.cx
    assert x0 < lag < x0 + 20 - 1  # smoothed: it lags the move
    held = apem(grace_hopper, pts, 1.0 + 1 / 30).frame.cx
    assert held == pytest.approx(lag)  # the same timestamp again: held
    back = apem(grace_hopper, moved, 0.5).frame.cx  # earlier: a new timeline, no lag
    assert back == pytest.approx(x0 + 20, abs=1e-3)
