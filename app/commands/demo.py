"""``lprr demo``: the bundled performer clip through the shipped models, no camera needed."""
from __future__ import annotations

import argparse
import logging
from pathlib import Path

from lprr.app.commands.run import METHOD_HELP, add_backend_option
from lprr.app.commands.wire import add_protocol_option, add_wire_options
from lprr.engine.methods import DEFAULT_METHOD
from lprr.engine.paths import ASSETS, DEFAULT_MODELS

log = logging.getLogger(__name__)
DEMO_CLIP = ASSETS / "demo" / "clip" / "frames.avi"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the bundled demo clip through the default models",
                       description="Runs the bundled performer clip through the shipped "
                       "models, prints per-stage latency and fps, and writes a weights CSV "
                       "and a preview video.")
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    p.add_argument("--source", type=Path, default=DEMO_CLIP,
                   help="a video or image folder (default: the bundled clip)")
    add_backend_option(p)
    p.add_argument("--out", type=Path, default=Path("out/demo"))
    p.add_argument("--osc", default=None, help="HOST:PORT to stream to, e.g. 127.0.0.1:9001")
    add_protocol_option(p)
    add_wire_options(p)
    p.add_argument("--no-preview", action="store_true", help="skip the preview video")
    p.add_argument("--method", default=DEFAULT_METHOD, help=METHOD_HELP)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lprr.engine.session import DemoSession

    session = DemoSession(models=args.models, source=args.source, backend=args.backend,
                          out=args.out, osc=args.osc, protocol=args.protocol,
                          method=args.method, names=args.names, subject=args.subject)
    report = session.run(preview=not args.no_preview)
    print(report)
    return 0
