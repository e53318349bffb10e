"""The demo character's base mesh: a stylised face on the 478-point MediaPipe topology.

The mesh is MediaPipe's own 3D landmarks of a neutral frontal face, moved into the face's
frame (u towards the subject's left, v down, w into the face; 1 unit = inter-ocular
distance), made symmetric, then stylised: larger eyes and irises, a smaller nose, a wider
mouth, a rounder, shorter-chinned head. ``scripts/build_character_mesh.py`` builds it
(that needs mediapipe) and stores it in ``assets/character/base_mesh.npz``; the run-time
only loads that file.

The face mask of MediaPipe ends at the face oval, so the run-time adds a "skirt": two rings
of extra vertices outside the oval that round the head off to the sides and the crown.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lprr.engine.face import topology as T
from lprr.engine.paths import ASSETS

BASE_MESH_PATH = ASSETS / "character" / "base_mesh.npz"


# ------------------------------------------------------------------- build-time helpers
def to_face_frame(landmarks: np.ndarray) -> np.ndarray:
    """(478, 3) pixel landmarks -> local u, v, w coordinates with inter-ocular distance 1."""
    from lprr.engine.face.frame import FaceFrame

    frame = FaceFrame.from_landmarks(landmarks)
    return frame.to_local(landmarks) / frame.iod


def mirror_map(local: np.ndarray) -> np.ndarray:
    """Index of each point's left/right twin (midline points map to themselves).

    Found by optimal matching of the points with their mirror image (u -> -u); needs scipy,
    so it is only used when building the asset.
    """
    from scipy.optimize import linear_sum_assignment

    flipped = local * np.array([-1.0, 1.0, 1.0])
    cost = np.linalg.norm(local[:, None, :2] - flipped[None, :, :2], axis=2)
    rows, cols = linear_sum_assignment(cost)
    m = np.empty(len(local), dtype=np.int32)
    m[rows] = cols
    # closed lids and lips put upper and lower contour points on top of each other, where
    # matching alone may swap them: pin the contours' twins by construction
    for ring in (T.LIP_OUTER_UPPER, T.LIP_OUTER_LOWER, T.LIP_INNER_UPPER, T.LIP_INNER_LOWER,
                 T.LIP_SEMI_OUTER_UPPER, T.LIP_SEMI_OUTER_LOWER, T.LIP_SEMI_INNER_UPPER,
                 T.LIP_SEMI_INNER_LOWER):
        for a, b in zip(ring, reversed(ring)):
            m[a], m[b] = b, a
    for left, right in ((T.EYE_UPPER_L, T.EYE_UPPER_R), (T.EYE_LOWER_L, T.EYE_LOWER_R),
                        (T.BROW_L, T.BROW_R)):
        for a, b in zip(left, right):
            m[a], m[b] = b, a
    # both iris rings go (image right, up, image left, down): twins swap right and left
    for a, b in zip(T.IRIS_L, (468, 471, 470, 469, 472)):
        m[a], m[b] = b, a
    known = {33: 263, 133: 362, 61: 291, 78: 308, 468: 473, 205: 425, 234: 454}
    for a, b in known.items():
        if m[a] != b or m[b] != a:
            raise ValueError(f"mirror map failed on {a}<->{b}")
    if not np.array_equal(m[m], np.arange(len(m))):
        raise ValueError("mirror map is not an involution")
    return m


def symmetrise(local: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    flipped = local[mirror] * np.array([-1.0, 1.0, 1.0])
    out = 0.5 * (local + flipped)
    out[mirror == np.arange(len(mirror)), 0] = 0.0
    return out


def _smooth(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3 - 2 * t)


@dataclass
class Stylise:
    eye_scale_u: float = 1.6
    eye_scale_v: float = 2.1
    eye_radius: float = 0.72  # falloff of the eye magnification, in IOD
    iris_scale: float = 1.1  # on top of the eye magnification
    nose_scale: float = 0.6
    nose_flatten: float = 0.4  # keep this much of the nose's protrusion
    smooth_depth: int = 6  # Laplacian passes on depth: a smooth cartoon surface
    eye_open: float = 0.9  # open the lids further (the rig's eyeWide shape, human scale)
    mouth_scale_u: float = 1.3
    mouth_scale_v: float = 1.1
    chin_squash: float = 0.82  # below the mouth, vertical distances shrink by this
    jaw_widen: float = 0.16  # lower face widens: rounder


def stylise(local: np.ndarray, s: Stylise | None = None) -> np.ndarray:
    """Cartoon proportions on a symmetric local-frame face (IOD = 1)."""
    s = s or Stylise()
    p = local.copy()
    uv = p[:, :2]
    # 1. bigger eyes: magnify around each eye centre with a smooth falloff
    disp = np.zeros_like(p)
    for opening, iris in ((T.EYE_OPENING_L, T.IRIS_L), (T.EYE_OPENING_R, T.IRIS_R)):
        c = local[list(opening)].mean(0)
        r = np.linalg.norm((uv - c[:2]) / np.array([1.0, 0.8]), axis=1) / s.eye_radius
        f = 1.0 - _smooth(r)
        disp[:, 0] += (s.eye_scale_u - 1) * f * (uv[:, 0] - c[0])
        disp[:, 1] += (s.eye_scale_v - 1) * f * (uv[:, 1] - c[1])
    p += disp
    for iris in (T.IRIS_L, T.IRIS_R):
        centre = p[iris[0]].copy()
        p[list(iris[1:])] = centre + (p[list(iris[1:])] - centre) * s.iris_scale
    # 2. smaller, flatter nose
    nose = [1, 2, 4, 5, 195, 98, 327]
    c = p[nose].mean(0)
    ref_w = p[[T.CHEEK_L, T.CHEEK_R], 2].mean()
    r = np.linalg.norm((p[:, :2] - c[:2]) / np.array([0.42, 0.55]), axis=1)
    f = 1.0 - _smooth(r)
    p[:, :2] += ((s.nose_scale - 1) * f)[:, None] * (p[:, :2] - c[:2])
    p[:, 2] += (1 - s.nose_flatten) * f * np.maximum(ref_w - p[:, 2], 0)  # towards the cheeks
    # 3. wider mouth
    m = p[[T.MOUTH_CORNER_L, T.MOUTH_CORNER_R, 13, 14]].mean(0)
    half = 0.5 * np.linalg.norm(p[T.MOUTH_CORNER_L, :2] - p[T.MOUTH_CORNER_R, :2])
    r = np.linalg.norm((p[:, :2] - m[:2]) / np.array([half * 1.9, half * 1.1]), axis=1)
    f = 1.0 - _smooth(r)
    p[:, 0] += (s.mouth_scale_u - 1) * f * (p[:, 0] - m[0])
    p[:, 1] += (s.mouth_scale_v - 1) * f * (p[:, 1] - m[1])
    # 4. shorter chin, rounder (wider) lower face
    below = p[:, 1] > m[1]
    p[below, 1] = m[1] + (p[below, 1] - m[1]) * s.chin_squash
    v_nose = p[2, 1]
    v_chin = p[T.CHIN, 1]
    t = _smooth((p[:, 1] - v_nose) / max(v_chin - v_nose, 1e-6))
    bell = np.sin(np.pi * np.clip(t, 0, 1) * 0.75)  # widest around the jaw, less at the chin
    p[:, 0] *= 1 + s.jaw_widen * bell * (p[:, 1] > v_nose)
    # 5. smooth the depth (the photo's small bumps read as wrinkles under flat shading)
    e = T.edges()
    fixed = np.zeros(T.N_MESH, bool)
    fixed[list(T.EYE_OPENING_L + T.EYE_OPENING_R + T.MOUTH_OPENING)] = True
    deg = np.bincount(e.ravel(), minlength=T.N_MESH).astype(np.float64)
    for _ in range(s.smooth_depth):
        acc = np.bincount(e[:, 0], p[e[:, 1], 2], T.N_MESH) + np.bincount(
            e[:, 1], p[e[:, 0], 2], T.N_MESH)
        new = 0.5 * p[: T.N_MESH, 2] + 0.5 * acc / np.maximum(deg, 1)
        p[: T.N_MESH, 2] = np.where(fixed, p[: T.N_MESH, 2], new)
    # 6. rounder, wider-open eyes
    if s.eye_open:
        from lprr.engine.controls import INDEX
        from lprr.engine.world import rig

        d = rig.control_deltas(p)
        p = p + s.eye_open * (d[INDEX["eyeWideLeft"]] + d[INDEX["eyeWideRight"]])
    return p


# ------------------------------------------------------------------------ run-time side
@dataclass
class Skirt:
    """Two rings of extra vertices outside the face oval (the sides and crown of the head).

    ring_k[i] = oval[i] + offset_k[i]: the rings follow the oval as the jaw moves.
    """

    offsets: np.ndarray  # (2, n_oval, 3)
    triangles: np.ndarray  # (n, 3) into the full vertex array (468 mesh + 2 * n_oval)

    def vertices(self, mesh: np.ndarray) -> np.ndarray:
        oval = mesh[list(T.FACE_OVAL)]
        return np.concatenate([oval + self.offsets[0], oval + self.offsets[1]])


def build_skirt(base: np.ndarray) -> Skirt:
    """Skirt for a base mesh in the local frame (u right, v down, w into the face, IOD = 1)."""
    oval = base[list(T.FACE_OVAL)]
    n = len(oval)
    top, chin = base[T.FOREHEAD_TOP], base[T.CHIN]
    centre = np.array([0.0, 0.5 * (top[1] + chin[1]) - 0.15, 0.0])
    d = oval[:, :2] - centre[:2]
    ang = np.arctan2(d[:, 1], d[:, 0])
    r = np.linalg.norm(d, axis=1)
    down = np.clip(np.sin(ang), 0, 1)  # 1 at the chin
    # target silhouette: an ellipse round the crown and temples, hugging the jaw lower down
    rx = 1.12 * np.abs(oval[:, 0]).max()
    ry = 1.3 * (centre[1] - top[1])
    r_ell = 1.0 / np.sqrt((np.cos(ang) / rx) ** 2 + (np.sin(ang) / ry) ** 2)
    r_up = np.maximum(r_ell, 1.08 * r)
    r_lo = 1.05 * r
    r2 = r_up * (1 - down**0.7) + r_lo * down**0.7
    ring2_uv = centre[:2] + d * (r2 / r)[:, None]
    ring1_uv = oval[:, :2] + 0.55 * (ring2_uv - oval[:, :2])
    w_back = oval[:, 2].max() + 0.55
    w2 = np.full(n, w_back) - 0.35 * down
    w1 = oval[:, 2] + 0.5 * (w2 - oval[:, 2])
    off1 = np.column_stack([ring1_uv - oval[:, :2], w1 - oval[:, 2]])
    off2 = np.column_stack([ring2_uv - oval[:, :2], w2 - oval[:, 2]])
    o = np.array(T.FACE_OVAL)
    r1 = T.N_MESH + np.arange(n)
    r2 = T.N_MESH + n + np.arange(n)
    rows = []
    for i in range(n):
        j = (i + 1) % n
        rows += [(o[i], o[j], r1[j]), (o[i], r1[j], r1[i]),
                 (r1[i], r1[j], r2[j]), (r1[i], r2[j], r2[i])]
    tris = np.array(rows, dtype=np.int32)
    verts = np.concatenate([base[: T.N_MESH], oval + off1, oval + off2])
    a, b, c = (verts[tris[:, k], :2] for k in range(3))
    area = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]
    tris[area > 0] = tris[area > 0][:, [0, 2, 1]]  # face the viewer (negative, y down)
    return Skirt(np.stack([off1, off2]), tris)


def load_base(path: Path = BASE_MESH_PATH) -> np.ndarray:
    """(478, 3) float64 base mesh in the local frame."""
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing; run scripts/build_character_mesh.py")
    with np.load(path) as z:
        return z["vertices"].astype(np.float64)
