"""Export trained RM/WEM to ONNX (dynamic batch) with the PCA and a manifest (sha256)."""
from __future__ import annotations

import logging
import shutil
import warnings
from pathlib import Path

import torch

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.manifest import write_manifest
from lprr.engine.pca import Pca
from lprr.models.nets import PATCHES, RM, WEM, RMRuntime

log = logging.getLogger(__name__)
OPSET = 17
FINETUNE_FILE = "rm_train.pt"


def _export(model: torch.nn.Module, args: tuple, path: Path, inputs: list[str],
            outputs: list[str]) -> None:
    with warnings.catch_warnings():  # the TorchScript exporter warns that it is legacy
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, args, str(path), input_names=inputs, output_names=outputs,
            dynamic_axes={n: {0: "batch"} for n in inputs + outputs}, opset_version=OPSET,
            do_constant_folding=True, dynamo=False,
        )


def export_models(rms: dict[str, RM], wem: WEM, pca: Pca, out: Path, name: str,
                  trained_on: dict | None = None, with_torch: bool = True,
                  sketch_map: Path | None = None) -> Path:
    """``sketch_map``: the performer->character SketchMap (.npz) of RMs that read a sketch
    channel; shipped as sketch.npz."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rt = RMRuntime.from_rms(rms).cpu().eval()
    wem = wem.cpu().eval()
    s = rt.cfg.size
    c = rt.cfg.in_channels
    x = torch.rand(2, c, s, s)
    rm_in, rm_out = list(PATCHES), [f"{p}_out" for p in PATCHES]
    _export(rt, (x, x, x), out / "rm.onnx", rm_in, rm_out)
    _export(wem, (torch.rand(2, 9, s, s),), out / "wem.onnx", ["patches"], ["coeffs"])
    pca_path = pca.save(out / "pca.npz")
    rm_entry = {"onnx": "rm.onnx", "inputs": {n: [-1, c, s, s] for n in rm_in},
                "outputs": {n: [-1, 3, s, s] for n in rm_out}}
    wem_entry = {"onnx": "wem.onnx", "inputs": {"patches": [-1, 9, s, s]},
                 "outputs": {"coeffs": [-1, pca.k]}}
    extra_files: dict[str, str] = {}
    if with_torch:
        # every patch's whole RM, the performer decoder included: what fine-tuning starts
        # from (lprr train personalise); the run time never loads it
        torch.save({"config": rt.cfg.to_dict(),
                    "rms": {p: rm.cpu().state_dict() for p, rm in rms.items()}},
                   out / FINETUNE_FILE)
        extra_files[FINETUNE_FILE] = ""
        torch.save(rt.state_dict(), out / "rm.pt")
        torch.save(wem.state_dict(), out / "wem.pt")
        rm_entry["torch"] = {"builder": "models.nets:build_rm_runtime",
                             "config": rt.cfg.to_dict(), "weights": "rm.pt"}
        wem_entry["torch"] = {"builder": "models.nets:build_wem",
                              "config": wem.cfg.to_dict(), "weights": "wem.pt"}
    if list(pca.names) != list(CONTROL_NAMES):
        log.warning("PCA controls differ from lprr's control list; the manifest keeps the "
                    "PCA's names")
    from lprr.engine.face.apem import PATCH_SPECS

    manifest = {
        "name": name,
        "controls": list(pca.names),
        "k": pca.k,
        "patch_size": s,
        "patches": list(PATCHES),
        "apem": {n: {"center": list(sp.center), "side": sp.side}
                 for n, sp in PATCH_SPECS.items()},
        "models": {"rm": rm_entry, "wem": wem_entry},
        "pca": pca_path.name,
        **({"sketch": shutil.copyfile(sketch_map, out / "sketch.npz").name}
           if sketch_map is not None else {}),
        "opset": OPSET,
        "trained_on": trained_on or {},
        "files": extra_files,
    }
    path = write_manifest(out, manifest)
    log.info("exported %s", path)
    return path
