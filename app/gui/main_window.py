"""The main window: source view with landmarks and patch boxes, the patch strip, the
character rendered with the output weights, the weight curves, the controls panel and a
status bar (fps, latency, face state). Errors appear in a banner and the status bar.

The GUI thread only blits. The session's presenter thread prepares the newest result
(``prepare_display``: landmarks drawn on the source, the character rendered with the
weights, every image scaled and converted for its view) at most ``display_hz`` times a
second, and only once the last one was drawn; ``result_ready`` then makes ``_draw`` hand the
buffers to the views. The curves refresh on their own timer (``curves_hz``) from the weight
history. Nothing here ever waits on the pipeline.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lprr.app.gui.character_proc import CharacterRenderer
from lprr.app.gui.controller import LiveSession, SessionConfig, describe_error, frames_text
from lprr.app.gui.controls_panel import ControlsPanel
from lprr.app.gui.curves import CurvesWidget
from lprr.app.gui.gui_gc import GuiThreadCollector
from lprr.app.gui.meter import RedrawMeter
from lprr.app.gui.views import ImageView, PatchStrip, Prepared
from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.errors import UserError
from lprr.engine.paths import ASSETS, DEFAULT_MODELS
from lprr.engine.retarget import FrameResult

if TYPE_CHECKING:
    from lprr.app.gui.personalise import PersonaliseDialog

log = logging.getLogger(__name__)
DEMO_CLIP = ASSETS / "demo" / "clip" / "frames.avi"


def default_sources(extra: str | None = None) -> list[tuple[str, str]]:
    """(label, spec) for the source list: the given source, cameras found, the demo clip."""
    from lprr.engine.capture import list_cameras

    out: list[tuple[str, str]] = []
    if extra:
        out.append((extra, extra))
    for c in list_cameras():
        out.append((f"camera {c.index} ({c.width}x{c.height})", str(c.index)))
    if DEMO_CLIP.is_file() and str(DEMO_CLIP) != extra:
        out.append(("demo clip", str(DEMO_CLIP)))
    if not out:
        out.append(("camera 0", "0"))
    return out


@dataclass
class DisplayFrame:
    """One result, ready to blit (made by ``MainWindow.prepare_display``, any thread)."""

    result: FrameResult
    source: Prepared | None = None
    patches: dict = field(default_factory=dict)  # name -> (source, reenacted) Prepared
    character: Prepared | None = None
    mouth: Prepared | None = None  # the f2f method's retrieved mouth, when it made one
    prepare_ms: float = 0.0
    error: str | None = None


class _Banner(QFrame):
    """A dismissable error line at the top of the window."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setStyleSheet("QFrame { background: #7a1f1f; border-radius: 3px; } "
                           "QLabel { color: white; } QPushButton { color: white; border: none; }")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 4, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QPushButton("✕")
        close.setFixedWidth(24)
        close.clicked.connect(self.hide)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.hide()

    def show_text(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class MainWindow(QMainWindow):
    def __init__(self, models: Path = DEFAULT_MODELS, source: str | None = None,
                 backend: str = "auto", display_hz: float = 60.0, paced: bool = True,
                 curves_hz: float = 30.0, method: str | None = None,
                 character_process: bool = True):
        """display_hz: at most this many frames drawn a second; curves_hz: curve refreshes a
        second (a 10 s plot ~600 px wide scrolls 2 px a refresh at 30); character_process:
        render the character preview in a child process (app/gui/character_proc.py)."""
        super().__init__()
        from lprr.engine.backends import BACKEND_NAMES, available_backends
        from lprr.engine.methods import METHODS

        self.setWindowTitle("lprr — live facial retargeting")
        self.paced = paced
        self.meter = RedrawMeter()
        self.session = LiveSession(self, prepare=self.prepare_display, prepare_hz=display_hz)
        # supersample 1: half the cost of 2 (about 3 vs 5 ms a frame here), edges barely rougher
        self.character = CharacterRenderer(size=256, supersample=1,
                                           use_process=character_process)
        self.errors: list[str] = []  # every error shown, newest last
        self.personalise_dialog: PersonaliseDialog | None = None
        avail = available_backends()
        self.panel = ControlsPanel(models, default_sources(source),
                                   [(n, avail.get(n)) for n in BACKEND_NAMES], list(METHODS))
        if backend != "auto":
            self.panel.backend_combo.setCurrentText(backend)
        from lprr.engine.methods import DEFAULT_METHOD

        method = method or DEFAULT_METHOD
        if self.panel.method_combo.findText(method) < 0:
            raise UserError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
        self.panel.method_combo.setCurrentText(method)
        self._build_layout()
        self._build_status_bar()
        self._wire()
        self.display_frames = 0  # redraws that showed a new result
        self.run_start: tuple[float, int] | None = None  # (time, display_frames) at start
        self.run_totals: tuple[float, int, int] | None = None  # (s, shown, processed) at stop
        self.fps_pipeline = 0.0
        self.fps_display = 0.0
        self.fps_samples: list[tuple[float, float, float]] = []  # (pipeline, display, latency ms)
        self._last_stat = (time.perf_counter(), 0, 0)
        self._shown_offsets: dict[str, float] = {}
        self._char_index: tuple[tuple[str, ...], np.ndarray] | None = None
        self.closed_cleanly: bool | None = None
        self.collector = GuiThreadCollector(self)  # cycles freed on this thread only
        self.curves_timer = QTimer(self)
        self.curves_timer.setInterval(max(1, round(1000 / curves_hz)))
        self.curves_timer.timeout.connect(self._refresh_curves)
        self.curves_timer.start()
        self.status_timer = QTimer(self)
        self.status_timer.setInterval(500)
        self.status_timer.timeout.connect(self._update_status)
        self.status_timer.start()
        self.character_view.set_image(self.character.local.render(None)[0])
        self.resize(1600, 1000)
        app = QApplication.instance()
        if app is not None:  # quitting without closing the window stops the threads too
            app.aboutToQuit.connect(self.session.stop)

    # -- layout -----------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.banner = _Banner()
        self.source_view = ImageView("no source: pick one and press Start", 160)
        self.patch_strip = PatchStrip()
        self.character_view = ImageView("", 160, smooth=True)
        # The f2f method's retrieved mouth (FrameResult.mouth_retrieved), when shown.
        self.mouth_view = ImageView("", 64, smooth=True)
        self.mouth_view.setMaximumWidth(128)
        self.mouth_box = QWidget()
        col = QVBoxLayout(self.mouth_box)
        col.setContentsMargins(0, 0, 0, 0)
        col.addWidget(QLabel("retrieved mouth"))
        col.addWidget(self.mouth_view)
        col.addStretch(1)
        self.mouth_box.hide()
        character = QWidget()
        row = QHBoxLayout(character)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.character_view, 1)
        row.addWidget(self.mouth_box)
        self.curves = CurvesWidget(self.session.history)
        top = QWidget()
        row = QHBoxLayout(top)
        row.setContentsMargins(0, 0, 0, 0)
        for title, w, stretch in (("Source", self.source_view, 3), ("Patches", self.patch_strip, 2),
                                  ("Character", character, 3)):
            col = QVBoxLayout()
            head = QLabel(f"<b>{title}</b>")
            col.addWidget(head)
            col.addWidget(w, 1)
            row.addLayout(col, stretch)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(top)
        left.addWidget(self.curves)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 2)
        left.setSizes([520, 420])  # the top row about as tall as its square images are wide
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(left)
        split.addWidget(self.panel)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 0)
        self.panel.setMinimumWidth(380)
        split.setSizes([1180, 420])
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(6, 6, 6, 0)
        lay.addWidget(self.banner)
        lay.addWidget(split, 1)
        self.setCentralWidget(central)

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.status_labels: dict[str, QLabel] = {}
        for key, text in (("fps", "pipeline - fps"), ("display", "display - fps"),
                          ("latency", "latency - ms"), ("frames", "frames -"),
                          ("face", "face: -"),
                          ("backend", "backend: -"), ("output", "OSC: off"),
                          ("record", "rec: off")):
            lab = QLabel(text)
            lab.setMinimumWidth(90)
            bar.addPermanentWidget(lab)
            self.status_labels[key] = lab

    def _wire(self) -> None:
        s, p = self.session, self.panel
        s.started.connect(self._started)
        s.failed.connect(self._failed)
        s.ended.connect(self._ended)
        s.result_ready.connect(self._draw)
        p.start_clicked.connect(self.toggle_running)
        p.personalise_clicked.connect(self.open_personalise)
        p.method_changed.connect(self._method_changed)
        p.calibrate_clicked.connect(self.calibrate)
        p.reset_calibration_clicked.connect(self._reset_calibration)
        p.mirror_changed.connect(s.set_mirror)
        p.smoothing_changed.connect(self._smoothing)
        p.output_changed.connect(self._output)
        p.record_changed.connect(self._record)
        p.curves_changed.connect(self.curves.set_selected)
        p.mapping_table.changed.connect(s.set_mapping)
        p.mapping_table.invalid.connect(self.show_error)
        p.mapping_load.clicked.connect(self._load_mapping_dialog)
        p.mapping_save.clicked.connect(self._save_mapping_dialog)
        p.mapping_reset.clicked.connect(p.mapping_table.reset)
        p.mapping_reset.clicked.connect(p.schedule_output)  # drops the [rename] table too
        s.set_smoothing(*p.smoothing())

    # -- errors -----------------------------------------------------------------------------
    def show_error(self, text: str) -> None:
        log.warning("%s", text)
        self.errors.append(text)
        self.banner.show_text(text)
        self.statusBar().showMessage(f"error: {text}", 15000)

    @property
    def last_error(self) -> str | None:
        return self.errors[-1] if self.errors else None

    # -- start / stop -----------------------------------------------------------------------
    def session_config(self) -> SessionConfig:
        p = self.panel
        return SessionConfig(models=Path(p.models_edit.text().strip() or DEFAULT_MODELS),
                             source=p.source_spec(), backend=p.backend_combo.currentText(),
                             mirror=p.mirror_check.isChecked(), loop=p.loop_check.isChecked(),
                             paced=self.paced, realtime=p.realtime_check.isChecked(),
                             method=p.method_combo.currentText())

    def start(self) -> None:
        self.session.start(self.session_config())
        self.panel.set_running("starting")
        self.statusBar().showMessage("starting: opening the source and loading the models…")

    def stop(self) -> bool:
        ok = self.session.stop()
        self.panel.set_running("stopped")
        self.statusBar().showMessage("stopped", 5000)
        return ok

    def toggle_running(self) -> None:
        if self.session.state == "stopped":
            self.start()
        else:
            self.stop()

    def _method_changed(self, _: str) -> None:
        if self.session.state != "stopped":  # a method is fixed for a run: start a new one
            self.start()

    def _started(self, desc: str) -> None:
        self.banner.hide()
        self.panel.set_running("running")
        self._last_stat = (time.perf_counter(), 0, self.display_frames)
        self.run_start = (time.perf_counter(), self.display_frames)
        self.fps_samples.clear()
        self.meter.reset()
        self._shown_offsets = {}
        self.panel.mapping_table.set_neutral({})
        self.statusBar().showMessage(f"running: {desc}", 8000)

    def _failed(self, text: str) -> None:
        self.session.stop()
        self.panel.set_running("stopped")
        self.show_error(text)

    def _ended(self, why: str) -> None:
        self.panel.set_running("stopped")
        self.statusBar().showMessage(why, 10000)

    # -- live settings ----------------------------------------------------------------------
    def open_personalise(self) -> PersonaliseDialog:
        """The personalisation dialog (non-modal: the session may keep running)."""
        from lprr.app.gui.personalise import PersonaliseDialog

        p = self.panel
        dlg = PersonaliseDialog(p.models_edit.text().strip() or str(DEFAULT_MODELS),
                                p.source_spec(), self, mirror=p.mirror_check.isChecked())
        dlg.models_ready.connect(self._personalised)
        dlg.show()
        self.personalise_dialog = dlg
        return dlg

    def _personalised(self, path: str) -> None:
        restart = self.session.running
        self.panel.models_edit.setText(path)
        self.panel.method_combo.setCurrentText("lprr")  # the models are lprr's
        self.statusBar().showMessage(f"personalised models: {path}"
                                     + ("; restart to use them" if restart else ""), 15000)

    def calibrate(self, seconds: float = 2.0) -> None:
        try:
            self.session.calibrate(seconds)
            self.statusBar().showMessage(f"calibrating for {seconds:.1f} s: hold a relaxed "
                                         "face, eyes open", int(seconds * 1000) + 1000)
        except UserError as e:
            self.show_error(str(e))

    def _reset_calibration(self) -> None:
        self.session.reset_calibration()
        self._shown_offsets = {}
        self.panel.mapping_table.set_neutral({})

    def _smoothing(self, eyes: tuple, mouth: tuple) -> None:
        self.session.set_smoothing(eyes, mouth)

    def _output(self, protocol: str | None, endpoint: str, names: str = "arkit") -> None:
        try:
            self.session.set_osc(protocol, endpoint, names, self.panel.mapping_table.rename)
        except (UserError, OSError) as e:
            self.show_error(f"output: {describe_error(e)}")

    def _record(self, path: Path | None) -> None:
        try:
            self.session.set_recording(path)
        except (UserError, OSError) as e:
            self.show_error(f"recording: {describe_error(e)}")
            self.panel.record_check.blockSignals(True)
            self.panel.record_check.setChecked(False)
            self.panel.record_edit.setEnabled(True)
            self.panel.record_check.blockSignals(False)

    def load_mapping(self, path: str | Path) -> bool:
        ok = self._mapping_file(self.panel.mapping_table.load, path, "loaded")
        if ok:
            self.panel.schedule_output()  # the file's [rename] table reaches the OSC output
        return ok

    def save_mapping(self, path: str | Path) -> bool:
        return self._mapping_file(self.panel.mapping_table.save, path, "saved")

    def _mapping_file(self, action, path: str | Path, done: str) -> bool:
        try:
            action(path)
        except (UserError, OSError) as e:
            self.show_error(describe_error(e))
            return False
        self.panel.mapping_path.setText(f"{done} {path}")
        return True

    def _load_mapping_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load mapping", "", "TOML (*.toml)")
        if path:
            self.load_mapping(path)

    def _save_mapping_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save mapping", "mapping.toml",
                                              "TOML (*.toml)")
        if path:
            self.save_mapping(path)

    # -- drawing ----------------------------------------------------------------------------
    def prepare_display(self, r: FrameResult) -> DisplayFrame:
        """Everything a redraw needs, scaled and converted for the views; runs on the
        session's presenter thread (never raises: a failure comes back as ``error``)."""
        from lprr.engine.preview import annotate

        t0 = time.perf_counter()
        d = DisplayFrame(r)
        try:
            char = None
            if r.weights is not None:  # the character process renders while we do the rest
                self.character.begin(self._character_weights(r.weights))
            try:
                if r.frame is not None:
                    d.source = self.source_view.prepare(annotate(r.frame, r))
                d.patches = self.patch_strip.prepare(
                    r.patches.images if r.patches is not None else None, r.reenacted)
                mouth = r.mouth_retrieved
                if mouth is not None:
                    d.mouth = self.mouth_view.prepare(np.asarray(mouth, np.uint8))
            finally:
                if r.weights is not None:
                    char = self.character.finish()
            if char is not None:
                d.character = self.character_view.prepare(char)
        except Exception as e:  # shown in the window by _draw
            log.debug("preparing the display failed", exc_info=True)
            d.error = f"display: {describe_error(e)}"
        d.prepare_ms = (time.perf_counter() - t0) * 1e3
        return d

    def _draw(self) -> None:
        """GUI thread: hand the newest prepared frame to the views (they blit on paint)."""
        t0 = time.perf_counter()
        d = self.session.take_latest()
        if d is None:
            return
        # a FrameResult from a session without a presenter, else the presenter's DisplayFrame
        shown = (self.prepare_display(d) if isinstance(d, FrameResult)
                 else cast(DisplayFrame, d))
        if self.show_display(shown):
            self.meter.drew((time.perf_counter() - t0) * 1e3, shown.prepare_ms)

    def show_display(self, d: DisplayFrame) -> bool:
        """GUI thread: show a prepared frame; False when it carried an error instead."""
        if d.error is not None:
            if d.error != self.last_error:
                self.show_error(d.error)
            return False
        if d.source is not None:
            self.source_view.show_prepared(d.source)
        self.patch_strip.show_prepared(d.patches)
        if d.character is not None:
            self.character_view.show_prepared(d.character)
        if (d.mouth is None) != self.mouth_box.isHidden():
            self.mouth_box.setHidden(d.mouth is None)
        if d.mouth is not None:
            self.mouth_view.show_prepared(d.mouth)
        self.display_frames += 1
        return True

    def _refresh_curves(self) -> None:
        t0 = time.perf_counter()
        if self.curves.refresh():
            self.meter.curves((time.perf_counter() - t0) * 1e3)

    def event(self, e) -> bool:
        if e.type() != QEvent.Type.UpdateRequest:
            return super().event(e)
        t0 = time.perf_counter()  # the window's repaint: every view and plot that changed
        ok = super().event(e)
        self.meter.painted((time.perf_counter() - t0) * 1e3)
        return ok

    def _character_weights(self, w: np.ndarray) -> np.ndarray:
        """The session's controls, by name, in the demo character's CONTROL_NAMES order."""
        names = self.session.controls
        if self._char_index is None or self._char_index[0] != names:
            idx = np.array([names.index(n) if n in names else -1 for n in CONTROL_NAMES])
            self._char_index = (names, idx)
        idx = self._char_index[1]
        return np.where(idx >= 0, np.asarray(w)[np.maximum(idx, 0)], 0.0)

    def _update_status(self) -> None:
        now = time.perf_counter()
        st = self.session.stats()
        t0, n0, d0 = self._last_stat
        dt = max(1e-6, now - t0)
        self.fps_pipeline = max(0, st.frames_out - n0) / dt
        self.fps_display = max(0, self.display_frames - d0) / dt
        self._last_stat = (now, st.frames_out, self.display_frames)
        lab = self.status_labels
        if st.state == "running":
            self.fps_samples.append((self.fps_pipeline, self.fps_display, st.latency_ms))
            lab["fps"].setText(f"pipeline {self.fps_pipeline:5.1f} fps")
            lab["display"].setText(f"display {self.fps_display:5.1f} fps")
            lab["latency"].setText(f"latency p50 {st.latency_p50_ms:5.1f} "
                                   f"p99 {st.latency_p99_ms:5.1f} ms")
            lab["frames"].setText(frames_text(st))
            lab["face"].setText(f"face: {st.face}")
            lab["backend"].setText(f"backend: {st.backend}")
            self._refresh_offsets()
        else:
            lab["fps"].setText("pipeline - fps")
            lab["display"].setText("display - fps")
            lab["latency"].setText("latency - ms")
            lab["frames"].setText("frames -")
            lab["face"].setText(f"face: - ({st.state})")
        osc = self.session.osc
        planned = f"{osc[0]} -> {osc[1]}" if osc else "off"
        lab["output"].setText(f"OSC: {st.output if st.state == 'running' else planned}")
        lab["record"].setText(f"rec: {st.recording}")

    def _refresh_offsets(self) -> None:
        offsets = self.session.neutral_offsets()
        if offsets != self._shown_offsets and any(offsets.values()):
            self._shown_offsets = offsets
            self.panel.mapping_table.set_neutral(offsets)

    # -- closing ----------------------------------------------------------------------------
    def _keep_totals(self) -> None:
        pipe = self.session.pipeline
        if self.run_start is not None and pipe is not None:
            t0, d0 = self.run_start
            self.run_totals = (time.perf_counter() - t0, self.display_frames - d0,
                               pipe.frames_out)

    def closeEvent(self, event) -> None:
        self.curves_timer.stop()
        self.status_timer.stop()
        self._keep_totals()
        self.closed_cleanly = self.session.stop(1.0)
        self.character.close()
        self.collector.stop()
        event.accept()
