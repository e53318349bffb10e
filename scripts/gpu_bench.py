"""The CUDA engines on a lent GPU machine, in one call of a few minutes (issue 20, item 3).

Such a machine has torch with CUDA but no onnxruntime-gpu, no TensorRT and no way to reach
PyPI, so this needs only torch and numpy beside lprr's own engine code (run from the source
tree). It times the shipped RM and WEM (exported/demo's torch weights) through lprr's
torch-cuda engine at batch 1 and batched, eager and with CUDA graphs, against torch-cpu (and
ORT CPU where onnxruntime is importable) in the same run, and writes JSON:

    PYTHONPATH=. python scripts/gpu_bench.py --out gpu_bench.json
    PYTHONPATH=. python scripts/gpu_bench.py --device cpu   # the same, on this machine

Per engine and batch: milliseconds per call (median of ``--iters`` after warm-up), frames
per second (a frame = the three patches through RM, then WEM), and the ratio to torch-cpu
at batch 1. The whole-pipeline benchmark (scripts/bench.py) needs MediaPipe, which such a
machine lacks; that part is said in the JSON, not faked.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from lprr.engine.backends import BackendOptions, available_backends, create_backend
from lprr.engine.manifest import Manifest
from lprr.engine.paths import DEFAULT_MODELS


def _inputs(spec, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {name: rng.random((batch, *shape[1:]), dtype=np.float32)
            for name, shape in spec.inputs.items()}


def _time(backend, feed: dict[str, np.ndarray], iters: int) -> float:
    for _ in range(5):  # warm-up: kernels chosen, graphs captured
        backend.run(feed)
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        backend.run(feed)  # returns numpy: the copy back to the host is part of the cost
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    ap.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    ap.add_argument("--batches", default="1,2,4,8")
    ap.add_argument("--iters", type=int, default=100)
    ap.add_argument("--out", type=Path, default=Path("gpu_bench.json"))
    args = ap.parse_args()
    import torch

    manifest = Manifest.load(args.models)
    avail = available_backends()
    engines: list[tuple[str, str, BackendOptions]] = [("torch-cpu", "torch-cpu",
                                                       BackendOptions())]
    if avail.get("ort-cpu") is None:
        engines.append(("ort-cpu", "ort-cpu", BackendOptions()))
    if args.device == "cuda":
        engines += [("torch-cuda eager", "torch-cuda", BackendOptions(cuda_graphs=False)),
                    ("torch-cuda graphs", "torch-cuda", BackendOptions(cuda_graphs=True)),
                    ("torch-cuda graphs fp16", "torch-cuda",
                     BackendOptions(cuda_graphs=True, fp16=True))]
    batches = [int(b) for b in args.batches.split(",")]
    rng = np.random.default_rng(0)
    rows = []
    for label, name, opts in engines:
        if avail.get(name) is not None:
            rows.append({"engine": label, "skipped": avail[name]})
            print(f"{label}: skipped ({avail[name]})", flush=True)
            continue
        rm = create_backend(name, manifest, "rm", opts)
        wem = create_backend(name, manifest, "wem", opts)
        try:
            for b in batches:
                ms_rm = _time(rm, _inputs(rm.spec, b, rng), args.iters)
                ms_wem = _time(wem, _inputs(wem.spec, b, rng), args.iters)
                row = {"engine": label, "batch": b, "rm_ms": round(ms_rm, 3),
                       "wem_ms": round(ms_wem, 3),
                       "frames_per_s": round(1000.0 * b / (ms_rm + ms_wem), 1)}
                rows.append(row)
                print(json.dumps(row), flush=True)
        finally:
            rm.close()
            wem.close()
    ref = next((r["frames_per_s"] for r in rows
                if r.get("engine") == "torch-cpu" and r.get("batch") == 1), None)
    for r in rows:
        if ref and "frames_per_s" in r:
            r["ratio_to_torch_cpu_b1"] = round(r["frames_per_s"] / ref, 2)
    out = {"machine": {"platform": platform.platform(), "torch": torch.__version__,
                       "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available()
                       else None},
           "models": str(args.models), "iters": args.iters, "rows": rows,
           "not_run": "the whole pipeline (scripts/bench.py) needs MediaPipe, not on this "
                      "machine" if args.device == "cuda" else None}
    args.out.write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
