"""What the user tunes: source, models, backend, retargeting method, start/stop,
calibration, smoothing, outputs, recording (tab "Session"), which curves to plot ("Curves")
and the per-control mapping ("Mapping"). The panel only emits what changed; the main window
applies it to the session."""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import cast

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from lprr.app.gui.curves import DEFAULT_CURVES, group_of
from lprr.app.gui.mapping_table import MappingTable
from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.post.one_euro import SMOOTHING_PRESETS
from lprr.engine.sinks import DEFAULT_PORTS, NAME_STYLES

PROTOCOL_LABELS = {"native": "lprr native OSC", "vmc": "VMC", "livelink": "Live Link Face"}
VIDEO_FILTER = "Videos and images (*.avi *.mp4 *.mov *.mkv *.webm *.png *.jpg *.jpeg);;All (*)"
# Slider ranges: min_cutoff 0-5 Hz (0 = off), beta 0-10, in steps of 0.1.
_CUTOFF_MAX, _BETA_MAX, _STEP = 5.0, 10.0, 0.1


class _Param(QWidget):
    """A labelled slider for one float parameter."""

    changed = Signal(float)

    def __init__(self, label: str, maximum: float, unit: str = "", parent=None):
        super().__init__(parent)
        self.unit = unit
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        name = QLabel(label)
        name.setMinimumWidth(70)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, round(maximum / _STEP))
        self.value_label = QLabel()
        self.value_label.setMinimumWidth(52)
        lay.addWidget(name)
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.value_label)
        self.slider.valueChanged.connect(self._moved)
        self._moved(self.slider.value())

    def value(self) -> float:
        return round(self.slider.value() * _STEP, 3)

    def set_value(self, v: float, quiet: bool = False) -> None:
        self.slider.blockSignals(quiet)
        self.slider.setValue(round(v / _STEP))
        self.slider.blockSignals(False)
        self._label()

    def _label(self) -> None:
        v = self.value()
        self.value_label.setText("off" if v == 0 and self.unit == "Hz" else f"{v:.1f} {self.unit}")

    def _moved(self, _: int) -> None:
        self._label()
        self.changed.emit(self.value())


