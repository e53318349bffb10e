"""Personalisation: fit shipped models to one performer from an unlabelled clip, in minutes
on a laptop CPU (``lprr train personalise``).

1. The clip goes through MediaPipe + APEM once (cached).
2. What needs no training is refit: the sketch is drawn from the performer's own rest shape
   and proportions (their most neutral frames), not the training performer's.
3. Each patch's RM is fine-tuned from the shipped weights (``rm_train.pt``: the performer
   decoder included) on the performer's patches and a short take of the character, which
   keeps the shared code meaning the same thing for both. The WEM and PCA stay as shipped.
4. The last part of the clip is held out of training. Without labels, it decides whether
   the fine-tuned RM is kept: its weights must follow the landmark measures (lip gap, lid
   gaps, mouth width: engine/realbench.py ``geometry_r``) and MediaPipe's blendshape
   network's reading of blinks, jaw, smiles and brows (``TEACHER_CHECK``) better, on
   average, than the shipped RM with the refit sketch does, and surely so: in at least 90%
   of block-bootstrap resamples of the held-out frames (``_sure_better``; under 50 held-out
   frames nothing is judged better). Otherwise the shipped RM is exported with the new
   sketch.
5. A teacher (``teacher="mediapipe"``): the WEM is fine-tuned on the performer's re-drawn
   patches (the kept RM's drawings of the training frames) to read what MediaPipe's
   blendshape network reads from the same frames' landmarks (engine/face/blendshapes.py),
   by ARKit name, half of each batch on average being the character take with its true
   weights (so the WEM does not forget the character while it fits a few hundred frames).
   The controls that network does not read (tongueOut, and noseSneer, which barely moves
   on real faces) are taught the models' own weights instead, so its dead channels are not
   inherited. The same held-out check decides whether the new WEM is kept, on the landmark
   measures alone (it was trained to agree with MediaPipe's network).

Everything it computes lives in one cache folder per clip and base model
(``user_config.cache_dir()/personalise/...``); a second run resumes from its checkpoints.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from lprr.engine.errors import UserError
from lprr.engine.face.apem import PATCH_NAMES

log = logging.getLogger(__name__)


@dataclass
class PersonaliseConfig:
    steps: int = 150  # RM fine-tuning steps per patch
    batch: int = 8
    lr: float = 2e-4
    max_frames: int = 3600  # frames of the clip read (2 min at 30 fps)
    train_frames: int = 900  # at most this many performer frames train (evenly spread)
    holdout: float = 0.25  # the clip's last share: never trained on, decides what is kept
    character_frames: int = 500  # demo-character take rendered for the character side
    seed: int = 0
    threads: int | None = None  # torch threads (None: torch's default)
    keep: str = "auto"  # "auto" (the held-out check decides), "fine-tuned" or "sketch only"
    device: str = "cpu"
    teacher: str = "mediapipe"  # "mediapipe": step 5 (the WEM taught); "none": WEM as shipped
    wem_steps: int = 300
    wem_batch: int = 16
    wem_lr: float = 1e-4
    keep_teacher: str = "auto"  # "auto" (the held-out check decides), "yes" or "no"
    # what the held-out check compares: the landmark measures, and MediaPipe's reading
    check: str = "geometry+teacher"  # or "geometry"


@dataclass
class PersonaliseReport:
    out: Path
    kept: str  # "fine-tuned" | "sketch only"
    frames: int
    faces: int
    train_frames: int
    check_frames: int
    check_r: dict[str, dict[str, float]] = field(default_factory=dict)  # variant -> measure
    seconds: float = 0.0
    cache: Path | None = None
    taught: bool = False  # the WEM taught by MediaPipe's network was kept
    # variant -> the share of held-out resamples in which it agreed better (CHECK_SURE)
    sure: dict[str, float] = field(default_factory=dict)

    def summary(self) -> str:
        r = {k: float(np.nanmean(list(v.values()))) for k, v in self.check_r.items()}
        scores = ", ".join(f"{k} {v:.3f}" for k, v in r.items())
        kept = self.kept + (", WEM taught by MediaPipe" if self.taught else "")
        return (f"personalised models in {self.out} ({kept}; held-out agreement with "
                f"the landmark measures and MediaPipe: {scores}; {self.train_frames} "
                f"training and {self.check_frames} held-out frames; {self.seconds:.0f} s)")


def cache_folder(video: Path, base: Path) -> Path:
    import hashlib

    from lprr.engine.face.landmarks import DEFAULT_LANDMARKER
    from lprr.engine.manifest import Manifest
    from lprr.engine.user_config import cache_dir, file_key

    # the base models and the front end the patches are cut with
    files = json.dumps([Manifest.load(base).files, DEFAULT_LANDMARKER], sort_keys=True)
    tag = hashlib.sha256(files.encode()).hexdigest()[:8]
    return cache_dir() / "personalise" / f"{video.stem}-{file_key(video)}-{tag}"


def _character_take(cache: Path, character: Path | None, frames: int, seed: int) -> Path:
    """The character take the RM keeps reconstructing: the user's, or a short demo one."""
    if character is not None:
        return character
    take = cache / "character"
    if not (take / "meta.json").is_file():
        from lprr.engine.world.synth import character_take

        if take.exists():
            shutil.rmtree(take)
        character_take(take, frames, seed=seed)
    return take


