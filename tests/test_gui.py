"""The Qt GUI (pytest-qt, offscreen): real pipeline on the demo clip, real ONNX Runtime,
real MediaPipe, real python-osc servers."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pytestqt")
pytest.importorskip("pyqtgraph")

from PySide6.QtCore import Qt

from lprr.app.gui.main_window import DEMO_CLIP, MainWindow
from lprr.engine.controls import CONTROL_NAMES, EYELID_CONTROLS
from lprr.engine.post.one_euro import SMOOTHING_PRESETS
from lprr.engine.sinks.recorder import read_recording

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not DEMO_CLIP.is_file(), reason="demo clip not built")


@pytest.fixture
def make_window(qtbot, tiny_models):
    windows: list[MainWindow] = []

    def make(models: Path = tiny_models, source: str = str(DEMO_CLIP),
             method: str = "lprr") -> MainWindow:
        win = MainWindow(models=models, source=source, backend="ort-cpu", method=method)
        qtbot.addWidget(win)
        win.show()
        windows.append(win)
        return win

    yield make
    for win in windows:  # closing stops the session; every thread must be gone
        threads = win.session.threads()
        win.close()
        assert not [t.name for t in threads if t.is_alive()]


def _run(qtbot, win: MainWindow, frames: int = 5) -> None:
    win.start()
    qtbot.waitUntil(lambda: win.session.running, timeout=20000)
    qtbot.waitUntil(lambda: win.session.history.total >= frames, timeout=10000)


def _osc_server():
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import ThreadingOSCUDPServer

    got: list[int] = []
    d = Dispatcher()
    d.map("/lprr/weights", lambda _addr, *values: got.append(len(values)))
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), d)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


def test_live_view_curves_patches_and_live_tuning(qtbot, make_window, tmp_path):
    win = make_window()
    rec = tmp_path / "take.csv"
    win.panel.record_edit.setText(str(rec))
    _run(qtbot, win)
    n0 = win.curves.points("jawOpen")
    total0 = win.session.history.total
    qtbot.waitUntil(lambda: win.session.history.total >= total0 + 10, timeout=5000)
    qtbot.waitUntil(lambda: win.curves.points("jawOpen") > n0, timeout=2000)
    assert win.curves.points("eyeBlinkLeft") == win.curves.points("jawOpen")  # both plots fed
    # Views: the annotated source, each patch and its reenacted version, the character.
    assert win.source_view.image is not None and win.source_view.image.std() > 5
    for name in ("lip", "eye_l", "eye_r"):
        src = win.patch_strip.source[name].image
        out = win.patch_strip.reenacted[name].image
        assert src is not None and src.shape == (128, 128, 3) and src.std() > 5, name
        assert out is not None and out.shape == (128, 128, 3), name
    assert win.character_view.image is not None and win.character_view.image.std() > 5
    # Prepared off the GUI thread; the character comes from its own process once it is up.
    assert win.session.presenter.prepared >= 1 and win.meter.drawn >= 1
    qtbot.waitUntil(lambda: win.character.remote_frames > 0, timeout=10000)
    qtbot.waitUntil(lambda: win.fps_pipeline > 5 and win.fps_display > 5, timeout=3000)
    assert "fps" in win.status_labels["fps"].text()
    assert win.status_labels["face"].text() == "face: tracking"

    # Smoothing preset applied live to the running PostProcessor (engine hook).
    win.panel.preset_combo.setCurrentText("heavy")
    assert win.session.post.smoothing["eyes"] == SMOOTHING_PRESETS["heavy"]["eyes"]
    assert win.session.post.smoothing["mouth"] == SMOOTHING_PRESETS["heavy"]["mouth"]
    win.panel.params["mouth"][0].slider.setValue(0)  # min cutoff 0 = mouth unfiltered
    assert win.session.post.smoothing["mouth"][0] == 0.0
    assert win.panel.preset_combo.currentText() == "custom"

    # Mapping table: gain 0 and offset 0.25 on jawOpen reach the output live.
    table = win.panel.mapping_table
    table.set_value("jawOpen", "gain", 0.0)
    table.set_value("jawOpen", "offset", 0.25)
    j = win.session.controls.index("jawOpen")
    mark = win.session.history.total
    qtbot.waitUntil(lambda: win.session.history.total >= mark + 3, timeout=3000)
    _, w = win.session.history.snapshot()
    assert np.allclose(w[-2:, j], 0.25)
    toml = tmp_path / "map.toml"
    assert win.save_mapping(toml)
    assert "[controls.jawOpen]" in toml.read_text()
    table.reset()
    assert table.maps()["jawOpen"].gain == 1.0
    assert win.load_mapping(toml) and table.maps()["jawOpen"].offset == 0.25

    # Record toggle: frames land in the CSV, the file is closed when it is switched off.
    win.panel.record_check.setChecked(True)
    mark = win.session.history.total
    qtbot.waitUntil(lambda: win.session.history.total >= mark + 5, timeout=3000)
    win.panel.record_check.setChecked(False)
    names, rows = read_recording(rec)
    assert names == list(CONTROL_NAMES) and len(rows) >= 4
    assert not win.errors, win.errors


def test_calibration_changes_the_offsets(qtbot, make_window):
    win = make_window()
    _run(qtbot, win)
    assert not any(win.session.neutral_offsets().values())
    win.panel.calib_seconds.setValue(0.3)
    qtbot.mouseClick(win.panel.calibrate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.session.post.calibration.calibrated, timeout=5000)
    off = win.session.neutral_offsets()
    assert max(off.values()) > 0.05  # the random model's resting output is far from 0
    assert all(off[n] == 0 for n in EYELID_CONTROLS)  # blinks must stay possible
    qtbot.waitUntil(lambda: win.panel.mapping_table.neutral("jawOpen") != "", timeout=2000)
    assert float(win.panel.mapping_table.neutral("jawOpen")) == pytest.approx(
        off["jawOpen"], abs=1e-3)


def test_vmc_name_style_from_the_output_controls(qtbot, make_window, tmp_path):
    from pythonosc.dispatcher import Dispatcher
    from pythonosc.osc_server import ThreadingOSCUDPServer

    names: list[str] = []
    d = Dispatcher()
    d.map("/VMC/Ext/Blend/Val", lambda _addr, name, _v: names.append(name))
    server = ThreadingOSCUDPServer(("127.0.0.1", 0), d)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        win = make_window()
        p = win.panel
        p.protocol_combo.setCurrentIndex(p.protocol_combo.findData("vmc"))
        p.names_combo.setCurrentIndex(p.names_combo.findData("pascal"))
        p.port_spin.setValue(server.server_address[1])
        p.send_check.setChecked(True)
        p.emit_output()
        _run(qtbot, win)
        qtbot.waitUntil(lambda: "JawOpen" in names, timeout=5000)
        assert "EyeBlinkLeft" in names and "jawOpen" not in names
        f = tmp_path / "m.toml"  # a mapping file's [rename] table renames on the wire
        f.write_text('[rename]\nJawOpen = "MouthOpen"\n')
        assert win.load_mapping(f)
        qtbot.waitUntil(lambda: "MouthOpen" in names, timeout=5000)
        saved = tmp_path / "saved.toml"
        assert win.save_mapping(saved) and 'JawOpen = "MouthOpen"' in saved.read_text()
        p.protocol_combo.setCurrentIndex(p.protocol_combo.findData("livelink"))
        assert not p.names_combo.isEnabled()  # Live Link's slots are fixed ARKit names
    finally:
        server.shutdown()
        server.server_close()


def test_changing_the_port_redirects_osc_live(qtbot, make_window):
    (s1, got1), (s2, got2) = _osc_server(), _osc_server()
    try:
        win = make_window()
        p = win.panel
        p.host_edit.setText("127.0.0.1")
        p.port_spin.setValue(s1.server_address[1])
        p.send_check.setChecked(True)
        p.emit_output()
        _run(qtbot, win)
        qtbot.waitUntil(lambda: len(got1) >= 3, timeout=5000)
        assert got1[0] == len(CONTROL_NAMES)
        assert not got2
        p.port_spin.setValue(s2.server_address[1])  # applied after the typing debounce
        qtbot.waitUntil(lambda: len(got2) >= 3, timeout=5000)
        n1 = len(got1)
        qtbot.wait(300)
        assert len(got1) == n1  # nothing more to the old port
        assert len(got2) > 3 and win.session.running
        qtbot.waitUntil(lambda: str(s2.server_address[1]) in win.status_labels["output"].text(),
                        timeout=2000)
    finally:
        for s in (s1, s2):
            s.shutdown()
            s.server_close()


def test_close_joins_every_thread(qtbot, make_window):
    """Closing joins every session thread within the session's own budget (closed_cleanly:
    the stop returned before its 1 s deadline with all of them ended)."""
    before = set(threading.enumerate())
    win = make_window()
    _run(qtbot, win)
    threads = win.session.threads()
    assert {"lprr-capture", "lprr-front", "lprr-infer"} <= {t.name for t in threads}
    win.close()
    assert win.closed_cleanly
    assert not [t.name for t in threads if t.is_alive()]
    assert not [t.name for t in threading.enumerate() if t not in before and t.is_alive()]


def test_errors_show_in_the_window(qtbot, make_window, tiny_models, tmp_path):
    bad = tmp_path / "corrupt"
    shutil.copytree(tiny_models, bad)
    data = bytearray((bad / "rm.onnx").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (bad / "rm.onnx").write_bytes(bytes(data))
    win = make_window(models=bad)
    win.start()
    qtbot.waitUntil(lambda: win.last_error is not None, timeout=10000)
    assert "sha256" in win.last_error and "rm.onnx" in win.last_error
    assert win.banner.isVisible() and "sha256" in win.banner.label.text()
    qtbot.waitUntil(lambda: win.session.state == "stopped", timeout=2000)
    assert win.panel.start_button.text() == "Start" and win.isVisible()
    assert not [t for t in win.session.threads() if t.is_alive()]

    # A camera that does not open, then a mapping file that is not TOML.
    win.panel.set_source("7")
    win.start()
    qtbot.waitUntil(lambda: "camera 7" in (win.last_error or ""), timeout=10000)
    broken = tmp_path / "broken.toml"
    broken.write_text("[controls.jawOpen\ngain = ")
    assert not win.load_mapping(broken)
    assert "not valid TOML" in win.last_error
    win.panel.record_edit.setText(str(tmp_path / "take.txt"))
    win.panel.record_check.setChecked(True)
    assert ".csv or .jsonl" in win.last_error and not win.panel.record_check.isChecked()
    win.panel.mapping_table.set_value("jawOpen", "min", 2.0)  # min above max: refused
    assert "min 2.0 is above max" in win.last_error
    assert win.panel.mapping_table.maps()["jawOpen"].min == 0.0


def test_gui_command_runs_and_reports_fps(tiny_models, tmp_path):
    shot = tmp_path / "gui.png"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    r = subprocess.run([sys.executable, "-m", "lprr.app.cli", "gui", "--models", str(tiny_models),
                        "--source", str(DEMO_CLIP), "--backend", "ort-cpu", "--quit-after", "1.5",
                        "--screenshot", str(shot)], check=False, cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "display" in r.stdout and "closed cleanly: True" in r.stdout
    assert "Fatal Python error" not in r.stderr
    assert shot.stat().st_size > 10_000


def test_pyside_lost_references_cannot_kill_the_app():
    """PySide6 6.12.0 drops a reference to None per void call (see app/gui/qt_compat.py):
    where it does, None must be out of reach of the losses."""
    from lprr.app.gui.qt_compat import _can_patch_refcounts, lost_references

    lost = lost_references()
    if lost["None"] or lost["True"]:
        assert _can_patch_refcounts()
        assert sys.getrefcount(None) > 2**39 and sys.getrefcount(True) > 2**39


def test_post_smoothing_changes_live_without_a_jump():
    """The engine hook the GUI's sliders use: PostProcessor.set_smoothing."""
    from lprr.engine.post.postprocess import PostConfig, PostProcessor

    post = PostProcessor(PostConfig(smoothing="heavy"))
    c = len(CONTROL_NAMES)
    post.process(np.full(c, 0.2), 0.0)
    lagged = post.process(np.full(c, 0.8), 1 / 30)
    assert lagged.max() < 0.7  # heavy smoothing lags a step
    post.set_smoothing("heavy", (0.0, 0.0))  # mouth off, eyes still heavy
    y = post.process(np.full(c, 0.8), 2 / 30)
    mouth = [CONTROL_NAMES.index(n) for n in ("jawOpen", "mouthSmileLeft")]
    eyes = [CONTROL_NAMES.index(n) for n in ("eyeBlinkLeft", "browInnerUp")]
    assert np.allclose(y[mouth], 0.8)
    assert (y[eyes] > lagged[eyes]).all() and (y[eyes] < 0.8).all()  # went on from its state
    with pytest.raises(ValueError):
        post.set_smoothing("wobbly")


