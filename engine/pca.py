"""Un-normalised PCA of rig weights (numpy only: the run-time decodes with it).

As in the paper's released code, the weights are centred but not scaled: controls that move
a lot keep their weight in the basis, and decoding is ``mean + z @ basis``.
"""
from __future__ import annotations

import logging
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lprr.engine.errors import UserError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1


class PcaFileError(UserError):
    """A PCA file is missing or unreadable."""


@dataclass
class Pca:
    names: list[str]  # control names, one per column of the weights
    mean: np.ndarray  # (C,)
    basis: np.ndarray  # (k, C), orthonormal rows
    explained_variance: np.ndarray  # (k,) variance along each row of the basis
    total_variance: float = 0.0  # sum of all C variances (denominator of the ratios)

    def __post_init__(self) -> None:
        self.names = list(self.names)
        self.mean = np.asarray(self.mean, np.float32).reshape(-1)
        self.basis = np.asarray(self.basis, np.float32).reshape(-1, len(self.mean))
        self.explained_variance = np.asarray(self.explained_variance, np.float32).reshape(-1)
        if len(self.names) != len(self.mean):
            raise ValueError(f"{len(self.names)} names but a mean of {len(self.mean)}")
        if len(self.explained_variance) != len(self.basis):
            raise ValueError("explained_variance and basis disagree on k")
        if self.total_variance <= 0:
            self.total_variance = float(self.explained_variance.sum())

    # -- fitting -------------------------------------------------------------------------
    @classmethod
    def fit(cls, weights: np.ndarray, names: Sequence[str], k: int | None = None,
            var: float = 0.99) -> Pca:
        """Fit on (N, C) weights. ``k=None`` keeps the fewest components reaching ``var``."""
        w = np.asarray(weights, np.float64)
        if w.ndim != 2 or w.shape[1] != len(names):
            raise ValueError(f"weights must be (N, {len(names)}), got {w.shape}")
        if len(w) < 2:
            raise ValueError("need at least 2 frames to fit a PCA")
        if not 0 < var <= 1:
            raise ValueError(f"var must be in (0, 1], got {var}")
        mean = w.mean(axis=0)
        x = w - mean  # centre only: no per-control scaling
        # SVD of the centred data: rows of vt are the principal axes.
        _, s, vt = np.linalg.svd(x, full_matrices=False)
        ev = s**2 / (len(w) - 1)
        total = float(ev.sum())
        full = cls(list(names), mean, vt, ev, total)
        if k is None:
            k = full.components_for(var)
        k = int(max(1, min(k, len(ev))))
        return cls(list(names), mean, vt[:k], ev[:k], total)

    # -- queries -------------------------------------------------------------------------
    @property
    def k(self) -> int:
        return len(self.basis)

    @property
    def explained_ratio(self) -> np.ndarray:
        """(k,) share of the total variance explained by each component."""
        if self.total_variance <= 0:
            return np.zeros_like(self.explained_variance)
        return self.explained_variance / self.total_variance

    @property
    def cumulative_ratio(self) -> np.ndarray:
        """(k,) cumulative share of the total variance."""
        return np.cumsum(self.explained_ratio)

    def components_for(self, var: float) -> int:
        """Fewest components whose cumulative explained share reaches ``var`` (at most k)."""
        cum = self.cumulative_ratio
        if len(cum) == 0:
            return 0
        hit = np.nonzero(cum >= var - 1e-9)[0]
        return int(hit[0] + 1) if len(hit) else len(cum)

    # -- transforms ----------------------------------------------------------------------
    def encode(self, w: np.ndarray) -> np.ndarray:
        """(..., C) weights -> (..., k) coefficients."""
        w = np.asarray(w, np.float32)
        return (w - self.mean) @ self.basis.T

    def decode(self, z: np.ndarray) -> np.ndarray:
        """(..., k) coefficients -> (..., C) weights (not clamped)."""
        z = np.asarray(z, np.float32)
        return z @ self.basis + self.mean

    def truncated(self, k: int) -> Pca:
        """The same PCA keeping only the first ``k`` components."""
        k = int(max(1, min(k, self.k)))
        return Pca(self.names, self.mean, self.basis[:k], self.explained_variance[:k],
                   self.total_variance)

    # -- files ---------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_suffix(".npz")
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(
            path,
            version=np.int32(FORMAT_VERSION),
            names=np.array(self.names, dtype=str),
            mean=self.mean,
            basis=self.basis,
            explained_variance=self.explained_variance,
            total_variance=np.float64(self.total_variance),
            cumulative_ratio=self.cumulative_ratio.astype(np.float32),
        )
        return path

    @classmethod
    def load(cls, path: str | Path) -> Pca:
        path = Path(path)
        if not path.is_file():
            raise PcaFileError(f"PCA file not found: {path}")
        try:
            with np.load(path, allow_pickle=False) as f:
                missing = {"names", "mean", "basis", "explained_variance"} - set(f.files)
                if missing:
                    raise PcaFileError(
                        f"{path}: not a PCA file (missing {', '.join(sorted(missing))})")
                total = float(f["total_variance"]) if "total_variance" in f.files else 0.0
                return cls([str(n) for n in f["names"]], f["mean"], f["basis"],
                           f["explained_variance"], total)
        except PcaFileError:
            raise
        except (OSError, ValueError, zipfile.BadZipFile, EOFError, KeyError) as e:
            raise PcaFileError(f"{path}: unreadable PCA file ({e})") from None

    def describe(self) -> str:
        cum = self.cumulative_ratio
        last = float(cum[-1]) if len(cum) else 0.0
        return (f"PCA over {len(self.names)} controls: k={self.k} "
                f"({last:.2%} of variance); 95% needs {self.components_for(0.95)}, "
                f"99% needs {self.components_for(0.99)}")
