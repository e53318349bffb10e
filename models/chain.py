"""The training chain as functions the CLI calls: RM per patch, PCA + WEM, export."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from lprr.engine.errors import UserError
from lprr.engine.pca import Pca
from lprr.models.data import character_patches, performer_patches, rm_sketches
from lprr.models.nets import PATCHES, RMConfig, WEMConfig
from lprr.models.training import TrainConfig

log = logging.getLogger(__name__)
SKETCH_FILE = "sketch.npz"


def _check_patch(patch: str) -> list[str]:
    if patch == "all":
        return list(PATCHES)
    if patch not in PATCHES:
        raise UserError(f"unknown patch {patch!r}; choose one of {', '.join(PATCHES)} or all")
    return [patch]


def run_rm(performer: Path, character: Path, run: Path, patch: str = "all",
           cfg: TrainConfig | None = None, net: RMConfig | None = None) -> dict[str, Path]:
    from lprr.models.train_rm import train_rm

    cfg = cfg or TrainConfig()
    net = net or RMConfig()
    perf = performer_patches(performer, cfg.max_frames)
    char = character_patches(character, cfg.max_frames)
    sk_perf, sk_char = sketch_data(perf, char, run) if net.reads_sketch else ({}, {})
    out = {}
    for p in _check_patch(patch):
        t0 = time.time()
        sketches = {"performer": sk_perf[p], "character": sk_char[p]} if sk_perf else None
        res = train_rm(p, perf[p], char[p], run, cfg, net, sketches=sketches)
        log.info("RM %s: loss %.4f -> %.4f in %.0f s", p, res.losses[0] if res.losses else 0,
                 res.losses[-1] if res.losses else 0, time.time() - t0)
        out[p] = res.checkpoint
    return out


def sketch_data(perf: dict, char: dict, run: Path
                ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The performer->character sketch map (saved as run/sketch.npz, shipped with the
    models) and both identities' sketches."""
    from lprr.engine.face.sketch import SketchMap

    mapping = SketchMap.fit(perf["lm_patch"], char["lm_patch"])
    run.mkdir(parents=True, exist_ok=True)
    mapping.save(run / SKETCH_FILE)
    log.info("sketch map scales (x, y) per patch: %s",
             ", ".join(f"{p} {sx:.2f} {sy:.2f}" for p, (sx, sy) in zip(PATCHES, mapping.scale)))
    return rm_sketches(perf["lm_patch"], mapping), rm_sketches(char["lm_patch"])


def fit_pca(character: Path, run: Path, k: int = 20) -> Pca:
    from lprr.engine.take import Take

    take = Take(character)
    if take.weights is None:
        raise UserError(f"{character}: the character take has no weights.csv")
    pca = Pca.fit(take.weights, take.controls, k=k)
    pca.save(run / "pca.npz")
    log.info("PCA: k=%d keeps %.2f%% of the variance; %d components reach 99%%", pca.k,
             100 * pca.cumulative_ratio[-1], Pca.fit(take.weights, take.controls,
                                                     var=0.99).k)
    return pca


def run_wem(character: Path, run: Path, cfg: TrainConfig | None = None, k: int = 20,
            through_rm: float = 0.5) -> Path:
    from lprr.models.train_rm import load_rm
    from lprr.models.train_wem import train_wem

    cfg = cfg or TrainConfig()
    pca_path = run / "pca.npz"
    pca = Pca.load(pca_path) if pca_path.is_file() else fit_pca(character, run, k)
    char = character_patches(character, cfg.max_frames)
    rms = {p: load_rm(run / f"rm_{p}.pt") for p in PATCHES if (run / f"rm_{p}.pt").is_file()}
    if through_rm > 0 and len(rms) != len(PATCHES):
        log.info("no trained RMs in %s: the WEM trains on plain renders", run)
        rms = {}
    if rms and any(r.cfg.reads_sketch for r in rms.values()):
        char.update({f"sketch_{p}": v for p, v in rm_sketches(char["lm_patch"]).items()})
    res = train_wem(char, pca, run, cfg, WEMConfig(k=pca.k), rms=rms or None,
                    through_rm=through_rm)
    return res.checkpoint


def export_run(run: Path, out: Path, name: str | None = None) -> Path:
    from lprr.models.export import export_models
    from lprr.models.train_rm import load_rm
    from lprr.models.train_wem import load_wem

    missing = [f for f in [*(f"rm_{p}.pt" for p in PATCHES), "wem.pt", "pca.npz"]
               if not (run / f).is_file()]
    if missing:
        raise UserError(f"{run}: missing {', '.join(missing)}; train first (lprr train all)")
    info_path = run / "run.json"
    trained_on = json.loads(info_path.read_text()) if info_path.is_file() else {}
    rms = {p: load_rm(run / f"rm_{p}.pt") for p in PATCHES}
    sketch = run / SKETCH_FILE
    return export_models(rms, load_wem(run / "wem.pt"), Pca.load(run / "pca.npz"), out,
                         name or out.name, trained_on,
                         sketch_map=sketch if sketch.is_file() else None)


def record_run(run: Path, **info) -> None:
    run.mkdir(parents=True, exist_ok=True)
    path = run / "run.json"
    old = json.loads(path.read_text()) if path.is_file() else {}
    old.update({k: (asdict(v) if hasattr(v, "__dataclass_fields__") else v)
                for k, v in info.items()})
    path.write_text(json.dumps(old, indent=2, default=str))
