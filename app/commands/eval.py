"""``lprr eval --take TAKE``: score the models on a take with ground-truth weights."""
from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from engine.paths import DEFAULT_MODELS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score retargeting accuracy on a labelled take")
    p.add_argument("--take", required=True, type=Path)
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    p.add_argument("--backend", default="ort-cpu")
    p.add_argument("--out", type=Path, default=None, help="folder for scores.json")
    p.set_defaults(func=run)


def _fmt(v: float) -> str:
    return "  n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:5.3f}"


def run(args: argparse.Namespace) -> int:
    from engine.errors import UserError
    from engine.evaluate import evaluate_take

    if not args.take.is_dir():
        raise UserError(f"no such take folder: {args.take}")
    s = evaluate_take(args.take, args.models, args.backend)
    print(f"{s['frames']} frames ({s['faces_found']} with a face); "
          f"mean absolute error over all controls: {s['overall_mae']:.4f}")
    print("| control | MAE | r | jitter ratio |\n|---|---|---|---|")
    for n, c in s["key"].items():
        print(f"| {n} | {_fmt(c['mae'])} | {_fmt(c['r'])} | {_fmt(c['jitter_ratio'])} |")
    for region, r in s["regions"].items():
        print(f"| region {region} | {_fmt(r['mae'])} | {_fmt(r['r'])} | |")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "scores.json").write_text(json.dumps(s, indent=2))
    return 0
