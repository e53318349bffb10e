"""The networks: per-patch RM autoencoders (shared encoder, one decoder per identity) and
the WEM regressor.

Sized for real time on a 2-core CPU: every convolution runs at 64x64 or below. The encoder
downsamples with strided 4x4 convolutions; decoders upsample by pixel shuffle, which costs
a convolution at the lower resolution only.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

PATCHES = ("lip", "eye_l", "eye_r")
IDENTITIES = ("performer", "character")


@dataclass
class RMConfig:
    widths: tuple[int, ...] = (16, 32, 64, 64)  # encoder channels at 64, 32, 16, 8 px
    latent: int = 16  # channels of the 8x8 spatial code (dense=False) or its length (True)
    size: int = 128
    # A spatial code keeps the aligned patch's layout (where the lids and lips are); it
    # trains to useful reconstructions in far fewer steps than a dense bottleneck, which
    # matters on a 2-core CPU. dense=True is the deepfake-style vector bottleneck.
    dense: bool = False
    # 3: the patch alone; 4: the patch plus its landmark sketch (engine/face/sketch.py), which
    # gives both identities' encodings a common geometric channel.
    in_channels: int = 4

    @property
    def reads_sketch(self) -> bool:
        return self.in_channels == 4

    def to_dict(self) -> dict:
        return {**asdict(self), "widths": list(self.widths)}


@dataclass
class WEMConfig:
    k: int = 20
    widths: tuple[int, ...] = (16, 32, 48, 64, 64)
    hidden: int = 128
    size: int = 128
    in_channels: int = 9

    def to_dict(self) -> dict:
        return {**asdict(self), "widths": list(self.widths)}


def _down(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 4, 2, 1), nn.LeakyReLU(0.1, inplace=True))


def _up(cin: int, cout: int, act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Conv2d(cin, cout * 4, 3, 1, 1), nn.PixelShuffle(2)]
    if act:
        layers.append(nn.LeakyReLU(0.1, inplace=True))
    return nn.Sequential(*layers)


class Encoder(nn.Module):
    def __init__(self, cfg: RMConfig):
        super().__init__()
        w = cfg.widths
        chans = (cfg.in_channels, *w)
        self.convs = nn.Sequential(*[_down(a, b) for a, b in zip(chans[:-1], chans[1:])])
        self.low = cfg.size >> len(w)
        self.dense = cfg.dense
        self.fc = (nn.Linear(w[-1] * self.low * self.low, cfg.latent) if cfg.dense
                   else nn.Conv2d(w[-1], cfg.latent, 3, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.convs(x)
        return self.fc(h.flatten(1)) if self.dense else self.fc(h)


class Decoder(nn.Module):
    def __init__(self, cfg: RMConfig):
        super().__init__()
        w = cfg.widths
        self.low = cfg.size >> len(w)
        self.c0 = w[-1]
        self.dense = cfg.dense
        self.fc = (nn.Linear(cfg.latent, w[-1] * self.low * self.low) if cfg.dense
                   else nn.Conv2d(cfg.latent, w[-1], 3, 1, 1))
        rev = list(reversed(w))
        ups = [_up(a, b) for a, b in zip(rev[:-1], rev[1:])]
        self.ups = nn.Sequential(*ups, _up(rev[-1], 3, act=False))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z)
        if self.dense:
            x = x.view(-1, self.c0, self.low, self.low)
        return torch.sigmoid(self.ups(nn.functional.leaky_relu(x, 0.1)))


class RM(nn.Module):
    """One patch's reenactment module: a shared encoder and a decoder per identity."""

    def __init__(self, cfg: RMConfig | None = None):
        super().__init__()
        self.cfg = cfg or RMConfig()
        self.encoder = Encoder(self.cfg)
        self.decoders = nn.ModuleDict({k: Decoder(self.cfg) for k in IDENTITIES})

    def forward(self, x: torch.Tensor, identity: str = "character") -> torch.Tensor:
        return self.decoders[identity](self.encoder(x))


class RMRuntime(nn.Module):
    """What ships: performer patch -> shared encoder -> character decoder, for all three
    patches in one graph, so the engine makes one call per frame (or per batch)."""

    def __init__(self, cfg: RMConfig | None = None):
        super().__init__()
        self.cfg = cfg or RMConfig()
        self.encoders = nn.ModuleDict({p: Encoder(self.cfg) for p in PATCHES})
        self.decoders = nn.ModuleDict({p: Decoder(self.cfg) for p in PATCHES})

    @classmethod
    def from_rms(cls, rms: dict[str, RM]) -> RMRuntime:
        cfg = next(iter(rms.values())).cfg
        rt = cls(cfg)
        for p in PATCHES:
            rt.encoders[p].load_state_dict(rms[p].encoder.state_dict())
            rt.decoders[p].load_state_dict(rms[p].decoders["character"].state_dict())
        return rt.eval()

    def to_rms(self) -> dict[str, RM]:
        """The inverse of ``from_rms``, to fine-tune shipped models: each patch's encoder
        and character decoder; the performer decoder starts as a copy of the character's."""
        out = {}
        for p in PATCHES:
            rm = RM(self.cfg)
            rm.encoder.load_state_dict(self.encoders[p].state_dict())
            for ident in IDENTITIES:
                rm.decoders[ident].load_state_dict(self.decoders[p].state_dict())
            out[p] = rm
        return out

    def forward(self, lip: torch.Tensor, eye_l: torch.Tensor, eye_r: torch.Tensor):
        x = {"lip": lip, "eye_l": eye_l, "eye_r": eye_r}
        return tuple(self.decoders[p](self.encoders[p](x[p])) for p in PATCHES)


class WEM(nn.Module):
    """The three character patches, stacked (9 channels), -> k PCA coefficients."""

    def __init__(self, cfg: WEMConfig | None = None):
        super().__init__()
        self.cfg = cfg or WEMConfig()
        w = self.cfg.widths
        chans = (self.cfg.in_channels, *w)
        self.convs = nn.Sequential(*[_down(a, b) for a, b in zip(chans[:-1], chans[1:])])
        low = self.cfg.size >> len(w)
        self.head = nn.Sequential(
            nn.Flatten(), nn.Linear(w[-1] * low * low, self.cfg.hidden),
            nn.LeakyReLU(0.1, inplace=True), nn.Linear(self.cfg.hidden, self.cfg.k),
        )

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(patches))


def config_from_dict(cls, config: dict | None):
    """A net config dataclass from its JSON/checkpoint form (lists back to tuples)."""
    config = dict(config or {})
    if "widths" in config:
        config["widths"] = tuple(config["widths"])
    return cls(**config)


# Builders named in manifest.json ("models.nets:build_rm_runtime") for the torch backend.
def build_rm_runtime(config: dict | None = None) -> RMRuntime:
    return RMRuntime(config_from_dict(RMConfig, config))


def build_wem(config: dict | None = None) -> WEM:
    return WEM(config_from_dict(WEMConfig, config))


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


__all__ = [
    "IDENTITIES",
    "PATCHES",
    "RM",
    "WEM",
    "RMConfig",
    "RMRuntime",
    "WEMConfig",
    "build_rm_runtime",
    "build_wem",
    "config_from_dict",
    "count_params",
]