def _spread(n: int, k: int) -> np.ndarray:
    return np.unique(np.linspace(0, n - 1, min(n, k)).round().astype(int)) if n else \
        np.zeros(0, int)


def _init_run(base: Path, run: Path) -> None:
    """Checkpoints rm_<patch>.pt at step 0 from the base models' rm_train.pt (else from the
    run-time RM, the performer decoder starting as a copy of the character's)."""
    import torch

    from lprr.engine.manifest import Manifest
    from lprr.models.export import FINETUNE_FILE
    from lprr.models.nets import RM, RMConfig, RMRuntime, config_from_dict
    from lprr.models.training import save_checkpoint

    man = Manifest.load(base)
    spec = man.raw["models"]["rm"].get("torch")
    if spec is None:
        raise UserError(f"{base}: no torch weights to fine-tune (export with torch weights)")
    cfg = config_from_dict(RMConfig, spec.get("config"))
    full = base / FINETUNE_FILE
    if full.is_file():
        saved = torch.load(full, map_location="cpu", weights_only=True)
        rms = {}
        for p in PATCH_NAMES:
            rm = RM(cfg)
            rm.load_state_dict(saved["rms"][p])
            rms[p] = rm
    else:
        rt = RMRuntime(cfg)
        rt.load_state_dict(torch.load(base / spec["weights"], map_location="cpu",
                                      weights_only=True))
        rms = rt.to_rms()
    run.mkdir(parents=True, exist_ok=True)
    for p, rm in rms.items():
        save_checkpoint(run / f"rm_{p}.pt", rm, torch.optim.Adam(rm.parameters()), 0,
                        {"config": cfg.to_dict(), "patch": p})


# Controls MediaPipe's network does not read on real faces: taught the models' own weights.
SELF_TAUGHT = ("tongueOut", "noseSneerLeft", "noseSneerRight")


def _teacher_data(models: Path, perf: dict, rows: np.ndarray) -> dict[str, np.ndarray]:
    """What the WEM is taught from: a model folder's re-drawn patches of ``rows`` (as the
    WEM reads them live) and the teacher's weights for the same frames."""
    from lprr.engine.mediapipe_method import blendshape_index
    from lprr.engine.retarget import Retargeter

    rt = Retargeter(models, "ort-cpu")
    try:
        rt.running = None  # the sketch of the folder as exported
        drawn: dict[str, list[np.ndarray]] = {p: [] for p in PATCH_NAMES}
        own = []
        for a in range(0, len(rows), 32):
            r = rows[a:a + 32]
            re, w = rt.infer_arrays({p: perf[p][r] for p in PATCH_NAMES}, perf["lm_patch"][r])
            for p in PATCH_NAMES:
                drawn[p].append(np.stack([x[p] for x in re]))
            own.append(w)
        controls = list(rt.controls)
    finally:
        rt.close()
    scores = _teacher_scores(perf, rows)
    idx, _ = blendshape_index(controls)
    teacher = np.concatenate(own)  # the models' own weights, where the network reads nothing
    read = (idx >= 0) & ~np.isin(controls, SELF_TAUGHT)
    teacher[:, read] = scores[:, idx[read]]
    return {**{p: np.concatenate(v) for p, v in drawn.items()}, "weights": teacher}


