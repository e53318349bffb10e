"""RM training: unpaired self-reconstruction per identity through a shared encoder.

Each identity reconstructs its clean patch from a randomly warped, colour-jittered copy;
loss 10 * L1 + (1 - SSIM). At inference a performer patch goes through the encoder and
the character's decoder.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from pytorch_msssim import ssim
from tqdm import tqdm

from lprr.models.augment import AugmentConfig, augment_rm
from lprr.models.data import rm_input_batch
from lprr.models.nets import RM, RMConfig, config_from_dict
from lprr.models.training import (
    TrainConfig,
    batch_indices,
    load_checkpoint,
    optimise,
    pick_device,
    save_checkpoint,
    save_grid,
    seed_everything,
)

log = logging.getLogger(__name__)


def rm_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return 10 * F.l1_loss(pred, target) + (1 - ssim(pred, target, data_range=1.0))


@dataclass
class RMTrainResult:
    checkpoint: Path
    losses: list[float] = field(default_factory=list)
    grids: list[Path] = field(default_factory=list)


def train_rm(patch: str, performer: np.ndarray, character: np.ndarray, out_dir: Path,
             cfg: TrainConfig | None = None, net: RMConfig | None = None,
             aug: AugmentConfig | None = None,
             on_step: Callable[[int, float], None] | None = None,
             sketches: dict[str, np.ndarray] | None = None) -> RMTrainResult:
    """Train one patch's RM. ``performer``/``character``: (N,128,128,3) uint8 BGR;
    ``sketches``: {performer, character: (N,128,128) uint8}, needed when the net reads a
    sketch channel (RMConfig.in_channels == 4)."""
    cfg = cfg or TrainConfig()
    aug = aug or AugmentConfig()
    net = net or RMConfig()
    gen = seed_everything(cfg.seed)
    dev = pick_device(cfg.device)
    model = RM(net).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.5, 0.999))
    out_dir = Path(out_dir)
    ckpt = out_dir / f"rm_{patch}.pt"
    start = load_checkpoint(ckpt, model, opt) if ckpt.is_file() else 0
    if start:
        log.info("resuming RM %s from step %d", patch, start)
    if net.reads_sketch and not sketches:
        raise ValueError("this RM reads a sketch channel: pass sketches")
    sk = sketches if net.reads_sketch else {}
    data = {"performer": rm_input_batch(performer, sk.get("performer")),
            "character": rm_input_batch(character, sk.get("character"))}
    res = RMTrainResult(ckpt)
    model.train()
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc=f"RM {patch}",
               unit="step")
    for step in bar:
        loss = torch.zeros((), device=dev)
        for ident, x in data.items():
            clean = x[batch_indices(gen, len(x), cfg.batch)].to(dev)
            loss = loss + rm_loss(model(augment_rm(clean, aug, gen), ident), clean[:, :3])
        v = optimise(opt, loss, bar, res.losses)
        if on_step:
            on_step(step, v)
        done = step + 1
        if done % cfg.sample_every == 0 or done == cfg.steps:
            res.grids.append(sample_grid(model, data, out_dir / "samples" /
                                         f"rm_{patch}_{done:06d}.png", dev))
            model.train()
        if done % cfg.ckpt_every == 0 or done == cfg.steps:
            save_checkpoint(ckpt, model, opt, done, {"config": net.to_dict(),
                                                     "patch": patch})
    return res


@torch.no_grad()
def sample_grid(model: RM, data: dict[str, torch.Tensor], path: Path, dev: torch.device,
                n: int = 8) -> Path:
    """Rows: source, source reconstruction, target, source reenacted as the target."""
    model.eval()
    src = data["performer"][np.linspace(0, len(data["performer"]) - 1, n).astype(int)].to(dev)
    tgt = data["character"][np.linspace(0, len(data["character"]) - 1, n).astype(int)].to(dev)
    return save_grid(path, [src[:, :3], model(src, "performer"), tgt[:, :3],
                            model(src, "character")])


def load_rm(path: Path) -> RM:
    ck = torch.load(path, map_location="cpu", weights_only=True)
    model = RM(config_from_dict(RMConfig, ck.get("config")))
    model.load_state_dict(ck["model"])
    return model.eval()
