"""``lprr export --run RUN --out exported/NAME``: ONNX + PCA + manifest from a training run."""
from __future__ import annotations

import argparse
from pathlib import Path

from lprr.engine.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export a training run to ONNX with a manifest")
    p.add_argument("--run", type=Path, default=Path("runs/default"))
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--name", default=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        from lprr.models.chain import export_run
    except ImportError as e:
        raise UserError(f"export needs torch: pip install -e '.[train]' ({e})") from None
    print(f"exported {export_run(args.run, args.out, args.name)}")
    return 0