def _rehearsed(taught: dict[str, np.ndarray], char: dict[str, np.ndarray]
               ) -> dict[str, np.ndarray]:
    """The performer's taught frames and the character take's own (its true weights), half
    and half: the WEM keeps reading the character it was trained on while it learns the
    performer, instead of fitting a few hundred frames alone."""
    n, m = len(taught["weights"]), len(char["weights"])
    if char["weights"].shape[1] != taught["weights"].shape[1]:
        raise UserError("the character take's controls are not the models' controls")
    rep = np.resize(np.arange(n), max(n, m))  # the performer's rows, repeated to match
    keys = [*PATCH_NAMES, "weights"]
    return {k: np.concatenate([taught[k][rep], char[k]]) for k in keys}


def _teach_wem(base: Path, data: dict[str, np.ndarray], run: Path, cfg: PersonaliseConfig,
               on_step: Callable[[int, float], None]) -> tuple[Path, list[float]]:
    """The base WEM fine-tuned on ``data`` (resumes from ``run/wem.pt``): its checkpoint and
    the losses of the steps run now."""
    import torch

    from lprr.engine.manifest import Manifest
    from lprr.engine.pca import Pca
    from lprr.models.train_wem import train_wem
    from lprr.models.training import TrainConfig, save_checkpoint

    man = Manifest.load(base)
    ckpt = run / "wem.pt"
    wem = _wem(base)
    if not ckpt.is_file():
        save_checkpoint(ckpt, wem, torch.optim.Adam(wem.parameters()), 0,
                        {"config": wem.cfg.to_dict()})
    assert man.pca is not None
    tcfg = TrainConfig(steps=cfg.wem_steps, batch=cfg.wem_batch, lr=cfg.wem_lr, seed=cfg.seed,
                       device=cfg.device, ckpt_every=max(10, cfg.wem_steps // 10))
    res = train_wem(data, Pca.load(man.pca), run, tcfg, wem.cfg, on_step=on_step)
    return ckpt, res.losses


# What the held-out check also compares with MediaPipe's blendshape network (the best reader
# of real faces here, docs/accuracy.md): the expressions it reads well, each an average of
# its controls. Not noseSneer, cheekPuff or tongueOut, which it does not read.
TEACHER_CHECK = {"blink": ("eyeBlinkLeft", "eyeBlinkRight"), "jaw": ("jawOpen",),
                 "smile": ("mouthSmileLeft", "mouthSmileRight"), "brows up": ("browInnerUp",),
                 "brows down": ("browDownLeft", "browDownRight")}


def _teacher_scores(perf: dict, rows: np.ndarray) -> np.ndarray:
    """MediaPipe's 52 blendshape scores (tasks order) on the landmarks of ``rows``."""
    from lprr.engine.face.blendshapes import BlendshapeModel

    net = BlendshapeModel()
    return np.stack([net(perf["landmarks"][i]) for i in rows])


def _teacher_r(w: np.ndarray, controls: list[str], scores: np.ndarray) -> dict[str, float]:
    """Pearson r of each TEACHER_CHECK expression: the weights against MediaPipe's scores."""
    from lprr.engine.face.tasks import BLENDSHAPE_NAMES
    from lprr.engine.metrics import pearson

    out = {}
    for label, names in TEACHER_CHECK.items():
        mine = w[:, [controls.index(n) for n in names if n in controls]]
        if mine.shape[1]:
            theirs = scores[:, [BLENDSHAPE_NAMES.index(n) for n in names]].mean(1)
            out[f"teacher {label}"] = pearson(mine.mean(1), theirs)
    return out


def _held_out_weights(models: Path, perf: dict, rows: np.ndarray) -> tuple[np.ndarray, list]:
    """A model folder's weights on the held-out frames (ONNX Runtime, as at run time, with
    the folder's sketch as exported), and its controls."""
    from lprr.engine.retarget import Retargeter

    rt = Retargeter(models, "ort-cpu")
    try:
        rt.running = None
        ws = []
        for a in range(0, len(rows), 32):
            r = rows[a:a + 32]
            _, w = rt.infer_arrays({p: perf[p][r] for p in PATCH_NAMES}, perf["lm_patch"][r])
            ws.append(w)
        return np.concatenate(ws), list(rt.controls)
    finally:
        rt.close()


def _agreement(w: np.ndarray, controls: list, geom: dict, teacher: np.ndarray | None,
               idx: np.ndarray | None = None) -> dict[str, float]:
    """How well weights follow the landmark measures and, given ``teacher`` (MediaPipe's
    scores on the same frames), MediaPipe's reading of the expressions it reads well; over
    the frames ``idx`` (a resample; all by default)."""
    from lprr.engine.realbench import geometry_r

    if idx is not None:
        w, geom = w[idx], {k: v[idx] for k, v in geom.items()}
        teacher = None if teacher is None else teacher[idx]
    out = geometry_r(w, controls, geom)
    if teacher is not None:
        out.update(_teacher_r(w, controls, teacher))
    return out


SHORT_CLIP_FRAMES = 900  # 30 s at 30 fps, the shortest clip personalisation is meant for
CHECK_BLOCK = 10  # frames per resampled block: neighbouring frames are not independent
# fewer blocks than this and a resample is mostly the same frames again: nothing is judged,
# the shipped models stay
CHECK_MIN_BLOCKS = 5
CHECK_DRAWS = 200
CHECK_SURE = 0.9  # a new variant must agree better in this share of the resamples


def _sure_better(new: np.ndarray, old: np.ndarray, controls: list, geom: dict,
                 teacher: np.ndarray | None, seed: int = 0) -> float:
    """The share of block-bootstrap resamples of the held-out frames in which ``new``
    agrees better than ``old`` on average. A few dozen held-out frames make one mean a
    coin toss: a variant that agreed better by 0.005 on them read real footage worse."""
    n = len(new)
    if n < CHECK_MIN_BLOCKS * CHECK_BLOCK:
        return 0.0
    rng = np.random.default_rng(seed)
    starts = np.arange(0, max(n - CHECK_BLOCK, 0) + 1)
    wins = 0
    for _ in range(CHECK_DRAWS):
        pick = rng.choice(starts, n // CHECK_BLOCK)
        idx = (pick[:, None] + np.arange(CHECK_BLOCK)).ravel()
        gain = (np.nanmean(list(_agreement(new, controls, geom, teacher, idx).values()))
                - np.nanmean(list(_agreement(old, controls, geom, teacher, idx).values())))
        wins += bool(gain > 0)
    return wins / CHECK_DRAWS


def _wem(base: Path, ckpt: Path | None = None):
    """The base models' WEM, with a checkpoint's weights when one is given."""
    import torch

    from lprr.engine.manifest import Manifest
    from lprr.models.nets import build_wem

    wspec = Manifest.load(base).raw["models"]["wem"]["torch"]
    wem = build_wem(wspec.get("config"))
    if ckpt is not None:
        state = torch.load(ckpt, map_location="cpu", weights_only=True)["model"]
    else:
        state = torch.load(base / wspec["weights"], map_location="cpu", weights_only=True)
    wem.load_state_dict(state)
    return wem


def _export(base: Path, run: Path, out: Path, sketch: Path, fine_tuned: bool,
            info: dict, wem_ckpt: Path | None = None) -> Path:
    """A model folder beside ``out`` (renamed into place once chosen): the base WEM (or the
    taught one in ``wem_ckpt``) and PCA, the fine-tuned (or base) RM, the new sketch."""
    from lprr.engine.manifest import Manifest
    from lprr.engine.pca import Pca
    from lprr.models.export import export_models
    from lprr.models.train_rm import load_rm

    man = Manifest.load(base)
    wem = _wem(base, wem_ckpt)
    if fine_tuned:
        rms = {p: load_rm(run / f"rm_{p}.pt") for p in PATCH_NAMES}
    else:
        start = run.parent / "base_run"
        _init_run(base, start)
        rms = {p: load_rm(start / f"rm_{p}.pt") for p in PATCH_NAMES}
    assert man.pca is not None
    kind = ("tuned" if fine_tuned else "sketch") + ("-taught" if wem_ckpt else "")
    tmp = out.with_name(f"{out.name}.{kind}.tmp")
    if tmp.exists():
        shutil.rmtree(tmp)
    export_models(rms, wem, Pca.load(man.pca), tmp, out.name,
                  {**info, "personalised_from": str(base)}, sketch_map=sketch)
    return tmp


def personalise(video: str | Path, base: str | Path, out: str | Path,
                cfg: PersonaliseConfig | None = None, character: str | Path | None = None,
                cache: Path | None = None,
                on_progress: Callable[[str, float], None] | None = None) -> PersonaliseReport:
    """Fit ``base`` models to the performer of ``video``; write the result to ``out``.
    ``on_progress(stage, fraction)`` is called as it goes (the GUI's progress bar)."""
    import torch

    from lprr.engine.face.sketch import SketchMap, static_patch_points
    from lprr.engine.manifest import Manifest
    from lprr.engine.neutral import most_neutral
    from lprr.engine.realbench import geometry
    from lprr.models.data import character_patches, performer_patches, rm_sketches
    from lprr.models.train_rm import train_rm
    from lprr.models.training import TrainConfig

    cfg = cfg or PersonaliseConfig()
    if cfg.keep not in ("auto", "fine-tuned", "sketch only"):
        raise UserError(f"keep must be auto, fine-tuned or sketch only, not {cfg.keep!r}")
    if cfg.teacher not in ("mediapipe", "none"):
        raise UserError(f"teacher must be mediapipe or none, not {cfg.teacher!r}")
    if cfg.keep_teacher not in ("auto", "yes", "no"):
        raise UserError(f"keep_teacher must be auto, yes or no, not {cfg.keep_teacher!r}")
    t0 = time.time()
    video, base, out = Path(video), Path(base), Path(out)
    if not video.exists():
        raise UserError(f"no such file or folder: {video}")
    man = Manifest.load(base)
    if man.sketch is None:
        raise UserError(f"{base}: these models read no landmark sketch; personalisation "
                        "needs models exported with one (lprr train all)")
    if out.resolve() == base.resolve():
        raise UserError("--out must be a new folder, not the base models'")
    cache = cache or cache_folder(video, base)
    cache.mkdir(parents=True, exist_ok=True)
    progress = on_progress or (lambda stage, frac: None)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)

    progress("reading the clip", 0.0)
    perf = performer_patches(video, cfg.max_frames)
    n = len(perf["index"])
    if n < 20:
        raise UserError(f"{video}: a face in only {n} frames; personalisation needs a clip "
                        "of the performer (30 s or more)")
    n_train = int(round(n * (1 - cfg.holdout)))
    train_rows = _spread(n_train, cfg.train_frames)
    check_rows = np.arange(n_train, n)
    if len(check_rows) < CHECK_MIN_BLOCKS * CHECK_BLOCK:
        log.warning("%s: a face in only %d frames, %d of them held out: too few to check a "
                    "fine-tuned model on, so the shipped RM and WEM are kept (with the new "
                    "sketch); give 30 s or more", video, n, len(check_rows))
    elif n < SHORT_CLIP_FRAMES:
        log.warning("%s: a face in %d frames (under 30 s at 30 fps): the held-out check has "
                    "%d frames to judge by, so it keeps the shipped models more often; "
                    "30 s to a few minutes of varied expressions works best",
                    video, n, len(check_rows))

    # 2. the sketch from the performer's own rest shape (training frames only)
    shipped = SketchMap.load(man.sketch)
    rest = most_neutral(list(perf["landmarks"][:n_train]))
    mapping = shipped.for_performer(np.stack([static_patch_points(f) for f in rest]))
    sketch = mapping.save(cache / "sketch.npz")

    # 3. fine-tune every patch's RM (resumes from the cache's checkpoints)
    progress("rendering the character", 0.1)
    char_take = _character_take(cache, Path(character) if character else None,
                                cfg.character_frames, cfg.seed)
    char = character_patches(char_take)
    run = cache / "run"
    if not all((run / f"rm_{p}.pt").is_file() for p in PATCH_NAMES):
        _init_run(base, run)
    sk_perf = rm_sketches(perf["lm_patch"][train_rows], mapping)
    sk_char = rm_sketches(char["lm_patch"])
    tcfg = TrainConfig(steps=cfg.steps, batch=cfg.batch, lr=cfg.lr, seed=cfg.seed,
                       device=cfg.device, sample_every=cfg.steps,
                       ckpt_every=max(10, cfg.steps // 10))
    from lprr.models.train_rm import load_rm

    net = load_rm(run / f"rm_{PATCH_NAMES[0]}.pt").cfg
    for k, p in enumerate(PATCH_NAMES):
        base_frac = 0.15 + 0.7 * k / len(PATCH_NAMES)

        def step(i: int, loss: float, base_frac: float = base_frac) -> None:
            progress(f"fine-tuning the {p} patch",
                     base_frac + 0.7 / len(PATCH_NAMES) * (i + 1) / cfg.steps)

        train_rm(p, perf[p][train_rows], char[p], run, tcfg, net,
                 sketches={"performer": sk_perf[p], "character": sk_char[p]}, on_step=step)

    # 4. keep the fine-tuned RM only if the held-out frames say it is no worse
    progress("checking on the held-out frames", 0.88)
    info = {"performer": str(video), "personalise": asdict(cfg),
            "frames": int(n), "train_frames": int(len(train_rows)),
            "check_frames": int(len(check_rows))}
    geom = geometry(list(perf["landmarks"][check_rows]))
    ref = _teacher_scores(perf, check_rows) if cfg.check == "geometry+teacher" else None
    tuned = _export(base, run, out, sketch, True, info)
    plain = _export(base, run, out, sketch, False, info)
    report = PersonaliseReport(out, "fine-tuned", int(perf["n"][0]), n, len(train_rows),
                               len(check_rows), cache=cache)
    held = {"fine-tuned": _held_out_weights(tuned, perf, check_rows),
            "sketch only": _held_out_weights(plain, perf, check_rows)}
    controls = held["fine-tuned"][1]
    if len(check_rows) >= 10:
        report.check_r = {k: _agreement(w, controls, geom, ref) for k, (w, _) in held.items()}
        report.sure["fine-tuned"] = _sure_better(held["fine-tuned"][0], held["sketch only"][0],
                                                 controls, geom, ref)
    # the shipped RM unless the held-out frames are sure the fine-tuned one is better
    if report.sure.get("fine-tuned", 0.0) < CHECK_SURE:
        report.kept = "sketch only"
    if cfg.keep != "auto":
        report.kept = cfg.keep
    chosen, other = (tuned, plain) if report.kept == "fine-tuned" else (plain, tuned)
    shutil.rmtree(other, ignore_errors=True)

    # 5. the WEM taught by MediaPipe's network on the training frames, checked the same way
    if cfg.teacher == "mediapipe" and cfg.wem_steps > 0:
        progress("teaching the WEM", 0.9)
        data = _rehearsed(_teacher_data(chosen, perf, train_rows), char)

        def wem_step(i: int, loss: float) -> None:
            progress("teaching the WEM", 0.9 + 0.08 * (i + 1) / cfg.wem_steps)

        ckpt, _ = _teach_wem(base, data, cache / "wem_run", cfg, wem_step)
        taught = _export(base, run, out, sketch, report.kept == "fine-tuned",
                         {**info, "teacher": "mediapipe"}, ckpt)
        use = cfg.keep_teacher == "yes"
        if len(check_rows) >= 10:
            # judged on the landmark measures alone: it was trained to agree with
            # MediaPipe's network, so agreeing with it on new frames proves little
            w_taught = _held_out_weights(taught, perf, check_rows)[0]
            w_before = held[report.kept][0]
            report.check_r["taught"] = _agreement(w_taught, controls, geom, None)
            report.check_r[f"{report.kept} (landmark measures)"] = _agreement(
                w_before, controls, geom, None)
            report.sure["taught"] = _sure_better(w_taught, w_before, controls, geom, None)
            use = use or (cfg.keep_teacher == "auto" and report.sure["taught"] >= CHECK_SURE)
        if use:
            chosen, other = taught, chosen
        else:
            other = taught
        report.taught = use
        shutil.rmtree(other, ignore_errors=True)
    if out.exists():
        shutil.rmtree(out)
    chosen.rename(out)
    report.seconds = time.time() - t0
    (out / "personalise.json").write_text(json.dumps(
        {"kept": report.kept, "taught": report.taught, "check_r": report.check_r,
         "sure": report.sure, **info,
         "seconds": round(report.seconds, 1)}, indent=2, default=str))
    progress("done", 1.0)
    log.info("%s", report.summary())
    return report
