"""Native TensorRT engine (TensorRT 10 name-based API), built from the exported ONNX.

- Build: ``OnnxParser`` -> ``build_serialized_network`` with ``set_memory_pool_limit`` and one
  optimisation profile for the dynamic batch (min/opt/max from BackendOptions).
- Cache: serialized engines in ``~/.cache/lprr/trt/native_trt-<version>/``, named by the ONNX
  sha256, the GPU's compute capability, precision and the profile; a timing cache beside them.
- Run: ``set_input_shape`` + ``set_tensor_address`` + ``execute_async_v3`` on a CUDA stream.
  Device buffers come from cuda-python (``cuda.bindings.runtime`` / ``cuda.cudart``) or, when
  that is absent, from torch CUDA tensors.

Version traps handled: TensorRT 10 removed ``build_engine``/``max_workspace_size`` (not used
here); TensorRT 11 dropped ``BuilderFlag.FP16`` (precision then comes from the ONNX dtypes, so
``fp16=True`` is ignored with a warning: export an fp16 graph instead).

Nothing here imports tensorrt or CUDA bindings at module import time.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from lprr.engine.backends import Backend, BackendError, BackendOptions
from lprr.engine.backends import runtime as rt
from lprr.engine.manifest import ModelSpec, display_path, sha256_file

log = logging.getLogger(__name__)


def _cudart():
    try:
        from cuda.bindings import runtime as cudart  # cuda-python >= 12.6
    except ImportError:
        from cuda import cudart  # older cuda-python
    return cudart


def probe(kind: str = "tensorrt") -> str | None:
    if not rt.has_module("tensorrt"):
        return "TensorRT Python package not installed (pip install 'lprr[gpu]')"
    if reason := rt.nvidia_driver():
        return reason
    if rt.has_module("cuda.bindings") or rt.has_module("cuda.cudart"):
        return None
    if rt.has_module("torch") and "+cpu" not in (rt.dist_version("torch") or ""):
        import torch  # only reached on machines with TensorRT and an NVIDIA driver

        if torch.cuda.is_available():
            return None
    return "no CUDA memory API for buffers (install cuda-python, or torch with CUDA)"


# -- device memory: cuda-python or torch ----------------------------------------------------

class _CudaPythonMem:
    def __init__(self, device_id: int):
        self.rt = _cudart()
        self._check(self.rt.cudaSetDevice(device_id))
        self.stream = self._check(self.rt.cudaStreamCreate())
        self._ptrs: list[int] = []

    def _check(self, res: Any) -> Any:
        err, *rest = res if isinstance(res, tuple) else (res,)
        if int(err) != 0:
            _, msg = self.rt.cudaGetErrorString(err)
            raise BackendError(f"tensorrt: CUDA error {int(err)}: {msg.decode()}")
        return rest[0] if len(rest) == 1 else rest

    def alloc(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[Any, int]:
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        ptr = int(self._check(self.rt.cudaMalloc(max(nbytes, 1))))
        self._ptrs.append(ptr)
        return ptr, ptr

    def h2d(self, buf: Any, arr: np.ndarray) -> None:
        self._check(self.rt.cudaMemcpyAsync(buf, arr.ctypes.data, arr.nbytes,
                                            self.rt.cudaMemcpyKind.cudaMemcpyHostToDevice,
                                            self.stream))

    def d2h(self, buf: Any, out: np.ndarray) -> None:
        self._check(self.rt.cudaMemcpyAsync(out.ctypes.data, buf, out.nbytes,
                                            self.rt.cudaMemcpyKind.cudaMemcpyDeviceToHost,
                                            self.stream))

    @property
    def handle(self) -> Any:
        return self.stream

    def sync(self) -> None:
        self._check(self.rt.cudaStreamSynchronize(self.stream))

    def gpu_tag(self, device_id: int) -> str:
        props = self._check(self.rt.cudaGetDeviceProperties(device_id))
        return f"sm{props.major}{props.minor}"

    def close(self) -> None:
        for p in self._ptrs:
            self.rt.cudaFree(p)
        self._ptrs.clear()
        self.rt.cudaStreamDestroy(self.stream)


class _TorchMem:
    def __init__(self, device_id: int):
        import torch

        self.torch = torch
        self.device = torch.device("cuda", device_id)
        self.stream = torch.cuda.Stream(device=self.device)

    def alloc(self, shape: tuple[int, ...], dtype: np.dtype) -> tuple[Any, int]:
        t = self.torch.empty(shape, dtype=_torch_dtype(self.torch, dtype), device=self.device)
        return t, int(t.data_ptr())

    def h2d(self, buf: Any, arr: np.ndarray) -> None:
        with self.torch.cuda.stream(self.stream):
            buf.view(-1)[: arr.size].copy_(self.torch.from_numpy(arr).view(-1), non_blocking=True)

    def d2h(self, buf: Any, out: np.ndarray) -> None:
        with self.torch.cuda.stream(self.stream):
            self.torch.from_numpy(out).view(-1).copy_(buf.view(-1)[: out.size])

    @property
    def handle(self) -> int:
        return self.stream.cuda_stream

    def sync(self) -> None:
        self.stream.synchronize()

    def gpu_tag(self, device_id: int) -> str:
        major, minor = self.torch.cuda.get_device_capability(device_id)
        return f"sm{major}{minor}"

    def close(self) -> None:
        pass


def _torch_dtype(torch: Any, dtype: np.dtype) -> Any:
    return {np.float32: torch.float32, np.float16: torch.float16, np.int32: torch.int32,
            np.int64: torch.int64, np.int8: torch.int8, np.bool_: torch.bool}[np.dtype(dtype).type]


# -- engine ---------------------------------------------------------------------------------

class TensorRTBackend(Backend):
    name = "tensorrt"

    def __init__(self, spec: ModelSpec, options: BackendOptions):
        super().__init__(spec)
        if (reason := probe()) is not None:
            raise BackendError(f"tensorrt: not available ({reason})")
        if spec.onnx is None:
            raise BackendError(f"model {spec.key!r} has no ONNX file in its manifest")
        import tensorrt as trt

        self.onnx: Path = spec.onnx
        self.trt = trt
        self.options = options
        self.max_batch = options.max_batch
        self.logger = trt.Logger(trt.Logger.WARNING)
        use_cp = rt.has_module("cuda.bindings") or rt.has_module("cuda.cudart")
        self.mem: _CudaPythonMem | _TorchMem = (_CudaPythonMem(options.device_id) if use_cp
                                                else _TorchMem(options.device_id))
        cache = rt.native_trt_cache_dir(options.cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        sha = spec.onnx_sha256 or sha256_file(spec.onnx)
        prec = "fp16" if options.fp16 else "fp32"
        tag = self.mem.gpu_tag(options.device_id)
        self.engine_path = cache / (f"{sha[:16]}_{tag}_{prec}_b{options.min_batch}-"
                                    f"{options.opt_batch}-{options.max_batch}.engine")
        runtime = trt.Runtime(self.logger)
        # TensorRT's ICudaEngine and IExecutionContext (tensorrt has no type information)
        self.engine: Any = None
        self.context: Any = None
        if self.engine_path.is_file():
            self.engine = runtime.deserialize_cuda_engine(self.engine_path.read_bytes())
            if self.engine is None:
                log.warning("tensorrt: cached engine %s did not load; rebuilding", self.engine_path)
        if self.engine is None:
            plan = self._build(cache / f"timing_{tag}.cache")
            tmp = self.engine_path.with_suffix(".tmp")
            tmp.write_bytes(plan)
            tmp.replace(self.engine_path)
            self.engine = runtime.deserialize_cuda_engine(plan)
        if self.engine is None:
            raise BackendError(f"tensorrt: could not deserialize the engine for "
                               f"{display_path(spec.onnx)}")
        self.context = self.engine.create_execution_context()
        self._setup_buffers()

    def _build(self, timing_cache: Path) -> bytes:
        trt, o = self.trt, self.options
        log.info("tensorrt: building an engine for %s (once; cached in %s)",
                 self.onnx.name, self.engine_path.parent)
        builder = trt.Builder(self.logger)
        major = int(trt.__version__.split(".")[0])
        flags = 0 if major >= 10 else 1 << int(trt.NetworkDefinitionCreationFlag.EXPLICIT_BATCH)
        network = builder.create_network(flags)
        parser = trt.OnnxParser(network, self.logger)
        if not parser.parse(self.onnx.read_bytes()):
            errs = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
            raise BackendError(f"tensorrt: cannot parse {display_path(self.onnx)}: {errs}")
        config = builder.create_builder_config()
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, o.workspace_mb << 20)
        if o.fp16:
            if hasattr(trt.BuilderFlag, "FP16"):
                config.set_flag(trt.BuilderFlag.FP16)
            else:
                log.warning("tensorrt %s has no FP16 builder flag: precision follows the ONNX "
                            "dtypes; export an fp16 graph for half precision", trt.__version__)
        profile = builder.create_optimization_profile()
        for i in range(network.num_inputs):
            t = network.get_input(i)
            tail = tuple(self.spec.inputs[t.name][1:])
            profile.set_shape(t.name, (o.min_batch, *tail), (o.opt_batch, *tail),
                              (o.max_batch, *tail))
        config.add_optimization_profile(profile)
        tc = config.create_timing_cache(timing_cache.read_bytes() if timing_cache.is_file() else b"")
        config.set_timing_cache(tc, ignore_mismatch=False)
        plan = builder.build_serialized_network(network, config)
        if plan is None:
            raise BackendError(f"tensorrt: building the engine for "
                               f"{display_path(self.onnx)} failed (see TensorRT log)")
        timing_cache.write_bytes(bytes(config.get_timing_cache().serialize()))
        return bytes(plan)

    def _setup_buffers(self) -> None:
        trt, e, ctx = self.trt, self.engine, self.context
        self._inputs: dict[str, tuple[Any, np.dtype]] = {}
        self._outputs: dict[str, tuple[Any, np.dtype]] = {}
        names = [e.get_tensor_name(i) for i in range(e.num_io_tensors)]
        for n in names:  # max-batch input shapes first, so output shapes are known
            if e.get_tensor_mode(n) == trt.TensorIOMode.INPUT:
                ctx.set_input_shape(n, (self.max_batch, *self.spec.inputs[n][1:]))
        for n in names:
            dtype = np.dtype(trt.nptype(e.get_tensor_dtype(n)))
            shape = tuple(ctx.get_tensor_shape(n))
            buf, ptr = self.mem.alloc(shape, dtype)
            ctx.set_tensor_address(n, ptr)  # fixed addresses: set once
            is_in = e.get_tensor_mode(n) == trt.TensorIOMode.INPUT
            (self._inputs if is_in else self._outputs)[n] = (buf, dtype)

    def describe(self) -> str:
        return f"tensorrt {self.trt.__version__} ({self.engine_path.name})"

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        feed = self._prepare(inputs)
        n = next(iter(feed.values())).shape[0]
        parts: dict[str, list[np.ndarray]] = {k: [] for k in self.output_names}
        for s in range(0, n, self.max_batch):  # larger batches run in max_batch chunks
            chunk = {k: v[s:s + self.max_batch] for k, v in feed.items()}
            for k, out in self._run_chunk(chunk).items():
                parts[k].append(out)
        return {k: v[0] if len(v) == 1 else np.concatenate(v) for k, v in parts.items()}

    def _run_chunk(self, feed: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ctx = self.context
        for name, arr in feed.items():
            buf, dtype = self._inputs[name]
            arr = np.ascontiguousarray(arr, dtype=dtype)
            ctx.set_input_shape(name, arr.shape)
            self.mem.h2d(buf, arr)
        if not ctx.execute_async_v3(self.mem.handle):
            raise BackendError("tensorrt: execute_async_v3 failed")
        outs = {}
        for name in self.output_names:
            buf, dtype = self._outputs[name]
            outs[name] = np.empty(tuple(ctx.get_tensor_shape(name)), dtype)
            self.mem.d2h(buf, outs[name])
        self.mem.sync()
        return {k: v.astype(np.float32, copy=False) for k, v in outs.items()}

    def close(self) -> None:
        self.context = None
        self.engine = None
        if getattr(self, "mem", None) is not None:
            self.mem.close()
            del self.mem  # a second close() finds none (getattr above)


def create(kind: str, spec: ModelSpec, options: BackendOptions) -> TensorRTBackend:
    return TensorRTBackend(spec, options)
