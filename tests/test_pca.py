"""Un-normalised PCA of rig weights: fit, round trip, files."""
from __future__ import annotations

import numpy as np
import pytest

from lprr.engine.controls import CONTROL_NAMES
from lprr.engine.errors import UserError
from lprr.engine.pca import Pca
from lprr.engine.world.sequences import natural_sequence


@pytest.fixture(scope="module")
def weights() -> np.ndarray:
    return natural_sequence(3000, seed=3)


def test_full_rank_round_trip_is_exact(weights):
    p = Pca.fit(weights, CONTROL_NAMES, k=len(CONTROL_NAMES))
    back = p.decode(p.encode(weights))
    np.testing.assert_allclose(back, weights, atol=1e-4)
    # orthonormal rows
    np.testing.assert_allclose(p.basis @ p.basis.T, np.eye(p.k), atol=1e-4)
    assert p.cumulative_ratio[-1] == pytest.approx(1.0, abs=1e-5)


def test_unnormalised_centres_only(weights):
    p = Pca.fit(weights, CONTROL_NAMES, k=len(CONTROL_NAMES))
    np.testing.assert_allclose(p.mean, weights.mean(0), atol=1e-5)
    # the first axis equals the top eigenvector of the plain covariance (no per-control scaling)
    cov = np.cov(weights.astype(np.float64), rowvar=False)
    vals, vecs = np.linalg.eigh(cov)
    assert abs(float(vecs[:, -1] @ p.basis[0])) == pytest.approx(1.0, abs=1e-4)
    assert p.explained_variance[0] == pytest.approx(vals[-1], rel=1e-4)
    # a correlation-matrix (normalised) PCA would give another first axis on these weights
    std = weights.std(0) + 1e-9  # (a control that never moved in this take has std 0)
    _, nvecs = np.linalg.eigh(cov / np.outer(std, std))
    nfirst = nvecs[:, -1] / std
    nfirst /= np.linalg.norm(nfirst)
    assert abs(float(nfirst @ p.basis[0])) < 0.99


def test_k_for_99_percent_is_sane(weights):
    p = Pca.fit(weights, CONTROL_NAMES, var=0.99)
    assert 5 <= p.k < len(CONTROL_NAMES)
    assert p.cumulative_ratio[-1] >= 0.99
    assert p.cumulative_ratio[-2] < 0.99  # smallest such k
    assert p.components_for(0.95) < p.k
    z = p.encode(weights)
    assert z.shape == (len(weights), p.k)
    err = np.abs(p.decode(z) - weights).mean()
    assert err < 0.03
    # shapes: single frames and batches
    assert p.decode(p.encode(weights[0])).shape == (len(CONTROL_NAMES),)


def test_save_load(tmp_path, weights):
    p = Pca.fit(weights, CONTROL_NAMES, k=12)
    path = p.save(tmp_path / "pca.npz")
    q = Pca.load(path)
    assert q.names == list(CONTROL_NAMES)
    np.testing.assert_array_equal(q.basis, p.basis)
    np.testing.assert_array_equal(q.mean, p.mean)
    np.testing.assert_allclose(q.cumulative_ratio, p.cumulative_ratio, rtol=1e-6)
    assert q.components_for(0.9) == p.components_for(0.9)


def test_load_errors_are_readable(tmp_path):
    with pytest.raises(UserError, match="not found"):
        Pca.load(tmp_path / "nope.npz")
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"this is not a zip file")
    with pytest.raises(UserError, match="unreadable"):
        Pca.load(bad)
    other = tmp_path / "other.npz"
    np.savez(other, x=np.zeros(3))
    with pytest.raises(UserError, match="not a PCA file"):
        Pca.load(other)
