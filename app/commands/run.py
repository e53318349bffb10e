"""``lprr run``: a camera or file through the models, weights out over OSC, headless."""
from __future__ import annotations

import argparse
import sys
import threading
from pathlib import Path

from lprr.app import stopping
from lprr.app.commands.wire import add_protocol_option, add_wire_options
from lprr.engine.backends import BACKEND_NAMES
from lprr.engine.face.landmarks import FACE_PICKS, LANDMARKERS
from lprr.engine.methods import DEFAULT_METHOD, METHODS
from lprr.engine.paths import DEFAULT_MODELS
from lprr.engine.post.one_euro import SMOOTHING_PRESETS

# What each registered method is, for --help; the list itself is lprr.engine.methods.METHODS.
_METHOD_ABOUT = {
    "lprr": "the trained local-patch models",
    "mediapipe": "MediaPipe's own blendshape scores, no training; the default: best on "
                 "real footage (docs/accuracy.md)",
    "f2f": "training-free expression fitting and deformation transfer",
    "heuristic": "landmark rules",
}
METHOD_HELP = "retargeting method: " + ", ".join(
    f"{n} ({_METHOD_ABOUT[n]})" if n in _METHOD_ABOUT else n for n in METHODS)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="live retargeting, headless, streaming OSC",
                       description="Runs a webcam (index), a video file, an image folder or "
                       "puppet:PHOTO through the models and streams the weights. Files and "
                       "folders are processed frame by frame (none dropped) unless "
                       "--realtime; cameras keep the newest frame.")
    p.add_argument("--source", default="0", help="camera index, file, folder or puppet:PHOTO")
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    add_backend_option(p)
    p.add_argument("--osc", default=None, help="HOST:PORT (default host 127.0.0.1)")
    add_protocol_option(p)
    add_wire_options(p)
    p.add_argument("--record", type=Path, default=None, help="write weights to .csv or .jsonl")
    p.add_argument("--mirror", action="store_true")
    p.add_argument("--calibrate", type=float, default=0.0, metavar="SECONDS",
                   help="capture a neutral face for this long at the start")
    p.add_argument("--mapping", type=Path, default=None, help="per-control mapping TOML")
    p.add_argument("--smoothing", default="default", choices=list(SMOOTHING_PRESETS),
                   help="One Euro smoothing preset (off: the method's raw output)")
    p.add_argument("--duration", type=float, default=None, help="stop after SECONDS")
    p.add_argument("--realtime", action="store_true",
                   help="play a file or folder like a camera: paced at its fps, dropping "
                        "frames when behind (default: every frame of a file is processed)")
    p.add_argument("--method", default=DEFAULT_METHOD, help=METHOD_HELP)
    p.add_argument("--calibration", type=Path, default=None, metavar="TAKE",
                   help="landmark methods (heuristic, f2f; an error for the others): an "
                        "unlabelled video or take of the performer that starts with a neutral "
                        "face (e.g. a ROM take); without it the first second of the stream is "
                        "taken as neutral")
    p.add_argument("--landmarker", default=None, choices=LANDMARKERS,
                   help="the front end (default: what the method reads: FaceMesh, or for "
                        "mediapipe 'onnx', MediaPipe's FaceLandmarker network in ONNX Runtime "
                        "tracked by lprr). 'tasks' runs MediaPipe's own FaceLandmarker graph: "
                        "the same scores on real footage at about half the speed; mediapipe "
                        "on 'facemesh' scores FaceMesh's landmarks, a little less accurate "
                        "(docs/accuracy.md)")
    add_face_options(p)
    p.set_defaults(func=run)


def add_backend_option(p: argparse.ArgumentParser, default: str = "auto") -> None:
    """``--backend``, one choice per engine the registry (lprr.engine.backends) knows."""
    p.add_argument("--backend", default=default, choices=["auto", *BACKEND_NAMES],
                   help="inference engine: auto (the best one usable here; lprr doctor "
                        f"lists them) or one by name (default {default})")


def add_face_options(p: argparse.ArgumentParser) -> None:
    """Which face is read (shared by run and gui)."""
    p.add_argument("--face", default="largest", choices=list(FACE_PICKS),
                   help="with several faces in view, the one followed first (then it is kept "
                        "by its position until lost for half a second)")
    p.add_argument("--min-face", type=float, default=None, metavar="PX",
                   help="smallest face read, in pixels between the eye centres (default: the "
                        "method's own, measured on real faces: README, 'Small faces'); "
                        "smaller faces read as no face; 0 reads every face")


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    stopping.arm(stop)  # from here a signal ends the session cleanly (app/stopping.py)
    from lprr.engine.session import SessionSpec, run_live

    options = {"calibration": args.calibration} if args.calibration is not None else {}
    spec = SessionSpec(source=args.source, models=args.models, method=args.method,
                       backend=args.backend, options=options, mirror=args.mirror,
                       realtime=args.realtime, osc=args.osc, protocol=args.protocol,
                       names=args.names, subject=args.subject, record=args.record,
                       smoothing=args.smoothing, mapping=args.mapping,
                       calibrate_s=args.calibrate, face=args.face, min_face_px=args.min_face,
                       landmarker=args.landmarker)

    def status(line: str) -> None:
        sys.stderr.write("\r" + line)
        sys.stderr.flush()

    summary = run_live(spec, status if sys.stderr.isatty() else None, stop=stop,
                       duration_s=args.duration)
    print(("\n" if sys.stderr.isatty() else "") + summary)
    return 0
