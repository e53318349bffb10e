"""What the machine offers: library versions, GPU driver, cache folders. Cheap, no torch import."""
from __future__ import annotations

import ctypes
import functools
import importlib.metadata as md
import importlib.util
import os
import sys
from pathlib import Path

# Distributions that all install the module ``onnxruntime``; the last one installed wins.
ORT_DISTRIBUTIONS = ("onnxruntime", "onnxruntime-gpu", "onnxruntime-directml",
                     "onnxruntime-openvino", "onnxruntime-silicon", "ort-nightly-gpu")


def dist_version(name: str) -> str | None:
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None


def installed_ort_distributions() -> dict[str, str]:
    return {n: v for n in ORT_DISTRIBUTIONS if (v := dist_version(n))}


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


@functools.lru_cache(maxsize=1)
def nvidia_driver() -> str | None:
    """None when the CUDA driver library loads, else why not (one short phrase)."""
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so"]
    for n in names:
        try:
            ctypes.CDLL(n)
            return None
        except OSError:
            continue
    return "no NVIDIA driver (libcuda) found"


@functools.lru_cache(maxsize=1)
def tensorrt_version() -> str | None:
    """The TensorRT Python package version, without importing it (None if absent)."""
    if not has_module("tensorrt"):
        return None
    for n in ("tensorrt", "tensorrt-cu12", "tensorrt-cu13", "tensorrt-cu11"):
        if v := dist_version(n):
            return v
    try:
        import tensorrt

        return str(tensorrt.__version__)
    except Exception:  # noqa: BLE001 - a broken install is "absent" here
        return None


def cache_root() -> Path:
    """~/.cache/lprr (or $LPRR_CACHE, or $XDG_CACHE_HOME/lprr)."""
    if env := os.environ.get("LPRR_CACHE"):
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "lprr"


def ort_trt_cache_key() -> str:
    """A folder name that changes whenever ORT or TensorRT changes, so stale engines never load."""
    import onnxruntime as ort

    key = f"ort-{ort.__version__}"
    if trt := tensorrt_version():
        key += f"_trt-{trt}"
    return key


def ort_trt_cache_dir(root: Path | None = None) -> Path:
    """Engine + timing caches of ORT's TensorRT EP, e.g. ~/.cache/lprr/trt/ort-1.31.1_trt-10.9/."""
    return (root or cache_root()) / "trt" / ort_trt_cache_key()


def native_trt_cache_dir(root: Path | None = None) -> Path:
    """Serialized engines of the native TensorRT backend, keyed by the TensorRT version."""
    return (root or cache_root()) / "trt" / f"native_trt-{tensorrt_version() or 'none'}"
