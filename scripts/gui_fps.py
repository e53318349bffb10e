"""Measure how fast the lprr window draws, on the demo clip, under the current Qt platform.

Runs the real window (real pipeline, real models) for SECONDS per mode: unpaced (the clip
fed as fast as the pipeline takes it) and paced (at the clip's own 30 fps); prints a table
and writes JSON (frames drawn a second, pipeline fps, frames the display skipped, GUI-thread
time per redraw mean/p95, the presenter's preparation time, CPU use, what else ran).

    xvfb-run -a -s "-screen 0 1600x1000x24" python scripts/gui_fps.py --seconds 10 --repeat 3
    QT_QPA_PLATFORM=offscreen python scripts/gui_fps.py --seconds 5
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's start-up lines

from lprr.app.gui.benchmark import run_benchmark, write_json
from lprr.app.gui.main_window import DEMO_CLIP
from lprr.engine.errors import UserError
from lprr.engine.paths import DEFAULT_MODELS


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="measured seconds per phase")
    ap.add_argument("--warmup", type=float, default=2.0, help="seconds before measuring")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each mode (interleaved)")
    ap.add_argument("--modes", default="unpaced,paced")
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--source", default=str(DEMO_CLIP))
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--method", default=None, help="lprr.engine.methods name (default: lprr)")
    ap.add_argument("--size", default="1600x1000", help="window size WxH")
    ap.add_argument("--character-in-process", action="store_true",
                    help="render the character preview in the GUI process (for comparison)")
    ap.add_argument("--json", type=Path, default=Path("out/gui_fps.json"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if sys.platform.startswith("linux") and not (os.environ.get("QT_QPA_PLATFORM")
                                                 or os.environ.get("DISPLAY")
                                                 or os.environ.get("WAYLAND_DISPLAY")):
        print("gui_fps: no display: run under xvfb-run or with QT_QPA_PLATFORM=offscreen",
              file=sys.stderr)
        return 2
    w, _, h = args.size.partition("x")
    try:
        rep = run_benchmark(models=args.models, source=args.source, backend=args.backend,
                            seconds=args.seconds, warmup=args.warmup, repeat=args.repeat,
                            modes=tuple(m.strip() for m in args.modes.split(",") if m.strip()),
                            size=(int(w), int(h)), method=args.method,
                            character_process=not args.character_in_process)
    except UserError as e:
        print(f"gui_fps: {e}", file=sys.stderr)
        return 2
    print(f"platform {rep.platform}, {rep.machine.get('cpus')} CPUs, load "
          f"{rep.machine.get('loadavg')}, backend {rep.phases[0].backend if rep.phases else '-'}")
    print(rep.table())
    print(f"wrote {write_json(rep, args.json)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
