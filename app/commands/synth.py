"""``lprr synth``: demo-world takes (character, performer puppet) and the PCA of rig weights.

    lprr synth character --frames N --out DIR [--seed S] [--rom] [--size 256] [--jitter 0.02]
    lprr synth performer --photo PATH --frames N --out DIR [--seed S] [--rom] [--size 256]
    lprr synth pca TAKE [TAKE ...] --out FILE.npz [--var 0.99]
"""
from __future__ import annotations

import argparse
from pathlib import Path

from lprr.engine.errors import UserError


def _positive(v: str) -> int:
    n = int(v)
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {n}")
    return n


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--frames", type=_positive, required=True,
                   help="number of frames (with --rom: the ROM is fitted into about this many)")
    p.add_argument("--out", type=Path, required=True, help="take folder to write")
    p.add_argument("--seed", type=int, default=0, help="seed of everything random (default 0)")
    p.add_argument("--rom", action="store_true",
                   help="range-of-motion take (each control alone 0->1->0) instead of a "
                        "natural performance")
    p.add_argument("--webcam", action="store_true",
                   help="a natural performance after 1.5 s of a neutral face, as a webcam "
                        "session starts (the benchmark's neutral stretch)")
    p.add_argument("--size", type=_positive, default=256, help="frame size in pixels (square)")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate written to the take")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("synth", help="generate demo-world takes and the rig-weight PCA",
                       description="Generate takes with known rig weights: the demo "
                       "character, a performer puppet made from a photo, or fit the PCA "
                       "of rig weights over takes.")
    kinds = p.add_subparsers(dest="kind", required=True, metavar="KIND")

    c = kinds.add_parser("character", help="render the demo character")
    _common(c)
    c.add_argument("--jitter", type=float, default=0.02,
                   help="camera jitter: shift std as a fraction of the frame, with a few degrees "
                        "of rotation per 0.02 (0 = fixed camera; default 0.02)")
    c.set_defaults(func=run_character)

    f = kinds.add_parser("performer", help="puppeteer a face photo (webcam-like frames)")
    f.add_argument("--photo", required=True, type=Path, help="a photo with one frontal face")
    _common(f)
    f.add_argument("--head", type=float, default=1.0,
                   help="head-motion amount (0 = still head; default 1)")
    f.add_argument("--clean", action="store_true",
                   help="no webcam degradations (light drift, noise, blur, JPEG)")
    f.set_defaults(func=run_performer)

    q = kinds.add_parser("pca", help="fit the un-normalised PCA of the takes' rig weights")
    q.add_argument("takes", nargs="+", type=Path, help="take folders with weights.csv")
    q.add_argument("--out", type=Path, required=True, help="output .npz file")
    q.add_argument("--var", type=float, default=0.99,
                   help="keep the fewest components explaining this share (default 0.99)")
    q.set_defaults(func=run_pca)


def _bar(desc: str, total: int):
    from tqdm import tqdm

    return lambda it: tqdm(it, total=total, unit="frame", desc=desc, dynamic_ncols=True)


def _report(res) -> None:
    print(f"{res.frames} frames -> {res.out} in {res.seconds:.1f} s "
          f"({res.fps:.1f} frames/s)")


def run_character(args: argparse.Namespace) -> int:
    from lprr.engine.world.synth import character_take, take_weights

    gen = "rom" if args.rom else "webcam" if args.webcam else "natural"
    n = len(take_weights(gen, args.frames, args.fps, 0))
    res = character_take(args.out, args.frames, seed=args.seed, generator=gen, size=args.size,
                         fps=args.fps, jitter=args.jitter, progress=_bar("character", n))
    _report(res)
    return 0


def run_performer(args: argparse.Namespace) -> int:
    from lprr.engine.world.synth import performer_take, take_weights

    if not args.photo.is_file():
        raise UserError(f"photo not found: {args.photo}")
    gen = "rom" if args.rom else "webcam" if args.webcam else "natural"
    n = len(take_weights(gen, args.frames, args.fps, 0))
    res = performer_take(args.photo, args.out, args.frames, seed=args.seed, generator=gen,
                         size=args.size, fps=args.fps, head=args.head,
                         realism=not args.clean, progress=_bar("performer", n))
    _report(res)
    return 0


def run_pca(args: argparse.Namespace) -> int:
    import numpy as np

    from lprr.engine.controls import CONTROL_NAMES
    from lprr.engine.pca import Pca
    from lprr.engine.take import Take, TakeError

    if not 0 < args.var <= 1:
        raise UserError(f"--var must be in (0, 1], got {args.var}")
    chunks = []
    for path in args.takes:
        try:
            take = Take(path)
            chunks.append(take.weights_for(CONTROL_NAMES))
        except TakeError as e:
            raise UserError(str(e)) from None
    weights = np.concatenate(chunks)
    if len(weights) < 2:
        raise UserError("need at least 2 frames of weights to fit a PCA")
    full = Pca.fit(weights, CONTROL_NAMES, k=len(CONTROL_NAMES))
    k = full.components_for(args.var)
    pca = full.truncated(k)
    out = pca.save(args.out)
    print(f"{len(weights)} frames from {len(args.takes)} take(s), {len(CONTROL_NAMES)} controls")
    for v in (0.95, 0.99):
        print(f"  {v:.0%} of the variance: {full.components_for(v)} components")
    print(f"kept k={pca.k} ({float(pca.cumulative_ratio[-1]):.2%}) -> {out}")
    return 0
