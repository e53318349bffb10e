"""The exported-model folder: ``exported/NAME/manifest.json`` and the files it lists.

Format ``lprr-models/1``::

    {"format": "lprr-models/1", "name": "demo", "controls": [...52 ARKit names...], "k": 20,
     "patch_size": 128, "patches": ["lip", "eye_l", "eye_r"],
     "models": {
       "rm":  {"onnx": "rm.onnx",
               "inputs":  {"lip": [-1,3,128,128], "eye_l": [...], "eye_r": [...]},
               "outputs": {"lip_out": [-1,3,128,128], "eye_l_out": [...], "eye_r_out": [...]},
               "torch": {"builder": "models.nets:build_rm_runtime", "config": {...},
                         "weights": "rm.pt"}},
       "wem": {"onnx": "wem.onnx", "inputs": {"patches": [-1,9,128,128]},
               "outputs": {"coeffs": [-1,20]}, "torch": {...}}},
     "pca": "pca.npz", "opset": 17, "files": {"rm.onnx": "<sha256>", ...}, "trained_on": {...}}

Tensors are float32 NCHW RGB in [0, 1]; the WEM input stacks the lip, eye_l and eye_r
channels in that order; -1 is the dynamic batch. The order of "inputs"/"outputs" is the
positional order of the ONNX graph and of the torch module's ``forward``.

The torch "builder" names an architecture in a fixed registry
(``engine.backends.torch_backend.ARCHITECTURES``; a manifest cannot make the engine import a
module of its choosing); it is called as ``function(config)`` with the config dict and
returns an ``nn.Module``, whose weights load with ``torch.load(..., weights_only=True)``
followed by ``load_state_dict``.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lprr.engine.errors import UserError

FORMAT = "lprr-models/1"
MANIFEST_NAME = "manifest.json"
_FIX = "re-export or restore it"


class ModelError(UserError):
    """An exported model folder is missing, corrupt or inconsistent."""


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def display_path(path: str | os.PathLike) -> str:
    """A path as a user would type it: relative to the working directory when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(p)


@dataclass(frozen=True)
class TorchSpec:
    builder: str  # "pkg.module:function", called as function(config) -> nn.Module
    config: dict[str, Any]
    weights: Path | None  # resolved; None when the export shipped no weights


@dataclass(frozen=True)
class ModelSpec:
    key: str  # "rm" | "wem" | ...
    onnx: Path | None  # resolved path
    inputs: dict[str, tuple[int, ...]]  # name -> shape, -1 for the dynamic batch
    outputs: dict[str, tuple[int, ...]]
    torch: TorchSpec | None
    onnx_sha256: str | None  # from "files"; keys engine caches

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.inputs)

    @property
    def output_names(self) -> tuple[str, ...]:
        return tuple(self.outputs)