def test_a_file_that_ends_stops_the_session(qtbot, make_window, tmp_path, grace_hopper):
    import cv2

    clip = tmp_path / "short.avi"
    face = cv2.resize(grace_hopper, (256, 300))
    vw = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 30, (256, 300))
    for _ in range(12):
        vw.write(face)
    vw.release()
    win = make_window(source=str(clip))
    win.panel.loop_check.setChecked(False)
    with qtbot.waitSignal(win.session.ended, timeout=15000) as ended:
        win.start()
    assert ended.args == ["source ended"]
    assert win.session.state == "stopped" and win.panel.start_button.text() == "Start"
    assert win.display_frames >= 1 and not win.errors
    assert not [t for t in win.session.threads() if t.is_alive()]


def test_method_combo_builds_the_chosen_method_and_restarts(qtbot, make_window):
    from lprr.engine.methods import METHODS

    win = make_window()
    combo = win.panel.method_combo
    items = [combo.itemText(i) for i in range(combo.count())]
    assert items == list(METHODS) and "lprr" in items
    combo.setCurrentText("lprr")
    assert win.session_config().method == "lprr"
    _run(qtbot, win)
    assert win.session.method == "lprr"
    assert win.session.presenter is not None
    first = win.session.presenter
    with qtbot.waitSignal(win.session.started, timeout=20000):
        win.panel.method_changed.emit("lprr")  # what a change of the combo sends
    assert win.session.presenter is not first  # a new run
    assert win.session.method == "lprr" and not first.thread.is_alive()
    qtbot.waitUntil(lambda: win.display_frames > 0 and win.session.history.total > 3,
                    timeout=10000)
    assert not win.errors, win.errors


