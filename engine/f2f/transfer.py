"""Subspace deformation transfer: performer expression -> character rig weights.

For every triangle of the shared topology the performer's deformation gradient (neutral ->
current) is ``F_s = dE_s @ pinv(E_s)``, with ``E`` the triangle's two edge vectors (3x2)
at rest and ``dE`` how they changed: the in-plane linear map that turns the rest triangle
into the deformed one. It is a ratio of lengths, so it carries over between faces of any
size. The character's gradients are linear in its rig weights, ``F_t(w) = sum_k w_k G_k``
with ``G_k`` the gradient of control ``k``'s shape, so matching them is a linear least
squares in the rig subspace (Sumner and Popovic's deformation transfer, solved in the
blendshape subspace as in Face2Face):

    min_w  sum_t a_t |F_t(w) - F_s,t|^2 + lam |w|^2 + mu sum_k w_k,     0 <= w <= 1

``A`` stacks the character's ``G_k`` (the columns) and ``b`` the performer's gradients. The
performer's gradients are themselves linear in the expression coefficients ``delta``
(``b = G_s B delta``), so the data side folds into matrices computed once: with
``solver="clamp"`` a frame is exactly ``w = clip(P @ delta)``, ``P = (A'A + lam I)^-1 A' G_s B``.
The default ``solver="box"`` takes the same precomputed product (``A' G_s B @ delta``) as
the linear term of a 52-unknown bounded QP, warm-started from the previous frame: the
bounds keep antagonistic pairs (jawLeft/jawRight, ...) from cancelling, and the L1 term
``mu`` (the weights are non-negative, so it is linear) keeps landmark noise and tracker
cross-talk out of controls the performer is not using; the active controls are then
re-fitted without it (relaxed lasso), so they are not shrunk.

Two faces of different shape never deform triangle for triangle alike, and a stylised rig
moves further than a human face: plain least squares then shrinks every weight (measured
here: a generic smile transferred at about 0.6). ``normalize`` rescales each character
control by how the generic rig's same control, built on the performer's own neutral,
projects onto it, so weights come out on the rig's semantic scale (a full smile is 1).

Both faces are put in the canonical face frame first (u across the eyes, v down the face,
w into it), so their gradients are expressed in the same axes.

Correspondence: the demo character's vertices *are* the 478 face-mesh points; a user's own
character supplies, per MediaPipe landmark, the index of its vertex (``-1``: none), and
triangles with an unmapped corner are left out.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lprr.engine.controls import CONTROL_NAMES, INDEX, LANDMARK_BLIND
from lprr.engine.errors import UserError
from lprr.engine.f2f.boxqp import solve_box_qp
from lprr.engine.face import topology as T
from lprr.engine.face.frame import FaceFrame
from lprr.engine.world import rig

log = logging.getLogger(__name__)
N = T.N_LANDMARKS
C = len(CONTROL_NAMES)

# The irises are not in the tessellation, so gaze would be invisible to the gradients:
# each iris centre gets four triangles with its eye's corners and mid-lid points.
_IRIS_TRIS = []
for _c, (_o, _i), _u, _l in ((T.IRIS_CENTER_L, T.EYE_CORNERS_L, 386, 374),
                             (T.IRIS_CENTER_R, T.EYE_CORNERS_R, 159, 145)):
    _IRIS_TRIS += [(_o, _u, _c), (_u, _i, _c), (_i, _l, _c), (_l, _o, _c)]
IRIS_TRIANGLES = np.array(_IRIS_TRIS, dtype=np.int32)


# Landmarks the canonical face frame is built from: a character must map all of them.
_FRAME_POINTS = sorted(set(T.EYE_OPENING_L + T.EYE_OPENING_R
                           + (T.MOUTH_CORNER_L, T.MOUTH_CORNER_R, T.NOSE_TIP)))


def transfer_triangles() -> np.ndarray:
    """(T, 3) triangles used for transfer: the face mesh plus the iris triangles."""
    return np.concatenate([T.TRIANGLES, IRIS_TRIANGLES]).astype(np.int32)


def _edges(x: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """(..., T, 3, 2) edge vectors (v1 - v0, v2 - v0) as columns."""
    v0, v1, v2 = (x[..., tris[:, j], :] for j in range(3))
    return np.stack([v1 - v0, v2 - v0], axis=-1)


def rest_pinv(rest: np.ndarray, tris: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-triangle pseudo-inverse of the rest edges (T, 2, 3) and the areas (T,)."""
    e = _edges(np.asarray(rest, np.float64), tris)  # (T, 3, 2)
    area = 0.5 * np.linalg.norm(np.cross(e[..., 0], e[..., 1]), axis=-1)
    return np.linalg.pinv(e), area


def gradients(disp: np.ndarray, pinv: np.ndarray, tris: np.ndarray) -> np.ndarray:
    """Deformation-gradient change (..., T, 3, 3) of displacements ``disp`` (..., 478, 3)."""
    return _edges(disp, tris) @ pinv


