"""ONNX Runtime engines: CPU, CUDA and TensorRT execution providers.

Provider options are built in one place (``provider_chain``). TensorRT engine and timing
caches live in a folder keyed by the ORT and TensorRT versions (``runtime.ort_trt_cache_dir``),
so upgrading either never loads a stale engine.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lprr.engine.backends import Backend, BackendError, BackendOptions
from lprr.engine.backends import runtime as rt
from lprr.engine.manifest import ModelSpec, display_path

log = logging.getLogger(__name__)

_PROVIDER = {"cpu": "CPUExecutionProvider", "cuda": "CUDAExecutionProvider",
             "tensorrt": "TensorrtExecutionProvider"}


def probe(kind: str) -> str | None:
    if not rt.has_module("onnxruntime"):
        return "onnxruntime is not installed"
    import onnxruntime as ort

    if kind == "cpu":
        return None
    provider = _PROVIDER[kind]
    if provider not in ort.get_available_providers():
        dists = ", ".join(rt.installed_ort_distributions()) or "onnxruntime"
        return (f"this onnxruntime build ({dists}) has no {provider}; "
                "install onnxruntime-gpu alone (pip install 'lprr[gpu]')")
    if reason := rt.nvidia_driver():
        return reason
    if kind == "tensorrt" and rt.tensorrt_version() is None and not _nvinfer_loadable():
        return "TensorRT libraries (libnvinfer) not found"
    return None


def _nvinfer_loadable() -> bool:
    import ctypes

    for n in ("libnvinfer.so.10", "libnvinfer.so", "nvinfer_10.dll", "nvinfer.dll"):
        try:
            ctypes.CDLL(n)
            return True
        except OSError:
            continue
    return False


def _profile_shapes(spec: ModelSpec, batch: int) -> str:
    """TRT EP profile string, e.g. 'lip:1x3x128x128,eye_l:1x3x128x128'."""
    return ",".join(f"{n}:" + "x".join(str(batch if i == 0 else d) for i, d in enumerate(s))
                    for n, s in spec.inputs.items())


def provider_chain(kind: str, spec: ModelSpec, options: BackendOptions,
                   cache_dir: Path | None = None) -> list[tuple[str, dict[str, Any]]]:
    """THE one place that builds (provider, options) lists for a session, best first."""
    cpu: tuple[str, dict[str, Any]] = ("CPUExecutionProvider", {})
    if kind == "cpu":
        return [cpu]
    cuda = ("CUDAExecutionProvider", {
        "device_id": options.device_id,
        # Fixed input shapes: search once for the fastest cuDNN conv, then reuse it.
        "cudnn_conv_algo_search": "EXHAUSTIVE",
        "cudnn_conv_use_max_workspace": "1",
        "arena_extend_strategy": "kSameAsRequested",
        "do_copy_in_default_stream": "1",
    })
    if kind == "cuda":
        return [cuda, cpu]
    cache = cache_dir or rt.ort_trt_cache_dir(options.cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    trt = ("TensorrtExecutionProvider", {
        "device_id": options.device_id,
        "trt_max_workspace_size": str(options.workspace_mb << 20),
        "trt_fp16_enable": "1" if options.fp16 else "0",
        "trt_engine_cache_enable": "1",
        "trt_engine_cache_path": str(cache),
        "trt_timing_cache_enable": "1",
        "trt_timing_cache_path": str(cache),
        # One profile for the dynamic batch, so a new batch size never triggers a rebuild.
        "trt_profile_min_shapes": _profile_shapes(spec, options.min_batch),
        "trt_profile_opt_shapes": _profile_shapes(spec, options.opt_batch),
        "trt_profile_max_shapes": _profile_shapes(spec, options.max_batch),
        "trt_builder_optimization_level": "3",
    })
    return [trt, cuda, cpu]


def session_options(options: BackendOptions):
    """Tuned for a small shared CPU: few intra-op threads, no inter-op pool, full graph opts."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = options.cpu_threads()
    so.inter_op_num_threads = 1
    # Spinning workers shave a little latency but eat the cores MediaPipe and capture need.
    so.add_session_config_entry("session.intra_op.allow_spinning", "1" if options.spin else "0")
    so.log_severity_level = 3
    return so


