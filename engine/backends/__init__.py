"""One interface over the inference engines: a batch in, a batch out.

Names: ``ort-cpu``, ``ort-cuda``, ``ort-tensorrt`` (ONNX Runtime execution providers),
``tensorrt`` (native TensorRT), ``torch-cpu``, ``torch-cuda``. ``auto`` picks the best one
available, in the order of ``AUTO_ORDER``. The pipeline never knows which one it talks to.

Nothing here imports torch, TensorRT or CUDA bindings at module import time.
"""
from __future__ import annotations

import functools
import importlib
import logging
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lprr.engine.errors import UserError
from lprr.engine.manifest import Manifest, ModelSpec

log = logging.getLogger(__name__)

BACKEND_NAMES = ("tensorrt", "ort-tensorrt", "ort-cuda", "torch-cuda", "ort-cpu", "torch-cpu")
# "auto" never picks torch-cpu: ORT is faster on CPU and the live app needs no torch.
AUTO_ORDER = ("tensorrt", "ort-tensorrt", "ort-cuda", "torch-cuda", "ort-cpu")


class BackendError(UserError):
    """An engine could not be built or run (bad model, missing library, failed GPU init)."""


@dataclass
class BackendOptions:
    """Knobs every engine accepts; each uses the ones that apply to it."""

    threads: int = 0  # CPU intra-op threads; 0 = LPRR_CPU_THREADS, else half the cores
    spin: bool = False  # ORT worker threads busy-wait (faster, but burns the shared cores)
    io_binding: bool = False  # ORT: bind inputs/outputs instead of session.run
    device_id: int = 0
    fp16: bool = False  # torch-cuda: half; ORT TRT EP / native TRT: allow FP16 kernels
    cuda_graphs: bool = True  # torch-cuda: capture one graph per fixed batch size
    graph_batches: tuple[int, ...] = (1, 2, 3, 4, 8)  # torch-cuda graph sizes (pad up)
    min_batch: int = 1  # TensorRT optimisation profile for the dynamic batch
    opt_batch: int = 1
    max_batch: int = 8
    workspace_mb: int = 1024  # TensorRT builder workspace
    cache_dir: Path | None = None  # default: ~/.cache/lprr (see lprr.engine.backends.runtime)

    def cpu_threads(self) -> int:
        if self.threads > 0:
            return self.threads
        env = os.environ.get("LPRR_CPU_THREADS", "")
        if env.isdigit() and int(env) > 0:  # a user's (or a benchmark's) choice
            return int(env)
        # Half the cores: the landmark stage runs beside inference on the others. On 2 cores
        # one ORT thread beat two (scripts/bench.py, same runs: lprr 1.52x and 1.45x
        # MediaPipe alone against 1.39x and 1.43x): two made the stages fight.
        return max(1, (os.cpu_count() or 2) // 2)


class Backend(ABC):
    """A loaded model. ``run`` takes a batch (any size >= 1) and returns a batch, float32."""

    name: str = "?"

    def __init__(self, spec: ModelSpec):
        self.spec = spec

    @property
    def input_names(self) -> tuple[str, ...]:
        return self.spec.input_names

    @property
    def output_names(self) -> tuple[str, ...]:
        return self.spec.output_names

    @abstractmethod
    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """inputs: name -> (N, ...) float32; returns name -> (N, ...) float32 host arrays."""

    def close(self) -> None:
        """Free the engine's resources; the backend is unusable afterwards."""

    def describe(self) -> str:
        return self.name

    def warmup(self, batch: int = 1, runs: int = 2) -> None:
        """Run zeros through the engine so first-call costs (allocation, tuning) are paid now."""
        x = {n: np.zeros((batch, *s[1:]), np.float32) for n, s in self.spec.inputs.items()}
        for _ in range(runs):
            self.run(x)

    def _prepare(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Check names and batch, and give contiguous float32 arrays."""
        missing = [n for n in self.input_names if n not in inputs]
        if missing:
            raise ValueError(f"{self.spec.key}: missing inputs {missing}; expects "
                             f"{list(self.input_names)}")
        out = {n: np.ascontiguousarray(inputs[n], dtype=np.float32) for n in self.input_names}
        batches = {a.shape[0] if a.ndim else 0 for a in out.values()}
        if len(batches) != 1 or 0 in batches:
            raise ValueError(f"{self.spec.key}: inputs need one batch size >= 1, got "
                             f"{ {n: a.shape for n, a in out.items()} }")
        for n, a in out.items():
            want = self.spec.inputs[n]
            if len(want) != a.ndim or any(w > 0 and w != g for w, g in zip(want[1:], a.shape[1:])):
                raise ValueError(f"{self.spec.key}: input {n!r} has shape {a.shape}, expected "
                                 f"{tuple(want)}")
        return out

    def __enter__(self) -> Backend:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- availability ---------------------------------------------------------------------------

def _probe(name: str) -> str | None:
    mod, kind = _IMPL[name]
    return importlib.import_module(f"lprr.engine.backends.{mod}").probe(kind)


@functools.lru_cache(maxsize=1)
def _available_cached() -> tuple[tuple[str, str | None], ...]:
    out = []
    for n in BACKEND_NAMES:
        try:
            reason = _probe(n)
        except Exception as e:  # noqa: BLE001 - a broken install is "not available"
            reason = f"probe failed: {type(e).__name__}: {e}"
        out.append((n, reason))
    return tuple(out)


def available_backends(refresh: bool = False) -> dict[str, str | None]:
    """name -> None when usable here, else a one-phrase reason why not."""
    if refresh:
        _available_cached.cache_clear()
    return dict(_available_cached())


def usable_backends() -> list[str]:
    return [n for n, r in available_backends().items() if r is None]


# name -> (module in lprr.engine.backends, kind passed to its probe/factory)
_IMPL: dict[str, tuple[str, str]] = {
    "ort-cpu": ("ort", "cpu"),
    "ort-cuda": ("ort", "cuda"),
    "ort-tensorrt": ("ort", "tensorrt"),
    "tensorrt": ("tensorrt", "tensorrt"),
    "torch-cpu": ("torch_backend", "cpu"),
    "torch-cuda": ("torch_backend", "cuda"),
}


def _factory(name: str) -> Callable[..., Backend]:
    mod, kind = _IMPL[name]
    module = importlib.import_module(f"lprr.engine.backends.{mod}")
    return functools.partial(module.create, kind)


def resolve_backend_name(name: str) -> str:
    """'auto' -> the best usable engine (logged); a named one is checked. UserError otherwise."""
    avail = available_backends()
    if name == "auto":
        for n in AUTO_ORDER:
            if avail.get(n) is None:
                skipped = [f"{m}: {avail[m]}" for m in AUTO_ORDER[: AUTO_ORDER.index(n)]]
                log.info("backend auto -> %s%s", n,
                         f" (skipped {'; '.join(skipped)})" if skipped else "")
                return n
        raise UserError("no inference backend is available: "
                        + "; ".join(f"{n}: {r}" for n, r in avail.items()))
    if name not in _IMPL:
        raise UserError(f"unknown backend {name!r}; choose one of: auto, {', '.join(BACKEND_NAMES)}")
    if (reason := avail[name]) is not None:
        ok = ", ".join(usable_backends()) or "none"
        raise UserError(f"backend {name!r} is not available here ({reason}); available: {ok}")
    return name


def create_backend(name: str, manifest: Manifest, model_key: str,
                   options: BackendOptions | None = None) -> Backend:
    """Load ``manifest.models[model_key]`` on engine ``name`` ("auto" = best available).

    With "auto", an engine that is present but fails to build (driver too old, out of memory)
    is logged and the next one is tried, down to ort-cpu.
    """
    options = options or BackendOptions()
    spec = manifest.model(model_key)
    if name != "auto":
        return _factory(resolve_backend_name(name))(spec, options)
    first = resolve_backend_name("auto")
    candidates = [n for n in AUTO_ORDER[AUTO_ORDER.index(first):]
                  if available_backends()[n] is None]
    last: Exception | None = None
    for n in candidates:
        try:
            return _factory(n)(spec, options)
        except UserError as e:
            if isinstance(e, BackendError) and n != candidates[-1]:
                log.warning("backend %s failed (%s); trying the next one", n, e)
                last = e
                continue
            raise
    raise BackendError(f"no backend could load {model_key}: {last}")


def describe_runtime() -> str:
    """A doctor report: which onnxruntime build is loaded, its providers, and every engine."""
    from lprr.engine.backends import runtime

    lines = []
    dists = runtime.installed_ort_distributions()
    try:
        import onnxruntime as ort

        lines.append(f"onnxruntime module: {ort.__version__} from {Path(ort.__file__).parent}")
        lines.append(f"onnxruntime providers: {', '.join(ort.get_available_providers())}")
    except ImportError as e:
        lines.append(f"onnxruntime module: not importable ({e})")
    if dists:
        lines.append("onnxruntime distributions installed: "
                     + ", ".join(f"{n}=={v}" for n, v in dists.items()))
        if len(dists) > 1:
            lines.append("  WARNING: several onnxruntime builds share one module and the last "
                         "installed wins; uninstall all of them, then install only the one you "
                         "want (e.g. pip uninstall -y onnxruntime onnxruntime-gpu && "
                         "pip install 'lprr[gpu]')")
    else:
        lines.append("onnxruntime distributions installed: none")
    lines.append(f"TensorRT: {runtime.tensorrt_version() or 'not installed'}")
    lines.append(f"torch: {runtime.dist_version('torch') or 'not installed'}")
    lines.append(f"NVIDIA driver: {runtime.nvidia_driver() or 'found'}")
    lines.append(f"engine caches: {runtime.cache_root()}")
    lines.append("backends:")
    avail = available_backends()
    for n in BACKEND_NAMES:
        r = avail[n]
        lines.append(f"  {n:<13} {'yes' if r is None else 'no  - ' + r}")
    auto = next((n for n in AUTO_ORDER if avail[n] is None), None)
    lines.append(f"auto picks: {auto or 'nothing (no engine available)'}")
    return "\n".join(lines)


__all__ = [
    "AUTO_ORDER", "BACKEND_NAMES", "Backend", "BackendError", "BackendOptions",
    "available_backends", "create_backend", "describe_runtime", "resolve_backend_name",
    "usable_backends",
]
