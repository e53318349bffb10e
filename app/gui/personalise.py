"""The GUI's personalisation flow: record a minute of the performer (or pick a video),
personalise the models to them with a progress bar, then switch to the new models.

Both long jobs stay off the GUI thread: the recording reads the source in a thread and
writes an MP4 into lprr's cache folder; personalisation runs ``lprr train personalise`` in a
child process (``QProcess``; it needs torch) whose ``progress`` lines drive the bar. The
child's checkpoints are in its cache folder, so a cancelled run resumes next time.
"""
from __future__ import annotations

import logging
import sys
import threading
import time
from pathlib import Path

from PySide6.QtCore import QProcess, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from lprr.engine.user_config import cache_dir, config_dir

log = logging.getLogger(__name__)
RECORD_SECONDS = 60


class Recorder:
    """Reads ``source`` (a camera, or any source spec) for ``seconds`` in a thread and
    writes the frames to ``out`` (MP4). ``progress`` (0..1), ``error`` and ``done`` are
    read by the GUI's timer."""

    def __init__(self, source: str, out: Path, seconds: float, mirror: bool = False):
        self.source, self.out, self.seconds, self.mirror = source, out, seconds, mirror
        self.progress = 0.0
        self.frames = 0
        self.error: str | None = None
        self.done = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lprr-record", daemon=True)

    def start(self) -> Recorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        import cv2

        from lprr.engine.capture import open_capture
        from lprr.engine.errors import UserError

        writer = None
        try:
            cap = open_capture(self.source, mirror=self.mirror, paced=True, realtime=True)
            fps = cap.source.fps or 30.0
            self.out.parent.mkdir(parents=True, exist_ok=True)
            with cap:
                t0 = time.monotonic()
                for f in cap:
                    if writer is None:
                        h, w = f.image.shape[:2]
                        writer = cv2.VideoWriter(str(self.out),
                                                 cv2.VideoWriter.fourcc(*"mp4v"), fps, (w, h))
                    writer.write(f.image)
                    self.frames += 1
                    self.progress = min(1.0, (time.monotonic() - t0) / self.seconds)
                    if self.progress >= 1.0 or self._stop.is_set():
                        break
            if not self.frames:
                self.error = f"no frames from {self.source}: {cap.error or 'nothing read'}"
        except (UserError, OSError) as e:
            self.error = str(e)
        finally:
            if writer is not None:
                writer.release()
            self.done = True