def test_mediapipe_method_runs_in_the_window(qtbot, make_window):
    """The mediapipe method (tasks landmarker + Google's blendshapes) drives the window:
    frames are drawn and its scores reach the curves."""
    win = make_window()
    win.panel.method_combo.setCurrentText("mediapipe")
    assert win.session_config().method == "mediapipe"
    _run(qtbot, win)
    assert win.session.method == "mediapipe"
    qtbot.waitUntil(lambda: win.display_frames > 2 and win.session.history.total > 5,
                    timeout=15000)
    assert not win.errors, win.errors
    _, values = win.session.history.snapshot()
    assert np.asarray(values).max() > 0.05  # real scores, not the zeros of no face


def test_retrieved_mouth_is_shown_only_when_the_method_made_one(qtbot, make_window,
                                                                  grace_hopper):
    from lprr.engine.retarget import FrameResult

    win = make_window()
    weights = np.full(len(CONTROL_NAMES), 0.2, np.float32)
    plain = FrameResult(0, 0.0, frame=grace_hopper, weights=weights)
    assert win.show_display(win.prepare_display(plain))
    assert not win.mouth_box.isVisible()
    assert win.character_view.image.shape == (256, 256, 3)
    mouth = np.zeros((128, 128, 3), np.uint8)
    mouth[:, :, 2] = 200  # red
    with_mouth = FrameResult(1, 0.0, frame=grace_hopper, weights=weights,
                             mouth_retrieved=mouth)
    assert win.show_display(win.prepare_display(with_mouth))
    assert win.mouth_box.isVisible()
    assert win.mouth_view.image.shape == (128, 128, 3)
    qtbot.waitUntil(lambda: win.mouth_view.width() > 32, timeout=2000)
    shot = win.mouth_view.grab().toImage()
    c = shot.pixelColor(shot.width() // 2, shot.height() // 2)
    assert (c.red(), c.green(), c.blue()) == (200, 0, 0)  # drawn, in RGB order
    assert win.show_display(win.prepare_display(plain))
    assert not win.mouth_box.isVisible()


def test_presenter_prepares_only_the_newest_and_only_once_taken():
    from lprr.app.gui.presenter import Presenter

    seen: list[int] = []
    notified = threading.Event()

    def prepare(i):
        seen.append(i)
        time.sleep(0.02)
        return i * 10

    p = Presenter(prepare, notified.set, max_hz=1000).start()
    try:
        for i in range(5):
            p.submit(i)
        assert notified.wait(2)
        time.sleep(0.1)  # nothing more is prepared until the first is taken
        assert len(seen) == 1
        for i in range(5, 10):
            p.submit(i)
        first = p.take()
        assert first == seen[0] * 10
        deadline = time.monotonic() + 2
        while p.prepared < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert p.take() == 90 and seen[-1] == 9  # the newest; 5..8 were never prepared
        assert p.take() is None
    finally:
        assert p.stop(1.0)
    assert not p.thread.is_alive()


def test_character_process_renders_what_the_character_renders():
    from lprr.app.gui.character_proc import CharacterRenderer

    r = CharacterRenderer(size=128, supersample=1)
    try:
        deadline = time.monotonic() + 15
        while r.in_process and time.monotonic() < deadline:
            r.render(None)  # in-process until the child says it is ready
            time.sleep(0.02)
        assert not r.in_process
        w = np.random.default_rng(0).uniform(0, 0.7, r.n_controls)
        remote = r.render(w)
        local = r.local.render(w)[0]
        assert r.remote_frames >= 1 and remote.shape == local.shape == (128, 128, 3)
        # The same renderer (float sums may round apart only on a polygon edge or two).
        assert (remote != local).any(axis=2).mean() < 0.01
        assert not np.array_equal(remote, r.local.render(None)[0])  # the weights arrived
        r._proc.kill()  # a dead child: renders go on in-process
        r._proc.wait(2)
        again = r.render(w)
        assert np.array_equal(again, local) and r.in_process
    finally:
        r.close()


def test_fps_benchmark_measures_the_real_window(qtbot, tiny_models, tmp_path):
    from lprr.app.gui.benchmark import run_benchmark, write_json

    rep = run_benchmark(models=tiny_models, backend="ort-cpu", seconds=1.0, warmup=0.5,
                        modes=("unpaced",), size=(1000, 700), method="lprr")
    (ph,) = rep.phases
    assert ph.mode == "unpaced" and ph.backend == "ort-cpu"
    # the display draws what the pipeline makes (a share of it, never more), whatever the speed
    assert 0 < ph.drawn_fps and ph.pipeline_fps >= ph.drawn_fps * 0.9
    assert ph.redraw_ms_mean > 0 and ph.redraw_ms_p95 >= ph.redraw_ms_mean * 0.5
    assert ph.prepare_ms_mean > 0 and 0 < ph.gui_busy_pct < 100
    out = write_json(rep, tmp_path / "fps.json")
    import json

    data = json.loads(out.read_text())
    assert data["summary"]["unpaced"]["runs"] == 1 and data["platform"]
    assert "unpaced" in rep.table()


def _short_clip(path: Path, frames: int, fps: float) -> Path:
    """The demo clip's first ``frames`` frames, written at ``fps``."""
    import cv2

    cap = cv2.VideoCapture(str(DEMO_CLIP))
    imgs = [cap.read()[1] for _ in range(frames)]
    cap.release()
    h, w = imgs[0].shape[:2]
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for img in imgs:
        vw.write(img)
    vw.release()
    return path


def _play_to_end(qtbot, win: MainWindow, take: Path, realtime: bool) -> tuple[list[int], float, object]:
    """Start with recording armed, run the file once; (frame indices recorded, seconds from
    the first frames flowing to the end, the run's capture)."""
    import json

    win.panel.loop_check.setChecked(False)
    win.panel.realtime_check.setChecked(realtime)
    win.panel.record_check.setChecked(False)  # the path is taken when it is switched on
    win.panel.record_edit.setText(str(take))
    win.panel.record_check.setChecked(True)
    caps = []

    def started(_: str) -> None:
        caps.append((time.monotonic(), win.session.capture))

    win.session.started.connect(started)
    with qtbot.waitSignal(win.session.ended, timeout=30000) as ended:
        win.start()
    win.session.started.disconnect(started)
    assert ended.args == ["source ended"] and not win.errors, win.errors
    t0, cap = caps[0]
    frames = [json.loads(line)["frame"] for line in take.read_text().splitlines()]
    return frames, time.monotonic() - t0, cap


def test_a_file_is_processed_frame_by_frame_at_its_fps(qtbot, make_window, tmp_path):
    clip = _short_clip(tmp_path / "c30.avi", 40, 30.0)
    win = make_window(source=str(clip))
    assert not win.panel.realtime_check.isChecked()  # off by default
    frames, secs, cap = _play_to_end(qtbot, win, tmp_path / "take.jsonl", realtime=False)
    assert frames == list(range(40))  # every frame, in order
    assert not cap.drop and cap.realtime and cap.dropped == 0
    assert secs >= 39 / 30.0 * 0.9  # paced at the file's 30 fps, not as fast as it decodes


def test_a_file_faster_than_the_pipeline_loses_nothing_unless_real_time(qtbot, make_window,
                                                                         tmp_path):
    # 400 fps: no pipeline here keeps up, so pacing alone would have to drop.
    clip = _short_clip(tmp_path / "c400.avi", 40, 400.0)
    win = make_window(source=str(clip))
    frames, _, cap = _play_to_end(qtbot, win, tmp_path / "all.jsonl", realtime=False)
    assert frames == list(range(40)) and cap.dropped == 0
    frames, _, cap = _play_to_end(qtbot, win, tmp_path / "rt.jsonl", realtime=True)
    assert cap.drop and cap.dropped > 0  # the checkbox: camera-like, newest frame only
    assert len(frames) < 40 and frames == sorted(frames) and frames[-1] <= 39


def test_cameras_and_puppets_keep_the_newest_frame_files_every_frame(tmp_path, grace_hopper):
    import cv2

    from lprr.app.gui.controller import SessionStats, frames_text, source_frames
    from lprr.engine.capture import open_capture

    clip = _short_clip(tmp_path / "c.avi", 5, 30.0)
    for paced, realtime, drop in ((True, False, False), (True, True, True),
                                  (False, False, False), (False, True, False)):
        cap = open_capture(str(clip), mirror=False, loop=False, paced=paced, realtime=realtime)
        assert (cap.drop, cap.realtime) == (drop, paced), (paced, realtime)
        assert source_frames(cap) == (5, False)
        cap.stop()
    cap = open_capture(str(clip), mirror=False, loop=True)
    assert not cap.drop and source_frames(cap) == (5, True)
    cap.stop()
    photo = tmp_path / "face.jpg"
    cv2.imwrite(str(photo), grace_hopper)
    cap = open_capture(f"puppet:{photo}", mirror=False, loop=True)
    assert cap.drop and cap.realtime  # a stand-in camera
    cap.stop()
    assert frames_text(SessionStats("running", frames_out=12, frames_total=40)) == "frames 12/40"
    assert frames_text(SessionStats("running", frames_out=52, frames_total=40, looping=True,
                                    dropped=3)) == "frames 52 (40 a loop), 3 dropped"


class _Cycle:
    """A reference cycle that records the thread it was freed on."""

    freed_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cycle.freed_on.append(threading.current_thread().name)


def test_cycles_are_freed_on_the_gui_thread_while_a_window_is_open(qtbot, make_window):
    import gc

    assert gc.isenabled()
    win = make_window()
    assert not gc.isenabled()  # a worker allocating must not run the collector

    kept: list[list[int]] = []

    def churn() -> None:  # garbage cycles, then far more live objects than gen 0's threshold
        for _ in range(20):
            _Cycle()
        kept.extend([i] for i in range(20 * gc.get_threshold()[0]))

    _Cycle.freed_on.clear()
    t = threading.Thread(target=churn, name="worker")
    t.start()
    t.join()
    assert _Cycle.freed_on == []  # nothing collected on the worker
    qtbot.waitUntil(lambda: len(_Cycle.freed_on) == 20, timeout=5000)
    assert set(_Cycle.freed_on) == {threading.main_thread().name}
    kept.clear()
    win.close()
    assert gc.isenabled()  # the last window closed hands collection back