@dataclass
class Manifest:
    dir: Path
    name: str
    controls: tuple[str, ...]
    k: int
    patch_size: int
    patches: tuple[str, ...]
    models: dict[str, ModelSpec]
    pca: Path | None
    opset: int | None
    files: dict[str, str]  # relative file name -> sha256
    sketch: Path | None = None  # performer->character SketchMap, for RMs with a sketch input
    trained_on: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def path(self) -> Path:
        return self.dir / MANIFEST_NAME

    def model(self, key: str) -> ModelSpec:
        try:
            return self.models[key]
        except KeyError:
            raise ModelError(
                f"{display_path(self.path)}: no model {key!r} (has: {', '.join(self.models)})"
            ) from None

    @classmethod
    def load(cls, directory: str | os.PathLike, verify: bool = True) -> Manifest:
        """Read and check a model folder. Every problem is a ModelError with one clear line."""
        d = Path(directory)
        if not d.is_dir():
            raise ModelError(f"{display_path(d)}: model folder not found; export models first "
                             "(lprr export) or pass the right --models folder")
        mpath = d / MANIFEST_NAME
        if not mpath.is_file():
            raise ModelError(f"{display_path(mpath)}: missing; {_FIX}")
        try:
            raw = json.loads(mpath.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise ModelError(f"{display_path(mpath)}: not valid JSON ({e}); {_FIX}") from None
        if not isinstance(raw, dict):
            raise ModelError(f"{display_path(mpath)}: not a JSON object; {_FIX}")
        return cls.from_dict(raw, d, verify=verify)

    @classmethod
    def from_dict(cls, raw: dict[str, Any], directory: Path, verify: bool = True) -> Manifest:
        d = Path(directory)
        where = display_path(d / MANIFEST_NAME)
        fmt = raw.get("format")
        if fmt != FORMAT:
            raise ModelError(f"{where}: format {fmt!r} is not supported (expected {FORMAT!r}); "
                             f"{_FIX}")
        try:
            files = {str(k): str(v) for k, v in (raw.get("files") or {}).items()}
            models = {key: _model_spec(key, m, d, files) for key, m in raw["models"].items()}
            man = cls(
                dir=d,
                name=str(raw.get("name", d.name)),
                controls=tuple(str(n) for n in raw["controls"]),
                k=int(raw.get("k", 0)),
                patch_size=int(raw.get("patch_size", 128)),
                patches=tuple(raw.get("patches", ("lip", "eye_l", "eye_r"))),
                models=models,
                pca=(d / raw["pca"]) if raw.get("pca") else None,
                opset=int(raw["opset"]) if raw.get("opset") is not None else None,
                files=files,
                sketch=(d / raw["sketch"]) if raw.get("sketch") else None,
                trained_on=dict(raw.get("trained_on") or {}),
                raw=raw,
            )
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ModelError(f"{where}: malformed ({type(e).__name__}: {e}); {_FIX}") from None
        if verify:
            man.verify()
        return man

    def verify(self) -> None:
        """Check every listed file exists and matches its sha256; referenced files exist."""
        for rel, digest in self.files.items():
            p = self.dir / rel
            if not p.is_file():
                raise ModelError(f"{display_path(p)}: missing (listed in {MANIFEST_NAME}); {_FIX}")
            if sha256_file(p) != digest.lower():
                raise ModelError(f"{display_path(p)}: sha256 mismatch (file corrupt or modified); "
                                 f"{_FIX}")
        needed = [m.onnx for m in self.models.values() if m.onnx is not None]
        needed += [p for p in (self.pca, self.sketch) if p is not None]
        for p in needed:
            if not p.is_file():
                raise ModelError(f"{display_path(p)}: missing (named in {MANIFEST_NAME}); {_FIX}")


def _shape(v: Any) -> tuple[int, ...]:
    return tuple(int(x) if x is not None else -1 for x in v)


def _model_spec(key: str, m: dict[str, Any], d: Path, files: dict[str, str]) -> ModelSpec:
    t = m.get("torch")
    torch_spec = None
    if t:
        torch_spec = TorchSpec(builder=str(t["builder"]), config=dict(t.get("config") or {}),
                               weights=(d / t["weights"]) if t.get("weights") else None)
    onnx = m.get("onnx")
    return ModelSpec(
        key=key,
        onnx=(d / onnx) if onnx else None,
        inputs={str(n): _shape(s) for n, s in m["inputs"].items()},
        outputs={str(n): _shape(s) for n, s in m["outputs"].items()},
        torch=torch_spec,
        onnx_sha256=files.get(onnx) if onnx else None,
    )


def _referenced_files(data: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for m in (data.get("models") or {}).values():
        if m.get("onnx"):
            out.append(m["onnx"])
        t = m.get("torch") or {}
        if t.get("weights"):
            out.append(t["weights"])
    out += [data[k] for k in ("pca", "sketch") if data.get(k)]
    return out


def write_manifest(directory: str | os.PathLike, data: dict[str, Any]) -> Path:
    """Write ``directory/manifest.json`` from ``data``, filling in "format" and "files".

    "files" gets the sha256 of every file the manifest references (ONNX, torch weights, PCA)
    plus any names already listed in ``data["files"]`` (e.g. extra assets). All must exist.
    Returns the manifest path; the result loads with ``Manifest.load(directory)``.
    """
    d = Path(directory)
    out = dict(data)
    out.setdefault("format", FORMAT)
    names = list(dict.fromkeys([*(out.get("files") or {}), *_referenced_files(out)]))
    files: dict[str, str] = {}
    for rel in names:
        p = d / rel
        if not p.is_file():
            raise ModelError(f"{display_path(p)}: cannot list it in {MANIFEST_NAME}: no such file")
        files[rel] = sha256_file(p)
    out["files"] = files
    path = d / MANIFEST_NAME
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)  # readers never see a half-written manifest
    return path
