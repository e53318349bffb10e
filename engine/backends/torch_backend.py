"""PyTorch engine: the exported model's torch builder + weights, on CPU or CUDA.

torch is imported lazily (inside the backend), never when this module is imported.
On CUDA: optional fp16, and one CUDA graph per fixed batch size (``graph_batches``); a batch
is padded up to the next captured size, which removes per-kernel launch costs for small nets.
"""
from __future__ import annotations

import bisect
import importlib
import logging
from collections.abc import Mapping
from typing import Any

import numpy as np

from lprr.engine.backends import Backend, BackendError, BackendOptions
from lprr.engine.backends import runtime as rt
from lprr.engine.manifest import ModelSpec, display_path

log = logging.getLogger(__name__)


def probe(kind: str) -> str | None:
    if not rt.has_module("torch"):
        return "PyTorch is not installed (pip install 'lprr[train]')"
    if kind == "cpu":
        return None
    if "+cpu" in (rt.dist_version("torch") or ""):
        return "this PyTorch is a CPU-only build"
    if reason := rt.nvidia_driver():
        return reason
    import torch  # only reached where a CUDA torch and a driver are present

    if not torch.cuda.is_available():
        return "torch.cuda.is_available() is False"
    return None


# The architectures a manifest may name (its "builder"), each the function that builds it:
# a fixed registry, so a model folder cannot make the engine import a module of its choosing.
ARCHITECTURES = {
    "models.nets:build_rm_runtime": "lprr.models.nets:build_rm_runtime",
    "models.nets:build_wem": "lprr.models.nets:build_wem",
}


def register_architecture(name: str, ref: str) -> None:
    """Add an architecture (code registers it; a manifest can only name one): ``ref`` is
    'pkg.module:function', called as ``function(config) -> nn.Module``."""
    ARCHITECTURES[name] = ref


def import_builder(ref: str) -> Any:
    """An architecture name from a manifest (ARCHITECTURES) -> the function that builds it."""
    if ref not in ARCHITECTURES:
        raise BackendError(f"unknown torch architecture {ref!r} in the manifest "
                           f"(known: {', '.join(ARCHITECTURES)})")
    mod, _, fn = ARCHITECTURES[ref].partition(":")
    try:
        return getattr(importlib.import_module(mod), fn)
    except (ImportError, AttributeError) as e:
        raise BackendError(f"cannot import torch architecture {ref!r}: {e}") from None


def build_module(spec: ModelSpec) -> Any:
    """Build the nn.Module described by the manifest entry and load its weights (CPU, eval)."""
    import torch

    t = spec.torch
    if t is None:
        raise BackendError(f"model {spec.key!r} has no torch entry in its manifest "
                           "(exported for ONNX only); use an ort-* backend")
    if t.weights is None or not t.weights.is_file():
        where = display_path(t.weights) if t.weights else f"model {spec.key!r}"
        raise BackendError(f"{where}: torch weights missing; re-export or use an ort-* backend")
    module = import_builder(t.builder)(t.config)
    state = torch.load(t.weights, map_location="cpu", weights_only=True)
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    try:
        module.load_state_dict(state)
    except RuntimeError as e:
        raise BackendError(f"{display_path(t.weights)}: weights do not fit the model built by "
                           f"{t.builder} ({str(e).splitlines()[0]})") from None
    return module.eval()


class TorchBackend(Backend):
    def __init__(self, kind: str, spec: ModelSpec, options: BackendOptions):
        super().__init__(spec)
        if (reason := probe(kind)) is not None:
            raise BackendError(f"torch-{kind}: not available ({reason})")
        import torch

        self.torch = torch
        self.kind = kind
        self.name = f"torch-{kind}"
        self.options = options
        self.device = torch.device("cuda", options.device_id) if kind == "cuda" else torch.device("cpu")
        self.dtype = torch.float16 if (options.fp16 and kind == "cuda") else torch.float32
        self.module = build_module(spec).to(self.device, self.dtype)
        self.use_graphs = kind == "cuda" and options.cuda_graphs
        self.graph_batches = sorted(set(options.graph_batches)) or [1]
        self._graphs: dict[int, tuple[Any, list[Any], list[Any]]] = {}

    def describe(self) -> str:
        extra = [str(self.dtype).replace("torch.", "")]
        if self.use_graphs:
            extra.append(f"CUDA graphs {self.graph_batches}")
        return f"{self.name} ({', '.join(extra)})"

    def _forward(self, xs: list[Any]) -> list[Any]:
        out = self.module(*xs)  # positional, in the manifest's input order
        if isinstance(out, Mapping):
            return [out[n] for n in self.output_names]
        if isinstance(out, (tuple, list)):
            return list(out)
        return [out]

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = self._prepare(inputs)
        n = next(iter(feed.values())).shape[0]
        torch = self.torch
        with torch.inference_mode():
            if self.use_graphs:
                outs = self._run_graphs(feed, n)
            else:
                xs = [torch.from_numpy(feed[k]).to(self.device, self.dtype) for k in self.input_names]
                outs = self._forward(xs)
            return {k: o.float().cpu().numpy() for k, o in zip(self.output_names, outs)}

    # -- CUDA graphs --------------------------------------------------------------------
    def _run_graphs(self, feed: dict[str, np.ndarray], n: int) -> list[Any]:
        biggest = self.graph_batches[-1]
        if n > biggest:  # split into full graphs, then the remainder
            parts = [self._run_graphs({k: v[s:s + biggest] for k, v in feed.items()},
                                      min(biggest, n - s)) for s in range(0, n, biggest)]
            return [self.torch.cat([p[i] for p in parts]) for i in range(len(parts[0]))]
        size = self.graph_batches[bisect.bisect_left(self.graph_batches, n)]
        graph, static_in, static_out = self._graph(size)
        for buf, k in zip(static_in, self.input_names):
            buf[:n].copy_(self.torch.from_numpy(feed[k]), non_blocking=False)
        graph.replay()
        return [o[:n].clone() for o in static_out]

    def _graph(self, size: int) -> tuple[Any, list[Any], list[Any]]:
        if size in self._graphs:
            return self._graphs[size]
        torch = self.torch
        static_in = [torch.zeros((size, *self.spec.inputs[k][1:]), device=self.device,
                                 dtype=self.dtype) for k in self.input_names]
        side = torch.cuda.Stream(device=self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):  # warm up (cuDNN autotune, allocations) off the graph
            for _ in range(3):
                self._forward(static_in)
        torch.cuda.current_stream(self.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_out = self._forward(static_in)
        log.debug("%s: captured a CUDA graph for batch %d", self.name, size)
        self._graphs[size] = (graph, static_in, static_out)
        return self._graphs[size]

    def close(self) -> None:
        self._graphs.clear()
        self.module = None
        if self.kind == "cuda":
            self.torch.cuda.empty_cache()


def create(kind: str, spec: ModelSpec, options: BackendOptions) -> TorchBackend:
    return TorchBackend(kind, spec, options)
