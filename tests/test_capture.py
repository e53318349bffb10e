"""Capture: real video files written with cv2.VideoWriter, image folders, generators."""
from __future__ import annotations

import itertools
import logging
import re
import time

import cv2
import numpy as np
import pytest

from lprr.engine.capture import (
    CameraInfo,
    Capture,
    GeneratorSource,
    ImageFolderSource,
    VideoFileSource,
    list_cameras,
    open_source,
)
from lprr.engine.errors import UserError

W, H = 64, 48


def _frame(i: int) -> np.ndarray:
    """Frame i: the left half has brightness 8*i, the right half is black (to see mirroring)."""
    img = np.zeros((H, W, 3), np.uint8)
    img[:, : W // 2] = min(255, 8 * i)
    return img


def _brightness(img: np.ndarray) -> float:
    return float(img[:, : W // 2].mean())


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    p = tmp_path_factory.mktemp("vid") / "clip.avi"
    w = cv2.VideoWriter(str(p), cv2.VideoWriter_fourcc(*"MJPG"), 30.0, (W, H))
    assert w.isOpened()
    for i in range(30):
        w.write(_frame(i))
    w.release()
    return p


def test_no_drop_delivers_every_frame_in_order(video):
    src = open_source(video)
    assert isinstance(src, VideoFileSource) and src.fps == pytest.approx(30.0) and len(src) == 30
    with Capture(src, drop=False) as cap:
        frames = list(cap)
    assert [f.index for f in frames] == list(range(30))
    b = [_brightness(f.image) for f in frames]
    assert all(abs(x - min(255, 8 * i)) < 6 for i, x in enumerate(b))  # MJPG is lossy
    assert [f.media_t for f in frames] == pytest.approx([i / 30 for i in range(30)])
    assert all(a.t <= b.t for a, b in itertools.pairwise(frames))
    assert cap.dropped == 0 and cap.delivered == cap.frames_read == 30
    assert cap.finished and not cap.running and cap.error is None


def test_mirror_flips_horizontally(video):
    with Capture(video, mirror=True, drop=False) as cap:
        f = [cap.read(timeout=2) for _ in range(11)][-1]
    assert f.image[:, W // 2:].mean() > 60 and f.image[:, : W // 2].mean() < 10


def test_latest_frame_mode_drops_for_a_slow_consumer(video):
    with Capture(video, drop=True, realtime=False) as cap:
        seen = []
        while (f := cap.read(timeout=2)) is not None:
            seen.append(f.index)
            time.sleep(0.02)  # slower than the reader thread
    assert seen == sorted(seen) and len(set(seen)) == len(seen)
    assert cap.frames_read == 30
    assert cap.dropped > 0 and cap.delivered + cap.dropped == 30
    assert seen[-1] == 29  # the newest frame is never lost


def test_realtime_pacing_follows_file_fps(video):
    # Pacing holds frame i back until i/fps after the start: a lower bound on its capture
    # time that a busy machine can only make later, never earlier (no upper bound: a
    # loaded box may run late, and that is not what this tests).
    t0 = time.monotonic()
    with Capture(video, drop=False, realtime=True) as cap:
        frames = list(cap)
    assert [f.index for f in frames] == list(range(30)) and cap.dropped == 0
    assert [f.media_t for f in frames] == pytest.approx([i / 30 for i in range(30)])
    early = [f.index for f in frames if f.t - t0 < f.index / 30 - 1e-3]
    assert not early, f"frames captured before their media time: {early}"
    assert cap.fps > 0
    # unpaced, the same file is not held back: it ends before the paced run's last frame
    t1 = time.monotonic()
    with Capture(video, drop=False, realtime=False) as cap:
        assert sum(1 for _ in cap) == 30
    assert time.monotonic() - t1 < frames[-1].t - t0


def test_stop_is_clean_and_fast():
    frames = (_frame(i % 30) for i in range(10**9))  # endless, paced at 30 fps
    cap = Capture(GeneratorSource(frames, fps=30.0), drop=True).start()
    assert cap.read(timeout=2) is not None
    t0 = time.monotonic()
    cap.stop()
    assert time.monotonic() - t0 < 1.0 and not cap.running
    assert cap.read(timeout=0.1) is None and cap.finished
    # a no-drop capture blocked on a full queue stops just as fast
    cap = Capture(GeneratorSource(lambda: _frame(1), fps=1000.0), drop=False, queue_size=2)
    cap.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    cap.stop()
    assert time.monotonic() - t0 < 1.0 and not cap.running


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make, msg", [
    (lambda d: d / "missing.mp4", "no such file or folder"),
    (lambda d: _write(d / "corrupt.mp4", np.random.default_rng(0).bytes(20000)),
     "cannot (open|read) video"),
    (lambda d: _write(d / "empty.avi", b""), "cannot (open|read) video"),
    (lambda d: (d / "nothing").mkdir() or d / "nothing", "no images in"),
])
def test_bad_sources_are_one_line_user_errors(tmp_path, make, msg):
    with pytest.raises(UserError, match=msg) as e:
        Capture(make(tmp_path))
    assert "\n" not in str(e.value)


def test_image_folder_in_natural_order(tmp_path):
    for i in (1, 2, 10, 3):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), _frame(i))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    src = open_source(tmp_path)
    assert isinstance(src, ImageFolderSource) and src.fps == 30.0
    with Capture(src, drop=False) as cap:
        frames = list(cap)
    assert [round(_brightness(f.image) / 8) for f in frames] == [1, 2, 3, 10]
    assert src.unreadable == 1
    # broken.png sorts first: the frames keep their places in the folder
    assert [f.index for f in frames] == [1, 2, 3, 4]
    assert [f.media_t for f in frames] == pytest.approx([1 / 30, 2 / 30, 3 / 30, 4 / 30])