def vendored_session(path: str | Path | None, default: Path, sha256: str, what: str,
                     threads: int = 1):
    """A CPU session for one of the ONNX files lprr ships (``default``, whose sha256 must be
    ``sha256``) or for a user's own file (``path``, trusted as it is). ``what`` names it in
    the one-line errors. No spinning workers: they would take the cores the rest of the
    pipeline needs."""
    import hashlib

    import onnxruntime as ort

    from lprr.engine.errors import UserError

    p = Path(path) if path is not None else default
    if not p.is_file():
        raise UserError(f"{what} not found: {p} (python scripts/export_mediapipe.py writes it)")
    data = p.read_bytes()
    if path is None and hashlib.sha256(data).hexdigest() != sha256:
        raise UserError(f"{p} is not the converted model this release expects; "
                        "restore it from the repository")
    return ort.InferenceSession(data, session_options(BackendOptions(threads=threads)),
                                providers=["CPUExecutionProvider"])


def _dims(shape) -> tuple[int, ...]:
    """An ORT shape as ints, a symbolic or unknown dimension as -1."""
    return tuple(d if isinstance(d, int) and d > 0 else -1 for d in shape)


def check_graph(session, spec: ModelSpec) -> None:
    """Every input and output of the loaded graph against the manifest: names, shapes
    (-1 matches any dimension) and dtype (float32), so a wrong model fails at load with one
    line naming the file, the tensor, what was expected and what was found."""
    assert spec.onnx is not None  # the session was loaded from it
    where = display_path(spec.onnx)
    for kind, want, got in (("input", spec.inputs, session.get_inputs()),
                            ("output", spec.outputs, session.get_outputs())):
        found = {t.name: t for t in got}
        for name, shape in want.items():
            t = found.get(name)
            if t is None:
                raise BackendError(f"{where}: {kind} {name!r} expected, not in the graph "
                                   f"(found {sorted(found)})")
            dims = _dims(t.shape)
            if len(dims) != len(shape) or any(w > 0 and g > 0 and w != g
                                               for w, g in zip(shape, dims)):
                raise BackendError(f"{where}: {kind} {name!r} expected shape {list(shape)}, "
                                   f"found {list(dims)}")
            if t.type != "tensor(float)":
                raise BackendError(f"{where}: {kind} {name!r} expected dtype float32, "
                                   f"found {t.type}")
        if kind == "input" and (extra := sorted(set(found) - set(want))):
            raise BackendError(f"{where}: graph inputs {extra} are not in the manifest")


class OrtBackend(Backend):
    def __init__(self, kind: str, spec: ModelSpec, options: BackendOptions):
        super().__init__(spec)
        import onnxruntime as ort

        if spec.onnx is None:
            raise BackendError(f"model {spec.key!r} has no ONNX file in its manifest")
        self.kind = kind
        self.name = f"ort-{kind}"
        self.options = options
        providers = provider_chain(kind, spec, options)
        try:
            self.session = ort.InferenceSession(
                str(spec.onnx), sess_options=session_options(options),
                providers=[p for p, _ in providers], provider_options=[o for _, o in providers])
        except Exception as e:  # noqa: BLE001 - ORT raises its own exception types
            raise BackendError(f"{self.name}: cannot load {display_path(spec.onnx)}: "
                               f"{str(e).splitlines()[0]}") from None
        got = self.session.get_providers()
        # ORT silently falls back to CPU when a GPU provider's libraries fail to load.
        if providers[0][0] not in got:
            self.session = None
            raise BackendError(f"{self.name}: {providers[0][0]} failed to initialise (check the "
                               "CUDA/cuDNN/TensorRT libraries match this onnxruntime-gpu build; "
                               "run `lprr doctor`)")
        check_graph(self.session, spec)
        self._outputs = list(spec.output_names)
        self._binding = self.session.io_binding() if options.io_binding else None
        self._device = "cpu" if kind == "cpu" else "cuda"
        log.debug("%s loaded %s with %s", self.name, spec.onnx.name, got)

    def describe(self) -> str:
        extra = f", {self.options.cpu_threads()} threads" if self.kind == "cpu" else ""
        return f"{self.name} ({self.session.get_providers()[0]}{extra})"

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = self._prepare(inputs)
        if self._binding is None:
            outs = self.session.run(self._outputs, feed)
            return dict(zip(self._outputs, outs))
        b = self._binding
        b.clear_binding_inputs()
        b.clear_binding_outputs()
        for n, a in feed.items():
            b.bind_cpu_input(n, a)
        for n in self._outputs:
            b.bind_output(n, self._device, self.options.device_id)
        self.session.run_with_iobinding(b)
        return dict(zip(self._outputs, b.copy_outputs_to_cpu()))

    def close(self) -> None:
        self._binding = None
        self.session = None


def create(kind: str, spec: ModelSpec, options: BackendOptions) -> OrtBackend:
    return OrtBackend(kind, spec, options)
