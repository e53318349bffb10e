"""What every training loop shares: device choice, seeding, safe checkpoints, sample grids."""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch

log = logging.getLogger(__name__)


@dataclass
class TrainConfig:
    steps: int = 3000
    batch: int = 32
    lr: float = 5e-4
    seed: int = 0
    device: str = "auto"
    sample_every: int = 500
    ckpt_every: int = 500
    max_frames: int | None = None


def pick_device(name: str = "auto") -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    dev = torch.device(name)
    log.info("training on %s", dev)
    return dev


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    g = torch.Generator()
    g.manual_seed(seed)
    return g


def save_checkpoint(path: Path, model: torch.nn.Module, opt: torch.optim.Optimizer,
                    step: int, extra: dict | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                **(extra or {})}, tmp)
    tmp.replace(path)  # never leave a half-written checkpoint behind


def load_checkpoint(path: Path, model: torch.nn.Module,
                    opt: torch.optim.Optimizer | None = None) -> int:
    """Load a checkpoint safely (weights_only: no pickled code runs). Returns its step."""
    ck = torch.load(path, map_location="cpu", weights_only=True)
    model.load_state_dict(ck["model"])
    if opt is not None and "opt" in ck:
        opt.load_state_dict(ck["opt"])
    return int(ck.get("step", 0))


def optimise(opt: torch.optim.Optimizer, loss: torch.Tensor, bar, losses: list[float]) -> float:
    """One optimiser step; the loss goes to the history and the progress bar."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    v = float(loss.detach())
    losses.append(v)
    bar.set_postfix(loss=f"{v:.4f}")
    return v


def save_grid(path: Path, rows: list[torch.Tensor], max_cols: int = 8) -> Path:
    """Rows of (N,3,H,W) RGB [0,1] tensors -> one PNG, one row per tensor."""
    tiles = []
    for r in rows:
        r = r[:max_cols].detach().float().cpu().clamp(0, 1)
        img = (r.permute(0, 2, 3, 1).numpy() * 255).astype(np.uint8)[..., ::-1]
        tiles.append(np.concatenate(list(img), axis=1))
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.concatenate(tiles, axis=0))
    return path


def batch_indices(gen: torch.Generator, n: int, size: int) -> torch.Tensor:
    return torch.randint(0, n, (size,), generator=gen)
