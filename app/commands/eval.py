"""``lprr eval --take TAKE [--method lprr,heuristic|all]``: score methods side by side on a
take with ground-truth weights (the weights are used only for scoring)."""
from __future__ import annotations

import argparse
from pathlib import Path

from lprr.app.commands.run import add_backend_option
from lprr.engine.face.landmarks import LANDMARKERS
from lprr.engine.paths import DEFAULT_MODELS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score retargeting accuracy on a labelled take",
                       description="Run each method over every frame of a take through the "
                       "live engine code and score it against the take's ground-truth "
                       "weights: MAE, Pearson r and jitter per control, region and overall, "
                       "and blink events. Writes scores.json, accuracy.md, curves.png and "
                       "the predicted weights with --out.")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--take", type=Path, help="take folder with weights.csv (synthetic)")
    src.add_argument("--labels", type=Path, nargs="+", metavar="LABELS.toml",
                     help="real clips labelled by eye (e.g. assets/realfaces/*.toml): score "
                          "detection AUC, blink events, leak on neutral, landmark geometry r "
                          "and still jitter")
    p.add_argument("--clips", type=Path, action="append", default=[], metavar="DIR",
                   help="folder holding the labelled clips, if not beside the label files "
                        "(repeatable)")
    p.add_argument("--neutral", default="both",
                   choices=["none", "neutral", "expressive", "both", "all"],
                   help="labelled clips: play the labelled neutral stretch first (neutral), "
                        "not (none), start the clip at its first labelled expression and wrap "
                        "round (expressive: a clip that does not start neutral), score none "
                        "and neutral (both, default) or all three (all)")
    p.add_argument("--method", action="append", default=None, metavar="NAME[,NAME]",
                   help="method(s) to compare, repeatable or comma-separated; 'all' = every "
                        "registered method (default: lprr)")
    p.add_argument("--models", type=Path, default=DEFAULT_MODELS,
                   help="model folder for the learned methods (default: exported/demo)")
    add_backend_option(p, default="ort-cpu")
    p.add_argument("--calibration", type=Path, default=None,
                   help="an unlabelled video or take of the same performer that starts with "
                        "a neutral face, for the landmark methods (its weights are never "
                        "read); without it they calibrate on the take's first face frames")
    p.add_argument("--smoothing", default="default",
                   help="post-processing smoothing preset for every method (default, off, ...)")
    p.add_argument("--landmarker", default=None, choices=LANDMARKERS,
                   help="front end for every method (default: what each method reads: "
                        "FaceMesh, or for mediapipe MediaPipe's FaceLandmarker network in "
                        "ONNX Runtime, 'onnx')")
    p.add_argument("--out", type=Path, default=None,
                   help="folder for scores.json, accuracy.md, curves.png, predictions/")
    p.set_defaults(func=run)


def method_names(requested: list[str] | None) -> list[str]:
    from lprr.engine.errors import UserError
    from lprr.engine.methods import METHODS

    names: list[str] = []
    for item in requested or ["lprr"]:
        for n in (x.strip() for x in item.split(",")):
            if not n:
                continue
            for m in (list(METHODS) if n == "all" else [n]):
                if m not in METHODS:
                    raise UserError(f"unknown method {m!r}; choose from {', '.join(METHODS)}")
                if m not in names:
                    names.append(m)
    return names


def method_specs(args: argparse.Namespace) -> list:
    """One MethodSpec per chosen method, each with the options it takes: an option no
    chosen method takes is an error, one that only some take is a warning naming the rest."""
    from lprr.engine.evaluate import MethodSpec
    from lprr.engine.methods import split_method_options

    extra = {"calibration": args.calibration} if args.calibration else {}
    per = split_method_options(method_names(args.method), extra)
    return [MethodSpec(m, args.models, extra=opts, landmarker=args.landmarker)
            for m, opts in per.items()]


def run(args: argparse.Namespace) -> int:
    from lprr.engine.errors import UserError
    from lprr.engine.evaluate import evaluate_methods, markdown_report, write_report

    if args.labels:
        return run_labelled(args)
    if not args.take.is_dir():
        raise UserError(f"no such take folder: {args.take}")
    if args.calibration is not None and not args.calibration.exists():
        raise UserError(f"no such calibration video or take: {args.calibration}")
    specs = method_specs(args)
    rep = evaluate_methods(args.take, specs, args.backend, args.smoothing,
                           progress=lambda msg: print(msg, flush=True))
    print()
    print(markdown_report(rep))
    if args.out:
        paths = write_report(rep, args.out)
        print("wrote " + ", ".join(str(p) for p in paths.values()))
    return 0


def run_labelled(args: argparse.Namespace) -> int:
    from lprr.engine.evaluate_real import CONDITIONS, evaluate_labelled, markdown, write

    specs = method_specs(args)
    conditions = {"both": ("none", "neutral"), "all": CONDITIONS}.get(args.neutral,
                                                                      (args.neutral,))
    results = evaluate_labelled(args.labels, specs, conditions, args.backend, args.smoothing,
                                args.clips, progress=lambda msg: print(msg, flush=True))
    print()
    print(markdown(results))
    if args.out:
        paths = write(results, args.out)
        print("wrote " + ", ".join(str(p) for p in paths))
    return 0
