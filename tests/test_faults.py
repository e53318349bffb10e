"""Faults a live session meets (issue 17): a wrong-shape model, signals, the display."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from tests.conftest import ROOT, grace_hopper_path

DEMO = ROOT / "exported" / "demo"


def lprr(*args: str) -> list[str]:
    return [sys.executable, "-m", "app.cli", *args]


def _wrong_shape_wem(d: Path, size: int = 64) -> None:
    """A real ONNX graph with the manifest's tensor names but a size x size input."""
    import onnx
    from onnx import TensorProto, helper

    w = helper.make_tensor("w", TensorProto.FLOAT, [9, 20], np.zeros(180, np.float32))
    g = helper.make_graph(
        [helper.make_node("ReduceMean", ["patches"], ["m"], axes=[2, 3], keepdims=0),
         helper.make_node("MatMul", ["m", "w"], ["coeffs"])], "wem",
        [helper.make_tensor_value_info("patches", TensorProto.FLOAT, ["batch", 9, size, size])],
        [helper.make_tensor_value_info("coeffs", TensorProto.FLOAT, ["batch", 20])], [w])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]),
              str(d / "wem.onnx"))


def test_wrong_shape_wem_is_one_line_exit_2_and_leaves_no_file(tmp_path):
    from engine.manifest import write_manifest

    models = tmp_path / "models"
    shutil.copytree(DEMO, models)
    _wrong_shape_wem(models)
    data = json.loads((models / "manifest.json").read_text())
    data.pop("files")
    write_manifest(models, data)
    rec = tmp_path / "x.csv"
    r = subprocess.run(lprr("run", "--models", str(models), "--source", str(grace_hopper_path()),
                            "--record", str(rec)), capture_output=True, text=True, cwd=ROOT,
                       timeout=120, check=False)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.returncode == 2, r.stderr
    assert len(lines) == 1, r.stderr
    assert "wem.onnx" in lines[0] and "'patches'" in lines[0]
    assert "[-1, 9, 128, 128]" in lines[0] and "[-1, 9, 64, 64]" in lines[0]
    assert not rec.exists()
