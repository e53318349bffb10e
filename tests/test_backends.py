"""Inference backends on a tiny exported RM/WEM pair: registry, auto choice, parity.

GPU engines (ort-cuda, ort-tensorrt, tensorrt, torch-cuda) are checked against ORT CPU where
their libraries and a GPU exist, and skip with the probe's reason elsewhere.
"""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import warnings

import numpy as np
import pytest

from lprr.engine.backends import (
    AUTO_ORDER,
    BACKEND_NAMES,
    BackendOptions,
    available_backends,
    create_backend,
    describe_runtime,
)
from lprr.engine.backends import runtime as rt
from lprr.engine.errors import UserError
from lprr.engine.manifest import Manifest
from lprr.engine.paths import ROOT

pytest.importorskip("torch")


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> Manifest:
    from tests.toy_models import export_toy

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy exporter's deprecation notice
        d = export_toy(tmp_path_factory.mktemp("exported") / "toy")
    return Manifest.load(d)


def _patches(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {k: rng.random((n, 3, 128, 128), dtype=np.float32) for k in ("lip", "eye_l", "eye_r")}


def test_available_backends_names_and_reasons():
    avail = available_backends()
    assert set(avail) == set(BACKEND_NAMES)
    assert avail["ort-cpu"] is None  # onnxruntime is a core dependency
    for name, reason in avail.items():
        assert reason is None or (isinstance(reason, str) and reason), name


def test_auto_picks_first_available_and_logs(toy, caplog):
    avail = available_backends()
    expected = next(n for n in AUTO_ORDER if avail[n] is None)
    with caplog.at_level(logging.INFO, logger="lprr.engine.backends"):
        be = create_backend("auto", toy, "wem")
    try:
        assert be.name == expected
        assert f"backend auto -> {expected}" in caplog.text
    finally:
        be.close()


def test_unknown_and_unavailable_backends_are_user_errors(toy):
    with pytest.raises(UserError, match="unknown backend 'fast'.*ort-cpu"):
        create_backend("fast", toy, "rm")
    missing = [n for n, r in available_backends().items() if r is not None]
    if not missing:
        pytest.skip("every backend is available on this machine")
    with pytest.raises(UserError, match=rf"backend '{missing[0]}' is not available here .*"
                       r"available: .*ort-cpu"):
        create_backend(missing[0], toy, "rm")


@pytest.mark.parametrize("n", [1, 3, 5])
def test_ort_cpu_matches_torch_cpu(toy, n):
    x = _patches(n, seed=n)
    with create_backend("ort-cpu", toy, "rm") as ort_rm, \
            create_backend("torch-cpu", toy, "rm") as th_rm:
        assert ort_rm.input_names == ("lip", "eye_l", "eye_r")
        a, b = ort_rm.run(x), th_rm.run(x)
        assert list(a) == list(b) == ["lip_out", "eye_l_out", "eye_r_out"]
        for k in a:
            assert a[k].shape == (n, 3, 128, 128) and a[k].dtype == np.float32
            assert np.abs(a[k] - b[k]).max() < 1e-4
        # the RM output, stacked lip/eye_l/eye_r, is the WEM input
        stacked = np.concatenate([a["lip_out"], a["eye_l_out"], a["eye_r_out"]], axis=1)
    with create_backend("ort-cpu", toy, "wem") as ort_w, \
            create_backend("torch-cpu", toy, "wem") as th_w:
        ca, cb = ort_w.run({"patches": stacked})["coeffs"], th_w.run({"patches": stacked})["coeffs"]
    assert ca.shape == (n, 20)
    assert np.abs(ca - cb).max() < 1e-4
    assert np.abs(ca).max() > 1e-3  # not trivially zero


def test_io_binding_and_threads_give_same_result(toy):
    x = _patches(2)
    with create_backend("ort-cpu", toy, "rm") as plain, \
            create_backend("ort-cpu", toy, "rm", BackendOptions(io_binding=True, threads=1)) as b:
        assert "1 threads" in b.describe()
        p, q = plain.run(x), b.run(x)
        for k in p:
            np.testing.assert_allclose(p[k], q[k], atol=1e-6)


def test_bad_inputs_are_rejected(toy):
    with create_backend("ort-cpu", toy, "rm") as be:
        x = _patches(1)
        with pytest.raises(ValueError, match="missing inputs"):
            be.run({"lip": x["lip"]})
        with pytest.raises(ValueError, match="expected"):
            be.run({**x, "lip": np.zeros((1, 3, 64, 64), np.float32)})
        with pytest.raises(ValueError, match="one batch size"):
            be.run({**x, "lip": np.zeros((2, 3, 128, 128), np.float32)})


def test_torch_backend_reports_missing_torch_entry(toy, tmp_path):
    from dataclasses import replace

    spec = replace(toy.model("wem"), torch=None)
    toy2 = replace(toy, models={**toy.models, "wem": spec})
    with pytest.raises(UserError, match="no torch entry"):
        create_backend("torch-cpu", toy2, "wem")


@pytest.mark.parametrize("name", ["ort-cuda", "ort-tensorrt", "tensorrt", "torch-cuda"])
def test_gpu_backend_matches_ort_cpu(toy, name, tmp_path):
    reason = available_backends()[name]
    if reason is not None:
        pytest.skip(f"{name} not available here: {reason}")
    x = _patches(3)
    opts = BackendOptions(cache_dir=tmp_path)
    with create_backend("ort-cpu", toy, "rm") as ref, create_backend(name, toy, "rm", opts) as be:
        a, b = ref.run(x), be.run(x)
        for k in a:  # TF32 convolutions on recent GPUs: a looser bound than CPU vs CPU
            assert np.abs(a[k] - b[k]).max() < 5e-3, (name, k)
        for n in (1, 2, 9):  # odd sizes: padding to CUDA-graph sizes / TRT max-batch chunks
            y = _patches(n, seed=n)
            assert np.abs(ref.run(y)["lip_out"] - be.run(y)["lip_out"]).max() < 5e-3


def _check_runtime_report(text: str) -> None:
    """The doctor report says what this process really has, line by line: the loaded
    onnxruntime and its providers, one line per engine with its availability and reason,
    and the engine "auto" resolves to."""
    import onnxruntime as ort

    from lprr.engine.backends import resolve_backend_name

    lines = text.splitlines()

    def value(key: str) -> str:
        found = [ln[len(key) + 2:] for ln in lines if ln.startswith(key + ": ")]
        assert len(found) == 1, (key, text)
        return found[0]

    assert value("onnxruntime module").startswith(f"{ort.__version__} from ")
    assert value("onnxruntime providers").split(", ") == ort.get_available_providers()
    assert value("TensorRT") == (rt.tensorrt_version() or "not installed")
    assert value("torch") == (rt.dist_version("torch") or "not installed")
    avail = available_backends()
    start = lines.index("backends:")
    rows = lines[start + 1:start + 1 + len(BACKEND_NAMES)]
    for name, row in zip(BACKEND_NAMES, rows, strict=True):
        got_name, _, state = row.strip().partition(" ")
        assert got_name == name, row
        reason = avail[name]
        assert state.strip() == ("yes" if reason is None else f"no  - {reason}"), row
    assert value("auto picks") == resolve_backend_name("auto")


def test_describe_runtime_and_cache_key():
    import onnxruntime as ort

    _check_runtime_report(describe_runtime())
    assert rt.ort_trt_cache_key().startswith(f"ort-{ort.__version__}")
    assert rt.ort_trt_cache_dir().parent.name == "trt"


def test_doctor_command(capsys):
    from lprr.app.cli import main

    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"python: {sys.version.split()[0]} (")
    _check_runtime_report(out)


