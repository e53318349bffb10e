"""``lprr train rm|wem|all``: train the RM and WEM (needs the [train] extra: torch)."""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from lprr.engine.errors import UserError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run", type=Path, default=Path("runs/default"),
                   help="folder for checkpoints and sample grids (resumes if present)")
    p.add_argument("--steps", type=int, default=3000)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda")
    p.add_argument("--sample-every", type=int, default=500)
    p.add_argument("--max-frames", type=int, default=None)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train the RM / WEM models (needs torch)")
    tsub = p.add_subparsers(dest="what", required=True, metavar="WHAT")
    rm = tsub.add_parser("rm", help="train the per-patch reenactment modules")
    rm.add_argument("--performer", required=True, type=Path,
                    help="a performer take folder or any video of the performer")
    rm.add_argument("--character", required=True, type=Path, help="a character take folder")
    rm.add_argument("--patch", default="all", help="lip, eye_l, eye_r or all")
    _common(rm)
    wem = tsub.add_parser("wem", help="train the weight estimation module")
    wem.add_argument("--character", required=True, type=Path)
    wem.add_argument("--k", type=int, default=20, help="PCA components (20 for stylised)")
    wem.add_argument("--through-rm", type=float, default=0.5,
                     help="share of each batch passed through the character autoencoder")
    _common(wem)
    al = tsub.add_parser("all", help="extract, PCA, RM for each patch, WEM, export")
    al.add_argument("--performer", required=True, type=Path)
    al.add_argument("--character", required=True, type=Path)
    al.add_argument("--out", required=True, type=Path, help="export folder, e.g. exported/me")
    al.add_argument("--k", type=int, default=20)
    al.add_argument("--wem-steps", type=int, default=None)
    _common(al)
    pe = tsub.add_parser(
        "personalise", help="fit the shipped models to one performer from an unlabelled clip "
        "(minutes on a CPU)")
    pe.add_argument("--performer", required=True, type=Path,
                    help="a video (or image folder) of the performer, 30 s to a few minutes")
    pe.add_argument("--models", type=Path, default=None,
                    help="the models to start from (default: the shipped ones)")
    pe.add_argument("--out", required=True, type=Path, help="new model folder, e.g. models/me")
    pe.add_argument("--character", type=Path, default=None,
                    help="the character take the models were trained on (default: a short "
                    "demo-character take, rendered)")
    pe.add_argument("--steps", type=int, default=None,
                    help="fine-tuning steps per patch (default 150: about 2 min on 2 cores)")
    pe.add_argument("--holdout", type=float, default=None,
                    help="share of the clip (its end) kept out of training to check the "
                    "result on (default 0.25)")
    pe.add_argument("--threads", type=int, default=None, help="torch threads")
    pe.add_argument("--keep", default="auto", choices=("auto", "fine-tuned", "sketch only"),
                    help="which RM to export: auto (default) lets the held-out frames decide")
    pe.add_argument("--teacher", default="mediapipe", choices=("mediapipe", "none"),
                    help="mediapipe (default): also teach the WEM what MediaPipe's blendshape "
                    "network reads on the clip (kept only if the held-out frames agree); "
                    "none: the WEM as shipped")
    pe.add_argument("--wem-steps", type=int, default=None,
                    help="WEM teaching steps (default 300)")
    pe.add_argument("--progress-lines", action="store_true",
                    help="also print 'progress FRACTION STAGE' lines on stdout (for the GUI)")
    p.set_defaults(func=run)


def run_personalise(args: argparse.Namespace) -> int:
    try:
        from lprr.models.personalise import PersonaliseConfig, personalise
    except ImportError as e:
        raise UserError(f"personalisation needs torch: pip install -e '.[train]' ({e})") from None
    from lprr.engine.paths import DEFAULT_MODELS

    cfg = PersonaliseConfig()
    cfg.keep = args.keep
    cfg.teacher = args.teacher
    for key in ("steps", "holdout", "threads", "wem_steps"):
        if getattr(args, key) is not None:
            setattr(cfg, key, getattr(args, key))
    if not 0.0 <= cfg.holdout < 0.9:
        raise UserError("--holdout must be in [0, 0.9)")
    def lines(stage: str, frac: float) -> None:
        print(f"progress {frac:.3f} {stage}", flush=True)

    report = personalise(args.performer, args.models or DEFAULT_MODELS, args.out, cfg,
                         character=args.character,
                         on_progress=lines if args.progress_lines else None)
    print(report.summary())
    print(f"use them: lprr run --models {args.out} ...  (or Models... in the GUI)")
    return 0


def run(args: argparse.Namespace) -> int:
    if args.what == "personalise":
        return run_personalise(args)
    try:
        from lprr.models import chain as mp
        from lprr.models.training import TrainConfig
    except ImportError as e:
        raise UserError(f"training needs torch: pip install -e '.[train]' ({e})") from None
    for attr in ("performer", "character"):
        path = getattr(args, attr, None)
        if path is not None and not path.exists():
            raise UserError(f"no such file or folder: {path}")
    cfg = TrainConfig(steps=args.steps, batch=args.batch, lr=args.lr, seed=args.seed,
                      device=args.device, sample_every=args.sample_every,
                      ckpt_every=args.sample_every, max_frames=args.max_frames)
    t0 = time.time()
    if args.what in ("rm", "all"):
        mp.record_run(args.run, performer=str(args.performer), character=str(args.character),
                      rm=cfg)
        mp.run_rm(args.performer, args.character, args.run,
                  getattr(args, "patch", "all"), cfg)
    if args.what in ("wem", "all"):
        wcfg = cfg
        if getattr(args, "wem_steps", None):
            wcfg = TrainConfig(**{**cfg.__dict__, "steps": args.wem_steps})
        mp.record_run(args.run, character=str(args.character), wem=wcfg)
        mp.run_wem(args.character, args.run, wcfg, args.k, getattr(args, "through_rm", 0.5))
    if args.what == "all":
        mp.record_run(args.run, train_seconds=round(time.time() - t0, 1))
        path = mp.export_run(args.run, args.out)
        print(f"exported {path}")
    print(f"done in {time.time() - t0:.0f} s; checkpoints and samples in {args.run}")
    return 0