@dataclass
class CharacterTarget:
    """A character rig on (a correspondence with) the 478-point topology.

    ``neutral`` (478, 3) and ``deltas`` (C, 478, 3) are the corresponding vertices and the
    per-control shapes (shape at weight 1 minus neutral), in CONTROL_NAMES order, in the
    canonical face frame; ``valid`` marks landmarks that have a vertex.
    """

    neutral: np.ndarray
    deltas: np.ndarray
    valid: np.ndarray
    name: str = "character"

    @classmethod
    def from_arrays(cls, neutral: np.ndarray, deltas: np.ndarray,
                    valid: np.ndarray | None = None, name: str = "character"
                    ) -> CharacterTarget:
        neutral = np.asarray(neutral, np.float64)
        deltas = np.asarray(deltas, np.float64)
        valid = np.ones(N, bool) if valid is None else np.asarray(valid, bool)
        missing = [i for i in _FRAME_POINTS if not valid[i]]
        if missing:
            raise UserError(f"character correspondence: landmarks {missing} (eye openings, "
                            "mouth corners, nose tip) must map to vertices")
        filled = neutral.copy()
        filled[~valid] = neutral[valid].mean(0)  # never used: their triangles are dropped
        frame = FaceFrame.from_landmarks(filled)
        local = frame.to_local(filled) / frame.iod
        local_d = deltas @ frame.axes.T / frame.iod
        return cls(local, local_d, valid, name)

    @classmethod
    def demo(cls, proportions: rig.RigProportions = rig.CHARACTER) -> CharacterTarget:
        """The demo character (its base mesh and its stylised rig)."""
        from lprr.engine.world import character_mesh as cm

        base = cm.load_base()
        return cls.from_arrays(base, rig.control_deltas(base, proportions), name="demo")

    @classmethod
    def from_obj_dir(cls, path: str | Path, correspondence: str | Path | None = None
                     ) -> CharacterTarget:
        """A character exported as ``neutral.obj`` plus one ``<control>.obj`` per control
        (same vertices, same order; missing controls stay still), with a correspondence
        file: 478 vertex indices, one per MediaPipe landmark, -1 where there is none
        (``.json`` list, ``.npy`` or whitespace-separated text). Without one, a 478-vertex
        mesh is taken as the face-mesh layout itself, and a 550-vertex one as the layout of
        ``DemoCharacter.export_obj`` (face mesh, skirt, irises)."""
        path = Path(path)
        neutral_v = _read_obj_vertices(path / "neutral.obj")
        corr = _load_correspondence(correspondence, path, len(neutral_v))
        valid = corr >= 0
        idx = np.where(valid, corr, 0)
        deltas = np.zeros((C, N, 3))
        found = 0
        for k, name in enumerate(CONTROL_NAMES):
            f = path / f"{name}.obj"
            if f.is_file():
                v = _read_obj_vertices(f)
                if len(v) != len(neutral_v):
                    raise UserError(f"{f}: {len(v)} vertices, neutral.obj has {len(neutral_v)}")
                deltas[k] = (v - neutral_v)[idx] * valid[:, None]
                found += 1
        if not found:
            raise UserError(f"{path}: no <control>.obj shapes found next to neutral.obj")
        log.info("character %s: %d of %d controls, %d of %d landmarks mapped", path.name,
                 found, C, int(valid.sum()), N)
        return cls.from_arrays(neutral_v[idx], deltas, valid, name=path.name)


def _read_obj_vertices(path: Path) -> np.ndarray:
    if not path.is_file():
        raise UserError(f"missing {path}")
    rows = [line.split()[1:4] for line in path.read_text().splitlines()
            if line.startswith("v ")]
    return np.asarray(rows, dtype=np.float64)


def _load_correspondence(spec: str | Path | None, folder: Path, n_vertices: int) -> np.ndarray:
    if spec is None:
        for name in ("correspondence.json", "correspondence.npy", "correspondence.txt"):
            if (folder / name).is_file():
                spec = folder / name
                break
    if spec is None:
        if n_vertices == N:
            return np.arange(N)
        n_skirt = 2 * len(T.FACE_OVAL)
        if n_vertices == T.N_MESH + n_skirt + (N - T.N_MESH):  # DemoCharacter.export_obj
            return np.concatenate([np.arange(T.N_MESH),
                                   T.N_MESH + n_skirt + np.arange(N - T.N_MESH)])
        raise UserError(f"{folder}: {n_vertices} vertices and no correspondence file "
                        "(478 vertex indices, one per MediaPipe landmark, -1 for none)")
    p = Path(spec)
    if p.suffix == ".npy":
        corr = np.load(p)
    elif p.suffix == ".json":
        corr = np.asarray(json.loads(p.read_text()))
    else:
        corr = np.loadtxt(p)
    corr = np.asarray(corr, dtype=np.int64).ravel()
    if corr.shape != (N,) or corr.max() >= n_vertices:
        raise UserError(f"{p}: expected {N} vertex indices below {n_vertices}")
    return corr