def test_backend_modules_do_not_import_torch():
    code = ("import sys, lprr.engine.backends, lprr.engine.backends.ort, lprr.engine.backends.tensorrt, "
            "lprr.engine.backends.torch_backend, lprr.engine.manifest; "
            "print('torch' in sys.modules, 'tensorrt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=str(ROOT), check=True).stdout.split()
    assert out == ["False", "False"]


def test_a_manifest_names_an_architecture_not_an_importable_path():
    """A model folder cannot make the torch backend import a module of its choosing."""
    from lprr.engine.backends import BackendError
    from lprr.engine.backends.torch_backend import ARCHITECTURES, import_builder

    assert "models.nets:build_rm_runtime" in ARCHITECTURES
    with pytest.raises(BackendError, match="unknown torch architecture 'os:system'"):
        import_builder("os:system")


def test_gpu_bench_script_runs_its_cpu_rows(tmp_path):
    """scripts/gpu_bench.py (prepared for a lent CUDA machine) runs end to end here with
    --device cpu: real torch-cpu and ORT sessions on the shipped models, JSON written."""
    out = tmp_path / "g.json"
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_bench.py"), "--device",
                        "cpu", "--batches", "1,2", "--iters", "2", "--out", str(out)],
                       capture_output=True, text=True, cwd=str(ROOT), check=False, timeout=300)
    assert r.returncode == 0, r.stderr
    rows = json.loads(out.read_text())["rows"]
    got = {(row["engine"], row["batch"]) for row in rows if "frames_per_s" in row}
    assert {("torch-cpu", 1), ("torch-cpu", 2), ("ort-cpu", 1), ("ort-cpu", 2)} <= got
    assert all(row["frames_per_s"] > 0 for row in rows if "frames_per_s" in row)