class ControlsPanel(QWidget):
    start_clicked = Signal()
    personalise_clicked = Signal()
    method_changed = Signal(str)  # a key of lprr.engine.methods.METHODS
    calibrate_clicked = Signal(float)  # seconds
    reset_calibration_clicked = Signal()
    mirror_changed = Signal(bool)
    smoothing_changed = Signal(tuple, tuple)  # eyes (min_cutoff, beta), mouth (...)
    output_changed = Signal(object, str, str)  # protocol or None (off), "HOST:PORT", names
    record_changed = Signal(object)  # a path, or None to stop
    curves_changed = Signal(list)

    def __init__(self, models: Path, sources: list[tuple[str, str]],
                 backends: list[tuple[str, str | None]], methods: Sequence[str] = ("lprr",),
                 parent=None):
        """sources: (label, spec) pairs; backends: (name, reason it is unavailable or None);
        methods: retargeting method names (lprr.engine.methods.METHODS)."""
        super().__init__(parent)
        self.tabs = QTabWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        page = QWidget()
        col = QVBoxLayout(page)
        col.addWidget(self._run_group(models, sources, backends, methods))
        col.addWidget(self._calibration_group())
        col.addWidget(self._smoothing_group())
        col.addWidget(self._output_group())
        col.addStretch(1)
        scroll.setWidget(page)
        self.tabs.addTab(scroll, "Session")
        self.tabs.addTab(self._curves_page(), "Curves")
        self.tabs.addTab(self._mapping_page(), "Mapping")
        self._output_timer = QTimer(self)  # a port typed digit by digit is applied once
        self._output_timer.setSingleShot(True)
        self._output_timer.setInterval(300)
        self._output_timer.timeout.connect(self.emit_output)

    # -- Session tab ------------------------------------------------------------------------
    def _run_group(self, models, sources, backends, methods) -> QGroupBox:
        box = QGroupBox("Source and models")
        form = QFormLayout(box)
        self.source_combo = QComboBox()
        self.source_combo.setEditable(True)
        self.source_combo.setMinimumContentsLength(18)
        self.source_combo.setToolTip("a camera, a video file, an image folder or puppet:PHOTO")
        for label, spec in sources:
            self.source_combo.addItem(label, spec)
        open_btn = QPushButton("Open…")
        open_btn.clicked.connect(self._open_file)
        row = QHBoxLayout()
        row.addWidget(self.source_combo, 1)
        row.addWidget(open_btn)
        form.addRow("Source", row)
        self.mirror_check = QCheckBox("mirror")
        self.mirror_check.toggled.connect(self.mirror_changed)
        self.loop_check = QCheckBox("loop files")
        self.loop_check.setChecked(True)
        row = QHBoxLayout()
        row.addWidget(self.mirror_check)
        row.addWidget(self.loop_check)
        row.addStretch(1)
        form.addRow("", row)
        # Off: a file is processed frame by frame, paced at its fps; nothing is skipped.
        self.realtime_check = QCheckBox("Real time (drop frames when behind)")
        self.realtime_check.setToolTip(
            "video files and image folders: when the pipeline is slower than the file's fps, "
            "skip frames and process the newest, as with a camera (cameras always do)")
        form.addRow("", self.realtime_check)
        self.models_edit = QLineEdit(str(models))
        models_btn = QPushButton("…")
        models_btn.setMaximumWidth(30)
        models_btn.clicked.connect(self._choose_models)
        self.personalise_button = QPushButton("Personalise…")
        self.personalise_button.setToolTip(
            "fit the models to your face from a minute of video (about 3 minutes)")
        self.personalise_button.clicked.connect(self.personalise_clicked)
        row = QHBoxLayout()
        row.addWidget(self.models_edit, 1)
        row.addWidget(models_btn)
        row.addWidget(self.personalise_button)
        form.addRow("Models", row)
        self.backend_combo = QComboBox()
        self.backend_combo.addItem("auto")
        for name, reason in backends:
            self.backend_combo.addItem(name)
            if reason is not None:
                i = self.backend_combo.count() - 1
                # a QComboBox's own model is a QStandardItemModel
                cast(QStandardItemModel, self.backend_combo.model()).item(i).setEnabled(False)
                self.backend_combo.setItemData(i, reason, Qt.ItemDataRole.ToolTipRole)
        form.addRow("Backend", self.backend_combo)
        self.method_combo = QComboBox()
        self.method_combo.addItems(list(methods))
        self.method_combo.setToolTip("how weights are made: lprr = the trained patch models; "
                                     "changing it restarts a running session")
        self.method_combo.currentTextChanged.connect(self.method_changed)
        form.addRow("Method", self.method_combo)
        self.start_button = QPushButton("Start")
        self.start_button.setMinimumHeight(32)
        self.start_button.clicked.connect(self.start_clicked)
        form.addRow(self.start_button)
        return box

    def source_spec(self) -> str:
        i = self.source_combo.currentIndex()
        text = self.source_combo.currentText().strip()
        if i >= 0 and self.source_combo.itemText(i) == text and self.source_combo.itemData(i):
            return str(self.source_combo.itemData(i))
        return text

    def set_source(self, spec: str) -> None:
        i = self.source_combo.findData(spec)
        if i < 0:
            self.source_combo.addItem(spec, spec)
            i = self.source_combo.count() - 1
        self.source_combo.setCurrentIndex(i)

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", "", VIDEO_FILTER)
        if path:
            self.set_source(path)

    def _choose_models(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Exported model folder",
                                                self.models_edit.text())
        if path:
            self.models_edit.setText(path)

    def set_running(self, state: str) -> None:
        """stopped | starting | running: the Start button and what may change live."""
        self.start_button.setText({"stopped": "Start", "starting": "Starting… (stop)",
                                   "running": "Stop"}[state])
        idle = state == "stopped"
        for w in (self.source_combo, self.models_edit, self.backend_combo, self.loop_check,
                  self.realtime_check):
            w.setEnabled(idle)
        self.calibrate_button.setEnabled(state == "running")

    def _calibration_group(self) -> QGroupBox:
        box = QGroupBox("Neutral calibration")
        row = QHBoxLayout(box)
        self.calib_seconds = QDoubleSpinBox()
        self.calib_seconds.setRange(0.2, 10.0)
        self.calib_seconds.setSingleStep(0.5)
        self.calib_seconds.setValue(2.0)
        self.calib_seconds.setSuffix(" s")
        self.calibrate_button = QPushButton("Calibrate neutral")
        self.calibrate_button.setToolTip("hold a relaxed face, eyes open; eyelids are not offset")
        self.calibrate_button.setEnabled(False)
        self.calibrate_button.clicked.connect(
            lambda: self.calibrate_clicked.emit(self.calib_seconds.value()))
        reset = QPushButton("Reset")
        reset.clicked.connect(self.reset_calibration_clicked)
        row.addWidget(self.calibrate_button, 1)
        row.addWidget(self.calib_seconds)
        row.addWidget(reset)
        return box

    def _smoothing_group(self) -> QGroupBox:
        box = QGroupBox("Smoothing (One Euro)")
        grid = QGridLayout(box)
        self.preset_combo = QComboBox()
        self.preset_combo.addItems([*SMOOTHING_PRESETS, "custom"])
        self.preset_combo.setCurrentText("default")
        self.preset_combo.currentTextChanged.connect(self._preset)
        grid.addWidget(QLabel("Preset"), 0, 0)
        grid.addWidget(self.preset_combo, 0, 1)
        self.params: dict[str, tuple[_Param, _Param]] = {}
        for r, g in enumerate(("eyes", "mouth")):
            cut = _Param("min cutoff", _CUTOFF_MAX, "Hz")
            beta = _Param("beta", _BETA_MAX)
            head = QLabel(f"<b>{'Eyes + brows' if g == 'eyes' else 'Mouth'}</b>")
            grid.addWidget(head, 1 + 3 * r, 0, 1, 2)
            grid.addWidget(cut, 2 + 3 * r, 0, 1, 2)
            grid.addWidget(beta, 3 + 3 * r, 0, 1, 2)
            cut.changed.connect(self._slider_moved)
            beta.changed.connect(self._slider_moved)
            self.params[g] = (cut, beta)
        self._preset("default", emit=False)
        return box

    def smoothing(self) -> tuple[tuple[float, float], tuple[float, float]]:
        e, m = self.params["eyes"], self.params["mouth"]
        return (e[0].value(), e[1].value()), (m[0].value(), m[1].value())

    def _preset(self, name: str, emit: bool = True) -> None:
        if name not in SMOOTHING_PRESETS:
            return
        for g, (cut, beta) in self.params.items():
            mc, b = SMOOTHING_PRESETS[name][g]
            cut.set_value(mc, quiet=True)
            beta.set_value(b, quiet=True)
        if emit:
            self.smoothing_changed.emit(*self.smoothing())

    def _slider_moved(self, _: float) -> None:
        self.preset_combo.blockSignals(True)
        self.preset_combo.setCurrentText("custom")
        for name, p in SMOOTHING_PRESETS.items():  # back on a preset's values: say which
            if (p["eyes"], p["mouth"]) == self.smoothing():
                self.preset_combo.setCurrentText(name)
        self.preset_combo.blockSignals(False)
        self.smoothing_changed.emit(*self.smoothing())

    def _output_group(self) -> QGroupBox:
        box = QGroupBox("Output")
        form = QFormLayout(box)
        self.send_check = QCheckBox("send over the network")
        self.send_check.toggled.connect(self.schedule_output)
        form.addRow(self.send_check)
        self.protocol_combo = QComboBox()
        for key, label in PROTOCOL_LABELS.items():
            self.protocol_combo.addItem(label, key)
        self._protocol = "native"
        self.protocol_combo.currentIndexChanged.connect(self._protocol_changed)
        form.addRow("Protocol", self.protocol_combo)
        self.names_combo = QComboBox()  # the name style (lprr.engine.sinks.names)
        for style in NAME_STYLES:
            self.names_combo.addItem(style, style)
        self.names_combo.setToolTip("names on the wire (VMC, native): arkit eyeBlinkLeft, "
                                    "pascal EyeBlinkLeft, vrm0 VRM 0.x clips (Blink, A, Joy...)")
        self.names_combo.currentIndexChanged.connect(self.schedule_output)
        form.addRow("Names", self.names_combo)
        self.host_edit = QLineEdit("127.0.0.1")
        self.host_edit.editingFinished.connect(self.schedule_output)
        form.addRow("Host", self.host_edit)
        self.port_spin = QSpinBox()
        self.port_spin.setRange(1, 65535)
        self.port_spin.setValue(DEFAULT_PORTS["native"])
        self.port_spin.valueChanged.connect(self.schedule_output)
        form.addRow("Port", self.port_spin)
        self.record_check = QCheckBox("record")
        self.record_edit = QLineEdit(str(Path("out/gui") / time.strftime("take-%Y%m%d-%H%M%S.csv")))
        self.record_edit.setToolTip(".csv (Live Link Face style) or .jsonl")
        self.record_check.toggled.connect(self._record_toggled)
        row = QHBoxLayout()
        row.addWidget(self.record_check)
        row.addWidget(self.record_edit, 1)
        form.addRow("Weights", row)
        return box

    def protocol(self) -> str:
        return str(self.protocol_combo.currentData())

    def endpoint(self) -> str:
        host = self.host_edit.text().strip() or "127.0.0.1"
        if ":" in host and not host.startswith("["):  # an IPv6 literal
            host = f"[{host}]"
        return f"{host}:{self.port_spin.value()}"

    def _protocol_changed(self, _: int) -> None:
        new = self.protocol()
        if self.port_spin.value() == DEFAULT_PORTS[self._protocol]:  # follow the default port
            self.port_spin.blockSignals(True)
            self.port_spin.setValue(DEFAULT_PORTS[new])
            self.port_spin.blockSignals(False)
        self._protocol = new
        self.names_combo.setEnabled(new != "livelink")  # Live Link's slots are fixed ARKit
        self.schedule_output()

    def schedule_output(self, *_: object) -> None:
        self._output_timer.start()

    def emit_output(self) -> None:
        self._output_timer.stop()
        names = "arkit" if self.protocol() == "livelink" else str(self.names_combo.currentData())
        self.output_changed.emit(self.protocol() if self.send_check.isChecked() else None,
                                 self.endpoint(), names)

    def _record_toggled(self, on: bool) -> None:
        self.record_edit.setEnabled(not on)
        self.record_changed.emit(Path(self.record_edit.text().strip()) if on else None)

    # -- Curves tab -------------------------------------------------------------------------
    def _curves_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        lay.addWidget(QLabel("Controls to plot (eyes + brows in one plot, mouth in the other):"))
        self.curve_list = QListWidget()
        for group in ("eyes", "mouth"):
            head = QListWidgetItem("Eyes and brows" if group == "eyes" else "Mouth, jaw, cheeks")
            head.setFlags(Qt.ItemFlag.NoItemFlags)
            f = head.font()
            f.setBold(True)
            head.setFont(f)
            self.curve_list.addItem(head)
            for n in CONTROL_NAMES:
                if group_of(n) != group:
                    continue
                it = QListWidgetItem(n)
                it.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
                it.setCheckState(Qt.CheckState.Checked if n in DEFAULT_CURVES
                                 else Qt.CheckState.Unchecked)
                self.curve_list.addItem(it)
        self.curve_list.itemChanged.connect(lambda _: self.curves_changed.emit(self.curves()))
        lay.addWidget(self.curve_list)
        return page

    def curves(self) -> list[str]:
        out = []
        for i in range(self.curve_list.count()):
            it = self.curve_list.item(i)
            if it.flags() & Qt.ItemFlag.ItemIsUserCheckable and \
                    it.checkState() == Qt.CheckState.Checked:
                out.append(it.text())
        return out

    # -- Mapping tab ------------------------------------------------------------------------
    def _mapping_page(self) -> QWidget:
        page = QWidget()
        lay = QVBoxLayout(page)
        self.mapping_table = MappingTable()
        lay.addWidget(self.mapping_table, 1)
        row = QHBoxLayout()
        self.mapping_load = QPushButton("Load TOML…")
        self.mapping_save = QPushButton("Save TOML…")
        self.mapping_reset = QPushButton("Reset")
        for b in (self.mapping_load, self.mapping_save, self.mapping_reset):
            row.addWidget(b)
        lay.addLayout(row)
        self.mapping_path = QLabel("y = clamp(offset + gain·x^exponent, min, max)")
        self.mapping_path.setWordWrap(True)
        lay.addWidget(self.mapping_path)
        return page
