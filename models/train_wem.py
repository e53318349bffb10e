"""WEM training: the three character patches, stacked (9 channels), -> k PCA coefficients
of the rig weights, with L1 loss. Character renders only, with the RM's augmentation.

At run time the WEM reads RM outputs, which are the character decoder's drawings. With
``rm`` given, a share of each batch first goes through the character's own autoencoder
(character patch -> encoder -> character decoder): still character data only, but it
looks like what the WEM will read live.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from lprr.engine.pca import Pca
from lprr.models.augment import AugmentConfig, augment
from lprr.models.data import to_tensor_batch
from lprr.models.nets import PATCHES, RM, WEM, WEMConfig, build_wem
from lprr.models.training import (
    TrainConfig,
    batch_indices,
    load_checkpoint,
    optimise,
    pick_device,
    save_checkpoint,
    seed_everything,
)

log = logging.getLogger(__name__)


@dataclass
class WEMTrainResult:
    checkpoint: Path
    losses: list[float] = field(default_factory=list)


def stack_patches(patches: dict[str, torch.Tensor]) -> torch.Tensor:
    """{lip, eye_l, eye_r: (N,3,H,W)} -> (N,9,H,W) in PATCHES order."""
    return torch.cat([patches[p] for p in PATCHES], dim=1)


def train_wem(character: dict[str, np.ndarray], pca: Pca, out_dir: Path,
              cfg: TrainConfig | None = None, net: WEMConfig | None = None,
              aug: AugmentConfig | None = None, rms: dict[str, RM] | None = None,
              through_rm: float = 0.5,
              on_step: Callable[[int, float], None] | None = None) -> WEMTrainResult:
    """``character``: {lip, eye_l, eye_r: (N,128,128,3) uint8 BGR, weights: (N,C)}, and
    {sketch_lip, ...: (N,128,128) uint8} when the RMs read sketches."""
    cfg = cfg or TrainConfig()
    aug = aug or AugmentConfig()
    net = net or WEMConfig(k=pca.k)
    gen = seed_everything(cfg.seed)
    dev = pick_device(cfg.device)
    model = WEM(net).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    out_dir = Path(out_dir)
    ckpt = out_dir / "wem.pt"
    start = load_checkpoint(ckpt, model, opt) if ckpt.is_file() else 0
    # Kept as uint8 and converted a batch at a time: float32 copies of every frame cost 4x the
    # memory (about 0.8 GB for personalisation's 1400 taught frames).
    x = {p: np.asarray(character[p]) for p in PATCHES}
    sk: dict[str, torch.Tensor] = {}
    if rms and any(r.cfg.reads_sketch for r in rms.values()):
        sk = {p: torch.from_numpy(character[f"sketch_{p}"][:, None]) for p in PATCHES}
    y = torch.from_numpy(pca.encode(character["weights"]).astype(np.float32))
    if rms:
        for r in rms.values():
            r.to(dev).eval()
    res = WEMTrainResult(ckpt)
    model.train()
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="WEM",
               unit="step")
    for step in bar:
        idx = batch_indices(gen, len(y), cfg.batch)
        rows = idx.numpy()
        parts = {p: augment(to_tensor_batch(x[p][rows]).to(dev), aug, gen) for p in PATCHES}
        if rms:
            n_rm = int(round(through_rm * cfg.batch))
            with torch.no_grad():
                for p in PATCHES:
                    inp = parts[p][:n_rm]
                    if p in sk:  # the sketch of the clean frame (as at run time)
                        inp = torch.cat([inp, sk[p][idx[:n_rm]].to(dev).float() / 255], 1)
                    parts[p][:n_rm] = rms[p](inp, "character")
        pred = model(stack_patches(parts))
        loss = F.l1_loss(pred, y[idx].to(dev))
        optimise(opt, loss, bar, res.losses)
        if on_step is not None:
            on_step(step, res.losses[-1])
        done = step + 1
        if done % cfg.ckpt_every == 0 or done == cfg.steps:
            save_checkpoint(ckpt, model, opt, done, {"config": net.to_dict()})
    return res


def load_wem(path: Path) -> WEM:
    ck = torch.load(path, map_location="cpu", weights_only=True)
    model = build_wem(ck["config"])
    model.load_state_dict(ck["model"])
    return model.eval()
