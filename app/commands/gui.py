"""``lprr gui``: the desktop app for a live session (PySide6 + pyqtgraph)."""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from lprr.app.commands.run import add_backend_option
from lprr.app.commands.wire import add_protocol_option
from lprr.engine.errors import UserError
from lprr.engine.paths import DEFAULT_MODELS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gui", help="the live session in a window: video, patches, character, "
                       "curves, tuning",
                       description="Opens the lprr window. Pick a camera or a video, press "
                       "Start; tune calibration, smoothing, mapping and outputs while it runs.")
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    p.add_argument("--source", default=None,
                   help="camera index, video file, image folder or puppet:PHOTO "
                   "(default: the first camera, else the demo clip)")
    add_backend_option(p)
    p.add_argument("--method", default=None,
                   help="retargeting method (lprr.engine.methods; default: the best on real "
                   "footage, mediapipe); also in the window")
    p.add_argument("--osc", default=None, help="HOST:PORT to stream to from the start")
    add_protocol_option(p)
    p.add_argument("--start", action="store_true", help="start the session at once")
    p.add_argument("--quit-after", type=float, default=None, metavar="SECONDS",
                   help="close after SECONDS of running and print the measured fps")
    p.add_argument("--screenshot", type=Path, default=None,
                   help="with --quit-after: save the window as an image just before closing")
    p.add_argument("--realtime", action="store_true",
                   help="files drop frames when the pipeline is behind, as a camera does "
                   "(default: every frame, paced at the file's fps); also a checkbox")
    p.add_argument("--unpaced", action="store_true",
                   help="read files as fast as the pipeline takes them (throughput test; "
                   "scripts/gui_fps.py measures both ways)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication
    except ImportError as e:
        raise UserError(f"the GUI needs PySide6 and pyqtgraph ({e}), which lprr depends on: "
                        "reinstall lprr (pip install -e . in the source tree)") from None
    from lprr.app.gui.display import check_display

    check_display()  # before QApplication: Qt would abort with several lines of its own
    from lprr.app.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    app.setApplicationName("lprr")
    win = MainWindow(models=args.models, source=args.source, backend=args.backend,
                     paced=not args.unpaced, method=args.method)
    win.panel.realtime_check.setChecked(args.realtime)
    if args.osc:
        win.panel.protocol_combo.setCurrentIndex(win.panel.protocol_combo.findData(args.protocol))
        host, _, port = args.osc.rpartition(":")
        win.panel.host_edit.setText(host or "127.0.0.1")
        if port.isdigit():
            win.panel.port_spin.setValue(int(port))
        win.panel.send_check.setChecked(True)
        win.panel.emit_output()

    # An exception in a slot is shown in the window instead of only on the terminal.
    def excepthook(kind, value, tb):
        sys.__excepthook__(kind, value, tb)
        win.show_error(f"internal error: {kind.__name__}: {value}")

    sys.excepthook = excepthook
    win.show()
    if args.start or args.quit_after is not None:
        win.start()
    if args.quit_after is not None:
        def finish() -> None:
            if win.session.state != "running":
                return
            if args.screenshot:
                args.screenshot.parent.mkdir(parents=True, exist_ok=True)
                win.grab().save(str(args.screenshot))
            win.close()

        def arm(_: str) -> None:  # count from when frames flow, not from model loading
            QTimer.singleShot(int(args.quit_after * 1000), finish)

        win.session.started.connect(arm)
        win.session.failed.connect(lambda _: win.close())
    code = app.exec()
    sys.excepthook = sys.__excepthook__
    if args.quit_after is not None:
        if win.last_error:
            raise UserError(win.last_error)
        print(summary(win))
    return code


def summary(win) -> str:
    """What the window measured: frames shown and processed over the whole run, and the
    median/min of the 0.5 s status samples after the first second (model warm-up)."""
    samples = win.fps_samples[2:] or win.fps_samples
    if not samples or win.run_totals is None:
        return "lprr gui: no frames were shown"
    secs, shown, done = win.run_totals
    disp = [s[1] for s in samples]
    lat = [s[2] for s in samples]
    redraw = win.meter.summary()["redraw_ms"]
    return (f"lprr gui: {shown} frames shown, {done} processed in {secs:.1f} s: display "
            f"{shown / secs:.1f} fps (0.5 s windows: median {statistics.median(disp):.1f}, "
            f"min {min(disp):.1f}), pipeline {done / secs:.1f} fps, latency "
            f"{statistics.median(lat):.1f} ms median, GUI thread {redraw['mean']:.1f} ms a "
            f"redraw (p95 {redraw['p95']:.1f}); closed cleanly: {win.closed_cleanly}")
