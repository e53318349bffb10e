"""RM/WEM training with tiny networks (loss falls), ONNX export parity, manifest integrity."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest
import torch

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.face.apem import PATCH_NAMES, PatchFrame, crop
from lprr.engine.face.landmarks import FaceLandmarker
from lprr.engine.face.sketch import patch_sketches
from lprr.engine.manifest import Manifest, ModelError
from lprr.engine.pca import Pca
from lprr.models.export import export_models
from lprr.models.nets import RM, WEM, RMConfig, RMRuntime, WEMConfig
from lprr.models.train_rm import load_rm, train_rm
from lprr.models.train_wem import load_wem, train_wem
from lprr.models.training import TrainConfig

TINY_RM = RMConfig(widths=(4, 8, 8, 8), latent=4)


@pytest.fixture(scope="module")
def real_patches(grace_hopper, astronaut):
    """Patches of two real faces, 12 lightly shifted copies each."""
    out = {}
    with FaceLandmarker(static=True) as lm:
        for who, img in (("performer", grace_hopper), ("character", astronaut)):
            pts = lm.detect(img)
            rows = {p: [] for p in (*PATCH_NAMES, *(f"sketch_{q}" for q in PATCH_NAMES))}
            for i in range(12):
                shifted = pts.copy()
                shifted[:, :2] += (i % 4 - 1.5, i // 4 - 1)
                cut = crop(img, PatchFrame.from_landmarks(shifted))
                sk = patch_sketches(shifted, cut.transforms)
                for p in PATCH_NAMES:
                    rows[p].append(cut.images[p])
                    rows[f"sketch_{p}"].append(sk[p])
            out[who] = {p: np.stack(v) for p, v in rows.items()}
    return out


@pytest.mark.slow
def test_rm_loss_falls_and_resumes(tmp_path, real_patches):
    cfg = TrainConfig(steps=40, batch=4, lr=2e-3, sample_every=40, ckpt_every=20)
    sketches = {who: real_patches[who]["sketch_lip"] for who in ("performer", "character")}
    res = train_rm("lip", real_patches["performer"]["lip"], real_patches["character"]["lip"],
                   tmp_path, cfg, TINY_RM, sketches=sketches)
    assert len(res.losses) == 40
    assert np.mean(res.losses[-8:]) < 0.8 * np.mean(res.losses[:8])
    assert res.grids and res.grids[-1].is_file()
    # 4 rows of 128-px tiles: source, its reconstruction, target, reenacted source.
    import cv2

    assert cv2.imread(str(res.grids[-1])).shape[0] == 4 * 128
    # Resuming a finished run trains no more steps and keeps the weights.
    again = train_rm("lip", real_patches["performer"]["lip"],
                     real_patches["character"]["lip"], tmp_path, cfg, TINY_RM,
                     sketches=sketches)
    assert again.losses == []
    assert isinstance(load_rm(res.checkpoint), RM)


def _fake_weights(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, (n, len(CONTROL_NAMES))).astype(np.float32)


@pytest.mark.slow
def test_wem_loss_falls(tmp_path, real_patches):
    char = dict(real_patches["character"])
    # Tie the labels to the image so there is something to learn: the lip's brightness t
    # sets every weight, between two random poses.
    t = np.linspace(0, 1, 12)[:, None]
    a, b = _fake_weights(2)
    char["weights"] = (t * a + (1 - t) * b).astype(np.float32)
    char["lip"] = (char["lip"].astype(float) * (0.3 + 0.7 * t)[:, :, None, None]
                   ).astype(np.uint8)
    pca = Pca.fit(char["weights"], CONTROL_NAMES, k=4)
    cfg = TrainConfig(steps=80, batch=6, lr=2e-3, ckpt_every=80)
    res = train_wem(char, pca, tmp_path, cfg, WEMConfig(k=4, widths=(4, 8, 8, 8, 8), hidden=16))
    assert np.mean(res.losses[-10:]) < 0.8 * np.mean(res.losses[:10])
    assert load_wem(res.checkpoint).cfg.k == 4


@pytest.fixture(scope="module")
def exported(tmp_path_factory, real_patches):
    torch.manual_seed(0)
    rms = {p: RM(TINY_RM).eval() for p in PATCH_NAMES}
    wem = WEM(WEMConfig(k=5, widths=(4, 8, 8, 8, 8), hidden=16)).eval()
    pca = Pca.fit(_fake_weights(50), CONTROL_NAMES, k=5)
    out = tmp_path_factory.mktemp("exported") / "tiny"
    export_models(rms, wem, pca, out, "tiny", {"test": True})
    return out, rms, wem


def _to_input(patches_bgr: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(patches_bgr[..., ::-1].transpose(0, 3, 1, 2)).astype(
        np.float32) / 255


def test_onnx_matches_torch(exported, real_patches):
    out, rms, wem = exported
    man = Manifest.load(out)
    assert man.k == 5 and list(man.controls) == list(CONTROL_NAMES)
    rt = RMRuntime.from_rms(rms)
    sess = ort.InferenceSession(str(man.model("rm").onnx), providers=["CPUExecutionProvider"])
    wsess = ort.InferenceSession(str(man.model("wem").onnx),
                                 providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    batches = {
        "random": {p: rng.uniform(0, 1, (3, 4, 128, 128)).astype(np.float32)
                   for p in PATCH_NAMES},
        "real": {p: np.concatenate([_to_input(real_patches["performer"][p][:5]),
                                    real_patches["performer"][f"sketch_{p}"][:5, None] / 255.0],
                                   axis=1).astype(np.float32) for p in PATCH_NAMES},
    }
    for kind, feed in batches.items():
        got = sess.run(None, feed)
        with torch.no_grad():
            want = rt(*(torch.from_numpy(feed[p]) for p in PATCH_NAMES))
        for g, w in zip(got, want):
            assert np.abs(g - w.numpy()).max() < 1e-4, kind
        stacked = np.concatenate(got, axis=1)
        wg = wsess.run(None, {"patches": stacked})[0]
        with torch.no_grad():
            ww = wem(torch.from_numpy(stacked)).numpy()
        assert wg.shape == (len(stacked), 5)
        assert np.abs(wg - ww).max() < 1e-4, kind


def test_corrupt_byte_fails_with_sha256_error(exported, tmp_path):
    import shutil

    out, _, _ = exported
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    Manifest.load(copy)  # intact: loads
    blob = bytearray((copy / "wem.onnx").read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (copy / "wem.onnx").write_bytes(bytes(blob))
    with pytest.raises(ModelError, match="sha256"):
        Manifest.load(copy)
