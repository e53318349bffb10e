"""Training augmentation, on batches of patches in [0,1] NCHW: a random warp (a small
similarity plus a smooth random displacement field, the deepfake "random warp") and a
colour jitter. The RM learns to undo it; the WEM learns to ignore it."""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class AugmentConfig:
    rotate_deg: float = 5.0
    scale: float = 0.05
    shift: float = 0.04  # fraction of the patch
    elastic: float = 0.02  # displacement amplitude, fraction of the patch
    elastic_grid: int = 5  # control points per side of the displacement field
    brightness: float = 0.15
    contrast: float = 0.2
    channel_gain: float = 0.08  # per-channel gain: colour casts, white balance
    # RM with a sketch channel: share of inputs whose pixels are blanked, so the code must
    # also be readable from the sketch alone
    image_dropout: float = 0.3


def random_warp(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None = None
                ) -> torch.Tensor:
    n = x.shape[0]
    dev = x.device

    def u(*shape):  # uniform in [-1, 1]
        return torch.rand(*shape, generator=gen, device="cpu").to(dev) * 2 - 1

    ang = u(n) * torch.pi * cfg.rotate_deg / 180
    sc = 1 + u(n) * cfg.scale
    cos, sin = torch.cos(ang) * sc, torch.sin(ang) * sc
    theta = torch.stack([torch.stack([cos, -sin, u(n) * cfg.shift * 2], 1),
                         torch.stack([sin, cos, u(n) * cfg.shift * 2], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    g = cfg.elastic_grid
    disp = u(n, 2, g, g) * cfg.elastic * 2
    disp = F.interpolate(disp, size=x.shape[-2:], mode="bicubic", align_corners=True)
    grid = grid + disp.permute(0, 2, 3, 1)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def colour_jitter(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None = None,
                  channels_per_image: int = 3) -> torch.Tensor:
    """Jitter per image; a 9-channel WEM stack gets one jitter per 3-channel patch."""
    n, c = x.shape[:2]
    dev = x.device

    def u(*shape):
        return (torch.rand(*shape, generator=gen, device="cpu") * 2 - 1).to(dev)

    groups = c // channels_per_image
    b = u(n, groups, 1, 1, 1) * cfg.brightness
    k = 1 + u(n, groups, 1, 1, 1) * cfg.contrast
    gain = 1 + u(n, groups, channels_per_image, 1, 1) * cfg.channel_gain
    v = x.view(n, groups, channels_per_image, *x.shape[-2:])
    mean = v.mean(dim=(2, 3, 4), keepdim=True)
    v = ((v - mean) * k + mean + b) * gain
    return v.clamp(0, 1).view_as(x)


def augment(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None = None
            ) -> torch.Tensor:
    return colour_jitter(random_warp(x, cfg, gen), cfg, gen)


def augment_rm(x: torch.Tensor, cfg: AugmentConfig, gen: torch.Generator | None = None
               ) -> torch.Tensor:
    """RM input: the pixels (first 3 channels) warped and jittered; a sketch channel, if
    any, stays clean, so it is the geometry the decoder must follow."""
    rgb = augment(x[:, :3], cfg, gen)
    if x.shape[1] == 3:
        return rgb
    if cfg.image_dropout > 0:
        drop = torch.rand(len(x), generator=gen, device="cpu") < cfg.image_dropout
        rgb[drop.to(x.device)] = 0.5
    return torch.cat([rgb, x[:, 3:]], dim=1)