@dataclass
class TransferConfig:
    lam: float = 1e-3  # ridge on w, relative to the mean column energy of A
    z_weight: float = 0.5  # weight of the depth row of every gradient (depth is a guess)
    area_weight: float = 1.0  # triangle weight = (area / mean area) ** area_weight
    # "box": the bounds inside the solve (a small QP warm-started from the precomputed
    # product); "clamp": the precomputed product clipped to [0, 1], nothing else
    solver: str = "box"
    # L1 weight on w (w >= 0, so it is a linear term), in units of the mean column energy:
    # a control must explain that much of the performer's deformation to switch on. Landmark
    # noise and tracker cross-talk then stay at zero instead of leaking into every control.
    sparsity: float = 0.25
    # relaxed lasso: the L1 term only picks the active controls, which are then re-fitted
    # without it, so they are not shrunk
    relax: bool = True
    # semantic scale: each character control is rescaled so that the generic rig's control,
    # built on the performer's own neutral, transfers at weight 1. Without it a stylised
    # rig's bigger amplitudes, and the mismatch of face shapes, shrink every weight.
    normalize: bool = True


class SubspaceTransfer:
    """Performer expression coefficients -> character rig weights.

    ``source_basis`` (478*3, K) spans the performer's expressions around
    ``source_neutral`` (478, 3), both canonical. ``reference`` (C, 478, 3): the generic
    rig's fields on the performer's neutral, for ``normalize`` (computed when not given).
    """

    def __init__(self, target: CharacterTarget, source_neutral: np.ndarray,
                 source_basis: np.ndarray, config: TransferConfig | None = None,
                 reference: np.ndarray | None = None, triangles: np.ndarray | None = None):
        self.cfg = cfg = config or TransferConfig()
        if cfg.solver not in ("box", "clamp"):
            raise ValueError(f"solver must be 'box' or 'clamp', got {cfg.solver!r}")
        tris = transfer_triangles() if triangles is None else np.asarray(triangles)
        tris = tris[target.valid[tris].all(1)]
        pinv_t, area = rest_pinv(target.neutral, tris)
        pinv_s, _ = rest_pinv(source_neutral, tris)
        ok = (area > 1e-6 * area.mean()) & np.isfinite(pinv_s).all((1, 2))
        tris, pinv_t, pinv_s, area = tris[ok], pinv_t[ok], pinv_s[ok], area[ok]
        # triangle weights (big triangles count more than slivers) and row weights (depth)
        wt = (area / area.mean()) ** cfg.area_weight
        row = np.array([1.0, 1.0, cfg.z_weight])
        sw = np.sqrt(wt[:, None, None] * row[None, :, None])  # (T, 3, 1) on rows of F

        def stack(fields: np.ndarray, pinv: np.ndarray) -> np.ndarray:
            """(K, 478, 3) fields -> (T*9, K) weighted gradient columns."""
            return (gradients(fields, pinv, tris) * sw).reshape(len(fields), -1).T

        A = stack(target.deltas, pinv_t)
        Bs = stack(np.asarray(source_basis).T.reshape(-1, N, 3), pinv_s)
        self.gain = np.ones(A.shape[1])
        if cfg.normalize:
            if reference is None:
                reference = rig.control_deltas(source_neutral, rig.HUMAN)
            G = stack(np.asarray(reference, np.float64), pinv_s)
            r = (A * G).sum(0) / np.maximum((A * A).sum(0), 1e-18)
            self.gain = np.where(r > 0.05, r, 1.0)  # a control the rig cannot show keeps 1
            A = A * self.gain
        # landmarks cannot tell these from others (tongueOut's field is part of jawOpen's)
        A[:, [INDEX[n] for n in LANDMARK_BLIND]] = 0.0
        energy = float((A * A).sum(0).mean())
        self.H = A.T @ A + cfg.lam * energy * np.eye(A.shape[1])
        self.N = A.T @ Bs  # (C, K): delta -> the QP's linear term
        self.P = np.linalg.solve(self.H, self.N)  # (C, K): the precomputed pseudo-inverse
        self.mu = np.full(A.shape[1], cfg.sparsity * energy)
        self.triangles = tris
        self._last: tuple[np.ndarray, np.ndarray] | None = None  # warm start of the QP

    def reset(self) -> None:
        """Forget the previous frame's solution (it only warm-starts the next)."""
        self._last = None

    def __call__(self, delta: np.ndarray) -> np.ndarray:
        if self.cfg.solver == "clamp":
            return np.clip(self.P @ delta, 0.0, 1.0)
        g = self.N @ delta
        if self._last is None:
            x0, fixed = np.linalg.solve(self.H, g - self.mu), None
        else:
            x0, fixed = self._last
        w, fixed = solve_box_qp(self.H, g - self.mu, 0.0, 1.0, x0, fixed)
        self._last = (w, fixed)
        if self.cfg.relax and self.cfg.sparsity > 0:
            on = w > 0
            if on.any():
                w, _ = solve_box_qp(self.H, g, 0.0, on.astype(np.float64), w, ~on | (w >= 1.0))
        return w
