"""How fast the real window draws: the demo clip (or any source) through the real pipeline,
unpaced (fed as fast as the pipeline takes it) and paced (at the file's own fps), under
whatever Qt platform is current (Xvfb, a desktop, offscreen).

Per phase: frames drawn a second, pipeline fps, results the display skipped, GUI-thread time
per redraw (take + hand to the views + the paint that follows), paints and curve refreshes,
the presenter thread's preparation time per frame, the GUI thread's busy share, and the
process' CPU use. ``scripts/gui_fps.py`` is the command line.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, cast

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from lprr.app.gui.main_window import DEMO_CLIP, MainWindow
from lprr.engine.errors import UserError
from lprr.engine.paths import DEFAULT_MODELS


@dataclass
class Phase:
    mode: str  # unpaced | paced
    run: int
    seconds: float
    drawn_fps: float
    pipeline_fps: float
    skipped: int  # results the pipeline made that the display never showed
    skipped_pct: float
    redraw_ms_mean: float
    redraw_ms_p95: float
    paint_ms_mean: float
    paint_ms_p95: float
    curves_ms_mean: float
    curves_hz: float
    prepare_ms_mean: float  # presenter thread (not the GUI thread)
    prepare_ms_p95: float
    gui_busy_pct: float  # share of the wall time the GUI thread spent drawing and painting
    process_cpu_pct: float  # all threads; 200 = both cores of a 2-core machine
    latency_ms_median: float
    scaled_paints: int  # paints that had to scale (the view was resized after preparing)
    backend: str = "-"  # the inference engine the session used


@dataclass
class Report:
    platform: str  # Qt platform plugin
    source: str
    models: str
    backend: str
    seconds: float
    character_process: bool = True
    phases: list[Phase] = field(default_factory=list)
    machine: dict = field(default_factory=dict)

    def best_and_median(self) -> dict[str, dict[str, float]]:
        """mode -> {best, median} of drawn fps over the runs."""
        out = {}
        for mode in dict.fromkeys(p.mode for p in self.phases):
            fps = [p.drawn_fps for p in self.phases if p.mode == mode]
            out[mode] = {"best": max(fps), "median": statistics.median(fps), "runs": len(fps)}
        return out

    def table(self) -> str:
        head = (f"{'mode':8} {'run':>3} {'drawn':>6} {'pipe':>6} {'skip%':>6} "
                f"{'redraw ms':>11} {'paint ms':>10} {'curves':>11} {'prepare ms':>11} "
                f"{'gui%':>5} {'cpu%':>5} {'lat ms':>6}")
        rows = [head, "-" * len(head)]
        for p in self.phases:
            rows.append(
                f"{p.mode:8} {p.run:>3} {p.drawn_fps:6.1f} {p.pipeline_fps:6.1f} "
                f"{p.skipped_pct:6.1f} {p.redraw_ms_mean:5.1f}/{p.redraw_ms_p95:5.1f} "
                f"{p.paint_ms_mean:4.1f}/{p.paint_ms_p95:5.1f} "
                f"{p.curves_ms_mean:4.1f}@{p.curves_hz:4.1f}Hz "
                f"{p.prepare_ms_mean:5.1f}/{p.prepare_ms_p95:5.1f} {p.gui_busy_pct:5.1f} "
                f"{p.process_cpu_pct:5.0f} {p.latency_ms_median:6.1f}")
        rows.append("drawn = frames drawn/s; pipe = results/s; skip% = results never shown; "
                    "x/y = mean/p95; redraw = GUI thread per new frame (take + views + paint); "
                    "prepare = presenter thread per frame")
        for mode, s in self.best_and_median().items():
            rows.append(f"{mode}: drawn fps best {s['best']:.1f}, median {s['median']:.1f} "
                        f"over {s['runs']} run(s)")
        return "\n".join(rows)


def _spin(seconds: float) -> None:
    loop = QEventLoop()
    QTimer.singleShot(max(0, int(seconds * 1000)), loop.quit)
    loop.exec()


def _wait_running(win: MainWindow, timeout: float) -> None:
    t_end = time.monotonic() + timeout
    while win.session.state != "running":
        if win.session.state == "stopped" and win.last_error:
            raise UserError(f"the session did not start: {win.last_error}")
        if time.monotonic() > t_end:
            raise UserError(f"the session did not start within {timeout:.0f} s")
        _spin(0.05)


def machine_info() -> dict:
    """What else was running (top's first lines), load and CPU count."""
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    try:
        info["loadavg"] = os.getloadavg()
    except OSError:
        pass
    if shutil.which("top"):
        try:
            out = subprocess.run(["top", "-bn1", "-c", "-w", "160"], check=False,
                                 capture_output=True, text=True, timeout=5).stdout
            info["top"] = out.splitlines()[:15]
        except (OSError, subprocess.SubprocessError):
            pass
    try:
        import PySide6

        info["pyside6"] = PySide6.__version__
    except (ImportError, AttributeError):
        pass
    return info


def measure_phase(win: MainWindow, mode: str, seconds: float, warmup: float, run: int
                  ) -> Phase:
    win.paced = mode == "paced"
    win.start()
    _wait_running(win, 60.0)
    _spin(warmup)  # first frames: model warm-up, caches, the plots' first layout
    pipe = win.session.pipeline
    views = [win.source_view, win.character_view, *win.patch_strip.source.values(),
             *win.patch_strip.reenacted.values()]
    scaled0 = sum(v.scaled_paints for v in views)
    n0 = pipe.frames_out if pipe is not None else 0
    lat0 = len(win.fps_samples)
    win.meter.reset()
    cpu0, t0 = os.times(), time.perf_counter()
    _spin(seconds)
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    s = win.meter.summary()
    pipe = win.session.pipeline
    done = (pipe.frames_out - n0) if pipe is not None else 0
    lat = [x[2] for x in win.fps_samples[lat0:]]
    if win.session.state != "running":
        raise UserError(f"the session stopped during the measurement: {win.last_error}")
    backend = win.session.stats().backend
    win.stop()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    drawn = s["drawn"]
    return Phase(
        mode=mode, run=run, seconds=wall, drawn_fps=drawn / wall, pipeline_fps=done / wall,
        skipped=max(0, done - drawn), skipped_pct=100.0 * max(0, done - drawn) / max(1, done),
        redraw_ms_mean=s["redraw_ms"]["mean"], redraw_ms_p95=s["redraw_ms"]["p95"],
        paint_ms_mean=s["paint_ms"]["mean"], paint_ms_p95=s["paint_ms"]["p95"],
        curves_ms_mean=s["curves_ms"]["mean"], curves_hz=s["curves_ms"]["n"] / wall,
        prepare_ms_mean=s["prepare_ms"]["mean"], prepare_ms_p95=s["prepare_ms"]["p95"],
        gui_busy_pct=100.0 * s["gui_busy"], process_cpu_pct=100.0 * cpu / wall,
        latency_ms_median=statistics.median(lat) if lat else float("nan"),
        scaled_paints=sum(v.scaled_paints for v in views) - scaled0, backend=backend)


def run_benchmark(models: Path = DEFAULT_MODELS, source: str | Path = DEMO_CLIP,
                  backend: str = "auto", seconds: float = 10.0, warmup: float = 2.0,
                  repeat: int = 1, modes: tuple[str, ...] = ("unpaced", "paced"),
                  size: tuple[int, int] = (1600, 1000), method: str | None = None,
                  character_process: bool = True) -> Report:
    """Open the window, run each mode ``repeat`` times (interleaved), close the window."""
    for m in modes:
        if m not in ("unpaced", "paced"):
            raise UserError(f"unknown mode {m!r}: use unpaced and/or paced")
    # instance() is typed QCoreApplication; the GUI's is a QApplication
    app = cast(QApplication, QApplication.instance() or QApplication(["lprr-gui-fps"]))
    win = MainWindow(models=models, source=str(source), backend=backend, method=method,
                     character_process=character_process)
    win.resize(*size)
    win.show()
    rep = Report(platform=app.platformName(), source=str(source), models=str(models),
                 backend=backend, seconds=seconds, character_process=character_process,
                 machine=machine_info())
    try:
        _spin(0.3)  # laid out and painted once
        for run in range(1, repeat + 1):
            for mode in modes:
                rep.phases.append(measure_phase(win, mode, seconds, warmup, run))
    finally:
        win.close()
    return rep


def write_json(rep: Report, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = asdict(rep)
    data["summary"] = rep.best_and_median()
    path.write_text(json.dumps(data, indent=1))
    return path