class PersonaliseDialog(QDialog):
    """Emits ``models_ready(path)`` when new models are written."""

    models_ready = Signal(str)

    def __init__(self, base_models: str, source: str, parent=None, mirror: bool = False):
        super().__init__(parent)
        self.setWindowTitle("Personalise the models to you")
        self.source, self.mirror = source, mirror
        self.recorder: Recorder | None = None
        self.proc: QProcess | None = None
        self.output_lines: list[str] = []
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(
            "Record a minute of yourself (look around, blink, talk, smile, raise and lower "
            "your brows), or pick a video of you. The models are then fitted to your face; "
            "about 3 minutes on a laptop CPU."))
        form = QFormLayout()
        self.video_edit = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.record_button = QPushButton(f"Record {RECORD_SECONDS} s")
        self.record_button.setToolTip(f"from the current source ({source})")
        self.record_button.clicked.connect(self.toggle_record)
        row = QHBoxLayout()
        row.addWidget(self.video_edit, 1)
        row.addWidget(browse)
        row.addWidget(self.record_button)
        form.addRow("Video of you", row)
        self.base_edit = QLineEdit(base_models)
        form.addRow("Start from", self.base_edit)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.out_edit = QLineEdit(str(config_dir() / "models" / f"personal-{stamp}"))
        form.addRow("New models", self.out_edit)
        self.steps_spin = QSpinBox()
        self.steps_spin.setRange(1, 5000)
        self.steps_spin.setValue(150)
        self.steps_spin.setToolTip("fine-tuning steps per patch (the WEM, taught by "
                                   "MediaPipe's network, gets twice as many)")
        form.addRow("Steps", self.steps_spin)
        lay.addLayout(form)
        self.stage_label = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        lay.addWidget(self.stage_label)
        lay.addWidget(self.bar)
        row = QHBoxLayout()
        self.go_button = QPushButton("Personalise")
        self.go_button.clicked.connect(self.toggle_personalise)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        row.addStretch(1)
        row.addWidget(self.go_button)
        row.addWidget(close)
        lay.addLayout(row)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._poll_recorder)

    # -- recording ----------------------------------------------------------------------
    def _browse(self) -> None:
        from lprr.app.gui.controls_panel import VIDEO_FILTER

        path, _ = QFileDialog.getOpenFileName(self, "A video of you", "", VIDEO_FILTER)
        if path:
            self.video_edit.setText(path)

    def toggle_record(self, seconds: float = RECORD_SECONDS) -> None:
        if self.recorder is not None and not self.recorder.done:
            self.recorder.stop()
            return
        out = cache_dir() / "recordings" / f"performer-{time.strftime('%Y%m%d-%H%M%S')}.mp4"
        self.recorder = Recorder(self.source, out, float(seconds or RECORD_SECONDS),
                                 self.mirror).start()
        self.record_button.setText("Stop recording")
        self.go_button.setEnabled(False)
        self.stage_label.setText("recording…")
        self._timer.start(100)

    def _poll_recorder(self) -> None:
        r = self.recorder
        if r is None:
            return
        self.bar.setValue(int(1000 * r.progress))
        if not r.done:
            return
        self._timer.stop()
        self.record_button.setText(f"Record {RECORD_SECONDS} s")
        self.go_button.setEnabled(True)
        if r.error:
            self.stage_label.setText(f"recording failed: {r.error}")
        else:
            self.video_edit.setText(str(r.out))
            self.stage_label.setText(f"recorded {r.frames} frames to {r.out}")

    # -- personalising ------------------------------------------------------------------
    def command(self) -> list[str]:
        return [sys.executable, "-m", "lprr.app.cli", "train", "personalise",
                "--performer", self.video_edit.text().strip(),
                "--models", self.base_edit.text().strip(),
                "--out", self.out_edit.text().strip(),
                "--steps", str(self.steps_spin.value()),
                "--wem-steps", str(2 * self.steps_spin.value()), "--progress-lines"]

    def toggle_personalise(self) -> None:
        if self.proc is not None and self.proc.state() != QProcess.ProcessState.NotRunning:
            self.proc.kill()  # its checkpoints stay in the cache: the next run resumes
            self.stage_label.setText("cancelled (a new run resumes where this one stopped)")
            return
        if not self.video_edit.text().strip():
            self.stage_label.setText("pick or record a video of you first")
            return
        cmd = self.command()
        self.output_lines = []
        self.proc = QProcess(self)
        self.proc.setProcessChannelMode(QProcess.ProcessChannelMode.SeparateChannels)
        self.proc.readyReadStandardOutput.connect(self._read_stdout)
        self.proc.readyReadStandardError.connect(self._read_stderr)
        self.proc.finished.connect(self._finished)
        self.go_button.setText("Cancel")
        self.record_button.setEnabled(False)
        self.bar.setValue(0)
        self.stage_label.setText("starting…")
        self.proc.start(cmd[0], cmd[1:])

    def _read_stdout(self) -> None:
        assert self.proc is not None
        data = bytes(self.proc.readAllStandardOutput().data()).decode("utf-8", "replace")
        for line in data.splitlines():
            if line.startswith("progress "):
                _, frac, stage = line.split(" ", 2)
                self.bar.setValue(int(1000 * float(frac)))
                self.stage_label.setText(stage)
            elif line.strip():
                self.output_lines.append(line)

    def _read_stderr(self) -> None:
        assert self.proc is not None
        data = bytes(self.proc.readAllStandardError().data()).decode("utf-8", "replace")
        # tqdm redraws with \r; keep whole lines for the error message
        self.output_lines.extend(ln for ln in data.replace("\r", "\n").splitlines()
                                 if ln.strip() and "it/s" not in ln and "step/s" not in ln
                                 and "frame/s" not in ln)

    def _finished(self, code: int, _status) -> None:
        self.go_button.setText("Personalise")
        self.record_button.setEnabled(True)
        out = self.out_edit.text().strip()
        if code == 0 and (Path(out) / "manifest.json").is_file():
            self.bar.setValue(1000)
            summary = next((ln for ln in self.output_lines
                            if ln.startswith("personalised models")), "")
            self.stage_label.setText(f"done: switched to {out}. {summary}")
            self.models_ready.emit(out)
        elif self.stage_label.text().startswith("cancelled"):
            pass
        else:
            last = next((ln for ln in reversed(self.output_lines)
                         if ln.startswith("lprr") or "error" in ln.lower()),
                        self.output_lines[-1] if self.output_lines else f"exit code {code}")
            self.stage_label.setText(f"failed: {last}")

    def reject(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()
        super().reject()
