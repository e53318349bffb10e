"""Tiny RM/WEM stand-ins exported in the real manifest format, for backend and engine tests.

The manifest names the torch architecture ``tests.toy_models:build_toy``, which this module
registers with the torch backend (the repo root is on sys.path via tests/conftest.py).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from lprr.engine.backends.torch_backend import register_architecture
from lprr.engine.controls import CONTROL_NAMES

PATCHES = ("lip", "eye_l", "eye_r")
BUILDER = "tests.toy_models:build_toy"
register_architecture(BUILDER, BUILDER)


def build_toy(config: dict):
    """The manifest's torch builder: ``build_toy(config) -> nn.Module``."""
    import torch
    from torch import nn

    class ToyRM(nn.Module):
        """One shared encoder, one decoder; three patches in, three out."""

        def __init__(self, width: int):
            super().__init__()
            self.enc = nn.Sequential(nn.Conv2d(3, width, 4, stride=4), nn.ReLU())
            self.dec = nn.Sequential(nn.ConvTranspose2d(width, 3, 4, stride=4), nn.Sigmoid())

        def forward(self, lip, eye_l, eye_r):
            return tuple(self.dec(self.enc(x)) for x in (lip, eye_l, eye_r))

    class ToyWEM(nn.Module):
        def __init__(self, width: int, k: int):
            super().__init__()
            self.body = nn.Sequential(nn.Conv2d(9, width, 8, stride=8), nn.ReLU(),
                                      nn.AdaptiveAvgPool2d(4), nn.Flatten())
            self.head = nn.Linear(width * 16, k)

        def forward(self, patches):
            return self.head(self.body(patches))

    torch.manual_seed(int(config.get("seed", 0)))
    if config["kind"] == "rm":
        return ToyRM(int(config.get("width", 8)))
    return ToyWEM(int(config.get("width", 8)), int(config["k"]))


def export_toy(out: Path, k: int = 20, size: int = 128, name: str = "toy") -> Path:
    """Build, save and export both toy models into ``out`` with a manifest; returns ``out``."""
    import torch

    from lprr.engine.manifest import write_manifest

    out.mkdir(parents=True, exist_ok=True)
    models = {}
    specs = {
        "rm": ({"kind": "rm", "width": 8, "seed": 1},
               {n: [-1, 3, size, size] for n in PATCHES},
               {f"{n}_out": [-1, 3, size, size] for n in PATCHES}),
        "wem": ({"kind": "wem", "width": 8, "k": k, "seed": 2},
                {"patches": [-1, 9, size, size]}, {"coeffs": [-1, k]}),
    }
    for key, (config, inputs, outputs) in specs.items():
        module = build_toy(config).eval()
        torch.save(module.state_dict(), out / f"{key}.pt")
        dummy = tuple(torch.rand(1, *s[1:]) for s in inputs.values())
        dyn = {n: {0: "batch"} for n in [*inputs, *outputs]}
        torch.onnx.export(module, dummy, str(out / f"{key}.onnx"), input_names=list(inputs),
                          output_names=list(outputs), dynamic_axes=dyn, opset_version=17,
                          dynamo=False)
        models[key] = {"onnx": f"{key}.onnx", "inputs": inputs, "outputs": outputs,
                       "torch": {"builder": BUILDER, "config": config, "weights": f"{key}.pt"}}
    np.savez(out / "pca.npz", mean=np.zeros(len(CONTROL_NAMES), np.float32))
    write_manifest(out, {"name": name, "controls": list(CONTROL_NAMES), "k": k,
                         "patch_size": size, "patches": list(PATCHES), "models": models,
                         "pca": "pca.npz", "opset": 17, "trained_on": {"toy": True}})
    return out
