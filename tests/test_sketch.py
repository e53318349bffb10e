"""Landmark sketches (the RM's geometric input) and the performer->character sketch map."""
from __future__ import annotations

import numpy as np
import pytest

from lprr.engine.face.apem import PATCH_NAMES, PatchFrame, crop
from lprr.engine.face.landmarks import FaceLandmarker
from lprr.engine.face.sketch import SketchMap, draw_sketch, patch_sketches, sketches, to_patch
from lprr.engine.face.topology import LIP_INNER_LO, LIP_INNER_UP


@pytest.fixture(scope="module")
def face(grace_hopper):
    with FaceLandmarker(static=True) as lm:
        pts = lm.detect(grace_hopper)
    return pts, crop(grace_hopper, PatchFrame.from_landmarks(pts))


def test_sketch_is_registered_with_the_patch(face):
    pts, cut = face
    sk = patch_sketches(pts, cut.transforms)
    assert set(sk) == set(PATCH_NAMES)
    for name, img in sk.items():
        assert img.shape == (128, 128) and img.dtype == np.uint8
        assert (img > 0).sum() > 150, name  # contours drawn, not a blank channel
    # The inner-lip landmarks fall on drawn pixels of the lip sketch.
    lip = to_patch(pts, cut.transforms)[PATCH_NAMES.index("lip")]
    for i in (LIP_INNER_UP, LIP_INNER_LO):
        x, y = np.round(lip[i]).astype(int)
        assert sk["lip"][y - 1:y + 2, x - 1:x + 2].max() > 0


def test_open_mouth_draws_a_gap(face):
    pts, cut = face
    lip = to_patch(pts, cut.transforms)[PATCH_NAMES.index("lip")]
    opened = lip.copy()
    opened[LIP_INNER_LO] += (0, 12)  # drop the lower inner lip
    a, b = draw_sketch(lip), draw_sketch(opened)
    assert (a != b).sum() > 20


def test_sketch_map_moves_rest_shapes_and_scales_motion():
    rng = np.random.default_rng(0)
    perf = rng.normal(64, 10, (1, 3, 478, 2)).astype(np.float32)
    char = (64 + 1.5 * (perf - 64) + 3).astype(np.float32)  # bigger and shifted
    perf_many = np.repeat(perf, 5, axis=0)
    m = SketchMap.fit(perf_many, np.repeat(char, 5, axis=0))
    np.testing.assert_allclose(m.scale, 1.5, rtol=1e-4)
    np.testing.assert_allclose(m.apply(perf[0]), char[0], atol=1e-3)
    moved = perf[0].copy()
    moved[:, 10] += (0, 2)  # a performer displacement of 2 px
    np.testing.assert_allclose(m.apply(moved)[:, 10] - char[0][:, 10], [[0, 3]] * 3, atol=1e-3)
    same = SketchMap.fit(perf_many, perf_many)
    np.testing.assert_allclose(same.apply(perf[0]), perf[0], atol=1e-4)


def test_sketch_map_round_trips_through_npz(tmp_path, face):
    pts, cut = face
    lm = to_patch(pts, cut.transforms)[None]
    m = SketchMap.fit(lm, 1.5 * lm + 1)  # a scale other than 1, so losing it would show
    again = SketchMap.load(m.save(tmp_path / "sketch.npz"))
    np.testing.assert_array_equal(sketches(lm[0], m), sketches(lm[0], again))


def _blinking(base: np.ndarray, closure: np.ndarray, travel: float) -> np.ndarray:
    """(N,3,478,2) frames of ``base`` whose left upper lid drops ``travel * closure`` px and
    whose left brow follows it a third of the way."""
    from lprr.engine.face import topology as T

    frames = np.repeat(base[None], len(closure), axis=0).astype(np.float32)
    frames[:, :, list(T.EYE_UPPER_L[1:-1]), 1] += travel * closure[:, None, None]
    frames[:, :, list(T.BROW_L), 1] += travel / 3 * closure[:, None, None]
    return frames


def test_range_matching_closes_an_under_tracked_blink(face, tmp_path):
    """The performer's lids travel a third of the character's (as MediaPipe tracks a real
    blink); after the map, the performer's fullest blink draws the character's."""
    from lprr.engine.face import topology as T
    from lprr.engine.face.sketch import openings

    pts, cut = face
    base = to_patch(pts, cut.transforms)
    rng = np.random.default_rng(1)
    closure = np.where(rng.random(3000) < 0.05, rng.uniform(0.8, 1.0, 3000),
                       rng.uniform(0.0, 0.2, 3000))
    char = _blinking(base, closure, 12.0)
    perf = _blinking(base, rng.permutation(closure), 4.0)  # same habits, other frames
    m = SketchMap.fit(perf, char)
    eye = 0  # OPENINGS[0]: the left lids
    k = PATCH_NAMES.index("eye_l")
    blink = _blinking(base, np.array([1.0]), 4.0)[0]
    full = openings(m.apply(blink))[k, eye]
    rest = openings(m.apply(base))[k, eye]
    want_full = openings(_blinking(base, np.array([1.0]), 12.0)[0])[k, eye]
    want_rest = openings(base)[k, eye]
    assert abs(full - want_full) < 0.6, (full, want_full)
    assert abs(rest - want_rest) < 0.6, (rest, want_rest)
    # Only the lid contour is moved: the brow, though it moves with the character's blinks,
    # is left where the linear map puts it.
    brow = list(T.BROW_L)
    np.testing.assert_allclose(m.apply(blink)[:, brow], m.linear(blink)[:, brow], atol=1e-4)
    # Without range matching (the linear map alone) the blink stays a third closed.
    lin = openings(m.linear(blink))[k, eye]
    assert lin - want_full > 5.0
    again = SketchMap.load(m.save(tmp_path / "sketch.npz"))
    np.testing.assert_allclose(again.apply(base), m.apply(base))