def _corrupt_frames(path, frames: set[int]) -> None:
    """Destroy the JPEG data of the given frames of an MJPG AVI (its SOI markers in order)."""
    data = bytearray(path.read_bytes())
    starts = [m.start() for m in re.finditer(rb"\xff\xd8\xff", bytes(data))]
    for k in frames:
        data[starts[k]:starts[k] + 200] = bytes(200)
    path.write_bytes(bytes(data))


def test_undecodable_frames_mid_video_are_skipped_and_later_frames_keep_their_index(
        video, tmp_path, caplog):
    bad = tmp_path / "bad.avi"
    bad.write_bytes(video.read_bytes())
    _corrupt_frames(bad, {10, 20, 21})
    with caplog.at_level(logging.WARNING, logger="lprr.engine.capture"):
        with Capture(bad, drop=False) as cap:
            frames = list(cap)
    expect = [i for i in range(30) if i not in (10, 20, 21)]
    assert [f.index for f in frames] == expect
    assert [round(_brightness(f.image) / 8) for f in frames] == expect  # the right images
    assert [f.media_t for f in frames] == pytest.approx([i / 30 for i in expect])
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 2, warnings
    assert "frame 10" in warnings[0] and "frames 20-21" in warnings[1]


def test_generator_sources():
    def gen():
        for i in range(5):
            yield _frame(i)

    counter = iter(range(4))

    def per_call():
        i = next(counter, None)
        return None if i is None else _frame(i)

    for spec, n in ((gen, 5), (gen(), 5), ([_frame(i) for i in range(3)], 3), (per_call, 4)):
        with Capture(GeneratorSource(spec, fps=100.0), drop=False) as cap:
            got = [round(_brightness(f.image) / 8) for f in cap]
        assert got == list(range(n))


def test_generator_error_is_reported_not_raised():
    def bad():
        yield _frame(0)
        raise RuntimeError("puppet crashed")

    with Capture(GeneratorSource(bad, fps=100.0), drop=False) as cap:
        frames = list(cap)
    assert len(frames) == 1 and isinstance(cap.error, RuntimeError)


def test_list_cameras_and_missing_camera():
    import os
    import sys

    cams = list_cameras(max_index=5)
    indices = [c.index for c in cams]
    assert indices == sorted(set(indices)) and all(0 <= i < 5 for i in indices)
    for c in cams:  # only cameras that opened and delivered a frame are listed
        assert isinstance(c, CameraInfo) and c.width > 0 and c.height > 0 and c.backend
    if sys.platform.startswith("linux"):  # probing skips indices without a device node
        assert all(os.path.exists(f"/dev/video{i}") for i in indices)
        if not any(os.path.exists(f"/dev/video{i}") for i in range(5)):
            assert cams == []
    assert list_cameras(max_index=0) == []
    missing = next(i for i in range(20, 40) if i not in {c.index for c in cams})
    with pytest.raises(UserError, match=f"cannot open camera {missing}"):
        open_source(str(missing))


def test_truncated_video_says_how_many_frames_it_read(tmp_path, caplog):
    import logging

    clip = tmp_path / "cut.avi"
    vw = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (64, 48))
    for i in range(40):
        vw.write(_frame(i % 30))
    vw.release()
    data = clip.read_bytes()
    clip.write_bytes(data[: len(data) // 2])  # cut off half the frames, keep the header
    with caplog.at_level(logging.WARNING):
        src = open_source(clip)
        n = len(list(src))
    assert 0 < n < 40
    msgs = [r.getMessage() for r in caplog.records if "ended early" in r.getMessage()]
    assert len(msgs) == 1 and "40 frames" in msgs[0] and f"{n} were decodable" in msgs[0]


def test_paced_no_drop_goes_on_at_fps_after_a_stall():
    """Every frame, paced: a consumer that stalls gets the frames after at fps again, not a
    burst that catches up with the schedule (the GUI playing a file after a slow stretch)."""
    fps, n = 50.0, 40
    frame = np.zeros((8, 8, 3), np.uint8)
    cap = Capture(GeneratorSource(itertools.repeat(frame, n), fps=fps), drop=False,
                  realtime=True).start()
    first = cap.read(timeout=2)
    time.sleep(0.4)  # 20 frame intervals
    got = [first, *iter(cap)]
    assert [f.index for f in got] == list(range(n))  # nothing dropped
    # After the queued frames, the reader went back to one frame every 1/fps.
    t = [f.t for f in got[8:]]
    assert t[-1] - t[0] >= 0.85 * (len(t) - 1) / fps
