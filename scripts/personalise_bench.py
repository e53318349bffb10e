"""Does personalisation help on real footage? Each labelled single-person video is cut in
two: ``lprr train personalise`` sees only the first part (unlabelled); the methods are
scored on the second part alone (the first is marked uncertain), condition ``none``.

    python scripts/personalise_bench.py [--labels assets/realfaces/X.toml ...] \
        [--clips data/realfaces] [--split 0.6] [--steps 150] [--out out/personalise]

Rows: the shipped models (their sketch from the whole clip's neutral frames, as ``lprr run``
on a file), the personalised ones, and MediaPipe's blendshapes for scale. Prints a table and
writes ``personalise_bench.json``.
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np

from lprr.engine.evaluate import MethodSpec
from lprr.engine.evaluate_real import evaluate_clip
from lprr.engine.labels import ClipLabels
from lprr.engine.paths import DEFAULT_MODELS, ROOT

# single-person videos with a face in both parts (face_noface's second part has none)
DEFAULT_LABELS = ("WolfgangLanger_Pexels.toml", "carphone_pristine.toml")


def write_part(src: Path, out: Path, stop: int) -> tuple[Path, float]:
    """Frames [0, stop) of a video into ``out`` (mp4)."""
    cap = cv2.VideoCapture(str(src))
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    writer = None
    for _ in range(stop):
        ok, f = cap.read()
        if not ok:
            break
        if writer is None:
            writer = cv2.VideoWriter(str(out), cv2.VideoWriter.fourcc(*"mp4v"), fps,
                                     (f.shape[1], f.shape[0]))
        writer.write(f)
    cap.release()
    if writer is not None:
        writer.release()
    return out, fps


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--labels", type=Path, nargs="*",
                    default=[ROOT / "assets" / "realfaces" / n for n in DEFAULT_LABELS])
    ap.add_argument("--clips", type=Path, action="append",
                    default=[ROOT / "data" / "realfaces", ROOT.parent / "shared" / "realfaces"])
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--split", type=float, default=0.6)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep", default="auto", choices=("auto", "fine-tuned", "sketch only"),
                    help="override the held-out check (to score both variants)")
    ap.add_argument("--teacher", default="mediapipe", choices=("mediapipe", "none"))
    ap.add_argument("--keep-teacher", default="auto", choices=("auto", "yes", "no"))
    ap.add_argument("--wem-steps", type=int, default=300)
    ap.add_argument("--check", default="geometry+teacher", choices=("geometry+teacher", "geometry"),
                    help="what the held-out check compares")
    ap.add_argument("--out", type=Path, default=Path("out/personalise"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from lprr.models.personalise import PersonaliseConfig, personalise

    args.out.mkdir(parents=True, exist_ok=True)
    rows, table = [], []
    for lf in args.labels:
        labels = ClipLabels.load(lf)
        clip = labels.find_clip(args.clips)
        split = int(labels.frames * args.split)
        part, _ = write_part(clip, args.out / f"{clip.stem}_first{split}.mp4", split)
        t0 = time.time()
        rep = personalise(part, args.models, args.out / f"models_{clip.stem}",
                          PersonaliseConfig(steps=args.steps, threads=args.threads,
                                            keep=args.keep, teacher=args.teacher,
                                            keep_teacher=args.keep_teacher,
                                            wem_steps=args.wem_steps, check=args.check),
                          cache=args.out / f"cache_{clip.stem}")
        took = time.time() - t0
        held = replace(labels, spans={**labels.spans,
                                      "uncertain": [*labels.spans.get("uncertain", []),
                                                    (0, split)]})
        specs = [MethodSpec("lprr", args.models, "lprr shipped"),
                 MethodSpec("lprr", rep.out, "lprr personalised"),
                 MethodSpec("mediapipe", args.models)]
        res = evaluate_clip(held, specs, "none", clip_dirs=args.clips)
        for name, s in res.scores.items():
            blinks = s.get("blinks", {}).get("both", {})
            rows.append({"clip": clip.name, "method": name, "mean_auc": s["mean_auc"],
                         "auc": s["auc"], "blinks": blinks,
                         "scored_frames": int(held.scored.sum()),
                         "personalise_s": round(took, 1), "kept": rep.kept,
                         "taught": rep.taught})
            table.append(f"| {clip.name} | {name} | {s['mean_auc']:.3f} | "
                         + " | ".join(f"{v:.2f}" if v == v else "–"
                                      for v in s["auc"].values())
                         + f" | {blinks.get('matched', 0)}/{blinks.get('true_events', 0)} |")
        print(f"{clip.name}: personalised in {took:.0f} s, kept {rep.kept}, WEM taught "
              f"{rep.taught}; {rep.summary()}", flush=True)
    aucs = list(next(r["auc"] for r in rows))
    print("| clip | method | mean AUC | " + " | ".join(aucs) + " | blinks |")
    print("|---" * (len(aucs) + 4) + "|")
    print("\n".join(table))
    for m in ("lprr shipped", "lprr personalised", "mediapipe"):
        v = [r["mean_auc"] for r in rows if r["method"] == m and r["mean_auc"] == r["mean_auc"]]
        print(f"{m}: mean AUC over clips {np.mean(v):.3f}")
    (args.out / "personalise_bench.json").write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
