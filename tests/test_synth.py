"""Demo-world takes on disk and the ``lprr synth`` commands."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lprr.app.cli import main
from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.pca import Pca
from lprr.engine.take import Take
from lprr.engine.world.synth import character_take, performer_take

N = 40


def grace_hopper_path() -> Path:
    import matplotlib

    return Path(matplotlib.__file__).parent / "mpl-data" / "sample_data" / "grace_hopper.jpg"


def _frames(path: Path) -> np.ndarray:
    return np.stack(list(Take(path).frames())).astype(np.int16)


@pytest.fixture(scope="module")
def performer_takes(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("performer")
    out = {}
    for name, seed in (("a", 11), ("b", 11), ("c", 12)):
        performer_take(grace_hopper_path(), root / name, N, seed=seed)
        out[name] = root / name
    return out


def test_performer_take_format(performer_takes):
    t = Take(performer_takes["a"])
    assert len(t) == N and t.weights.shape == (N, len(CONTROL_NAMES))
    assert t.controls == list(CONTROL_NAMES)
    assert t.landmarks.shape == (N, 478, 3) and np.isfinite(t.landmarks).all()
    m = t.meta
    assert m["kind"] == "performer" and m["seed"] == 11 and m["generator"] == "natural"
    assert m["fps"] == 30 and m["photo"].endswith("grace_hopper.jpg")
    frames = _frames(performer_takes["a"])
    assert frames.shape == (N, 256, 256, 3)


def test_same_seed_same_take(performer_takes):
    a, b, c = (performer_takes[k] for k in "abc")
    assert (a / "weights.csv").read_bytes() == (b / "weights.csv").read_bytes()
    np.testing.assert_array_equal(np.load(a / "landmarks.npy"), np.load(b / "landmarks.npy"))
    fa, fb, fc = _frames(a), _frames(b), _frames(c)
    assert np.abs(fa - fb).max() <= 2  # within rounding (identical here in practice)
    assert (a / "weights.csv").read_bytes() != (c / "weights.csv").read_bytes()
    assert np.abs(fa - fc).mean() > 2


def test_rom_take(tmp_path):
    res = performer_take(grace_hopper_path(), tmp_path / "rom", 3 * (len(CONTROL_NAMES) + 1),
                         seed=0, generator="rom", head=0.0, realism=False)
    t = Take(res.out)
    assert t.meta["generator"] == "rom"
    w = t.weights
    assert (w > 0).sum(1).max() == 1  # one control at a time
    assert np.isclose(w.max(0), 1.0).all()  # every control reaches 1


def test_character_take_reproducible(tmp_path):
    a = character_take(tmp_path / "a", 12, seed=4)
    b = character_take(tmp_path / "b", 12, seed=4)
    ta, tb = Take(a.out), Take(b.out)
    assert ta.meta["kind"] == "character" and ta.meta["jitter"] == 0.02
    assert (a.out / "weights.csv").read_bytes() == (b.out / "weights.csv").read_bytes()
    np.testing.assert_allclose(ta.landmarks, tb.landmarks, atol=1e-4)
    assert np.abs(_frames(a.out) - _frames(b.out)).max() <= 2
    assert np.isfinite(ta.landmarks).all()


def test_cli_performer_missing_photo(tmp_path, capsys):
    rc = main(["synth", "performer", "--photo", str(tmp_path / "nope.jpg"), "--frames", "5",
               "--out", str(tmp_path / "t")])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2
    assert len(err) == 1 and "photo not found" in err[0]
    assert not (tmp_path / "t").exists()


def test_cli_character_and_pca(tmp_path, capsys, performer_takes):
    rc = main(["synth", "character", "--frames", "8", "--out", str(tmp_path / "ch"),
               "--seed", "2", "--jitter", "0"])
    assert rc == 0
    meta = json.loads((tmp_path / "ch" / "meta.json").read_text())
    assert meta["frames"] == 8 and meta["kind"] == "character" and meta["seed"] == 2
    capsys.readouterr()
    rc = main(["synth", "pca", str(performer_takes["a"]), str(performer_takes["c"]),
               str(tmp_path / "ch"), "--out", str(tmp_path / "pca.npz")])
    out = capsys.readouterr().out
    assert rc == 0
    assert "99% of the variance" in out and "95% of the variance" in out
    p = Pca.load(tmp_path / "pca.npz")
    assert p.names == list(CONTROL_NAMES)
    assert p.cumulative_ratio[-1] >= 0.99
    k99 = int(out.split("99% of the variance: ")[1].split()[0])
    assert k99 == p.k


def test_cli_pca_bad_take(tmp_path, capsys):
    rc = main(["synth", "pca", str(tmp_path / "none"), "--out", str(tmp_path / "p.npz")])
    assert rc == 2
    assert "not a take" in capsys.readouterr().err
