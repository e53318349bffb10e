"""Exported-model manifest: write, load, and one clear line for every kind of damage."""
from __future__ import annotations

import json

import pytest

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.errors import UserError
from lprr.engine.manifest import FORMAT, Manifest, ModelError, sha256_file, write_manifest


def _data() -> dict:
    return {
        "name": "demo",
        "controls": list(CONTROL_NAMES),
        "k": 20,
        "patch_size": 128,
        "patches": ["lip", "eye_l", "eye_r"],
        "models": {
            "rm": {"onnx": "rm.onnx",
                   "inputs": {n: [-1, 3, 128, 128] for n in ("lip", "eye_l", "eye_r")},
                   "outputs": {f"{n}_out": [-1, 3, 128, 128] for n in ("lip", "eye_l", "eye_r")},
                   "torch": {"builder": "models.rm:build_runtime", "config": {"w": 8},
                             "weights": "rm.pt"}},
            "wem": {"onnx": "wem.onnx", "inputs": {"patches": [-1, 9, 128, 128]},
                    "outputs": {"coeffs": [-1, 20]}},
        },
        "pca": "pca.npz",
        "opset": 17,
        "trained_on": {"frames": 100},
    }


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "exported" / "demo"
    d.mkdir(parents=True)
    for name, payload in [("rm.onnx", b"rm-graph"), ("wem.onnx", b"wem-graph"),
                          ("rm.pt", b"weights"), ("pca.npz", b"pca"), ("extra.txt", b"x")]:
        (d / name).write_bytes(payload)
    data = _data()
    data["files"] = {"extra.txt": ""}  # extra listed names are hashed too
    write_manifest(d, data)
    return d


def test_write_then_load_round_trip(model_dir):
    raw = json.loads((model_dir / "manifest.json").read_text())
    assert raw["format"] == FORMAT
    assert set(raw["files"]) == {"rm.onnx", "wem.onnx", "rm.pt", "pca.npz", "extra.txt"}
    assert raw["files"]["rm.onnx"] == sha256_file(model_dir / "rm.onnx")

    m = Manifest.load(model_dir)
    assert m.name == "demo" and m.k == 20 and m.patch_size == 128
    assert m.controls == CONTROL_NAMES
    assert m.patches == ("lip", "eye_l", "eye_r")
    rm = m.model("rm")
    assert rm.onnx == model_dir / "rm.onnx" and rm.onnx.is_file()
    assert rm.input_names == ("lip", "eye_l", "eye_r")  # manifest order = positional order
    assert rm.outputs["lip_out"] == (-1, 3, 128, 128)
    assert rm.torch.builder == "models.rm:build_runtime" and rm.torch.weights == model_dir / "rm.pt"
    assert rm.onnx_sha256 == raw["files"]["rm.onnx"]
    assert m.model("wem").torch is None
    assert m.pca == model_dir / "pca.npz"
    assert m.trained_on == {"frames": 100}
    with pytest.raises(ModelError, match="no model 'xyz'"):
        m.model("xyz")


def test_sha_mismatch_is_one_clear_line(model_dir):
    (model_dir / "rm.onnx").write_bytes(b"tampered")
    with pytest.raises(ModelError) as e:
        Manifest.load(model_dir)
    assert str(e.value) == ("exported/demo/rm.onnx: sha256 mismatch (file corrupt or modified); "
                            "re-export or restore it")
    assert isinstance(e.value, UserError)
    Manifest.load(model_dir, verify=False)  # verification can be skipped


@pytest.mark.parametrize("damage, expect", [
    (lambda d: (d / "wem.onnx").unlink(), "exported/demo/wem.onnx: missing"),
    (lambda d: (d / "manifest.json").unlink(), "exported/demo/manifest.json: missing"),
    (lambda d: (d / "manifest.json").write_text("{not json"), "not valid JSON"),
    (lambda d: (d / "manifest.json").write_text('{"format": "other/9"}'), "is not supported"),
    (lambda d: (d / "manifest.json").write_text(f'{{"format": "{FORMAT}"}}'), "malformed"),
])
def test_damaged_folder_gives_model_error(model_dir, damage, expect):
    damage(model_dir)
    with pytest.raises(ModelError, match=expect) as e:
        Manifest.load(model_dir)
    assert "\n" not in str(e.value)


def test_missing_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelError, match="nope: model folder not found"):
        Manifest.load(tmp_path / "nope")


def test_write_manifest_refuses_missing_file(tmp_path):
    with pytest.raises(ModelError, match="no such file"):
        write_manifest(tmp_path, _data())
